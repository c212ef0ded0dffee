// Merging the Lua frames of one walk into a sample's native stack: each VM group (a run
// of consecutive interpreter frames) is replaced by the Lua frames it ran, and a C
// function called from Lua is shown once. Pure (names come from a callback), with its
// buffers reused across samples. Used by LuaSplicer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace kperf::prof {

// One user frame after splicing: a native pc, or a Lua / pseudo frame's text.
struct SplicedFrame {
  uint64_t pc = 0;
  bool is_return = false;
  std::string_view text;  // non-empty: a Lua frame (already formatted; the splicer's, until its next splice)
};

// The native frames of a sample (innermost first) and which of them are VM frames.
struct NativeStack {
  std::vector<uint64_t> pcs;
  std::vector<bool> vm;
  void clear() {
    pcs.clear();
    vm.clear();
  }
  void push(uint64_t pc, bool in_vm) {
    pcs.push_back(pc);
    vm.push_back(in_vm);
  }
};

// Where each VM group starts in `vm` (innermost group first): the indexes of VM frames
// whose caller-side neighbour (i - 1) is not one.
void find_vm_groups(const std::vector<bool>& vm, std::vector<size_t>& starts);

// One Lua frame of a walk: its text (held by the caller), and for C functions their
// lua_CFunction.
struct LuaRunFrame {
  std::string_view text;
  uint64_t cfunc = 0;
  bool native_named = false;  // no call-site name: the text is the native name
};

// The Lua frames of one walk, innermost first, cut into runs after each frame called
// from C: run r belongs to the r-th VM group of the native stack.
class LuaRuns {
 public:
  void clear() {
    frames_.clear();
    ends_.clear();
  }
  void add(const LuaRunFrame& f, bool called_from_c) {
    frames_.push_back(f);
    if (called_from_c) ends_.push_back(frames_.size());
  }
  size_t runs() const { return ends_.size() + (frames_.size() > (ends_.empty() ? 0 : ends_.back()) ? 1 : 0); }
  size_t run_begin(size_t r) const { return r == 0 ? 0 : ends_[r - 1]; }
  size_t run_end(size_t r) const { return r < ends_.size() ? ends_[r] : frames_.size(); }
  std::vector<LuaRunFrame>& frames() { return frames_; }
  const std::vector<LuaRunFrame>& frames() const { return frames_; }

 private:
  std::vector<LuaRunFrame> frames_;
  std::vector<size_t> ends_;  // one past each run's last frame, but the last run's
};

class LuaFrameMerger {
 public:
  // The native name of pc (is_return: a return address); "[unknown]" if none.
  using NameOf = std::function<const std::string&(uint64_t pc, bool is_return)>;

  // Writes native's frames into out (innermost first), each VM group replaced by its
  // run; the outermost group takes whatever runs are left (the walk saw fewer C
  // boundaries), a group without one shows [lua:interpreter].
  void merge(const NativeStack& native, const LuaRuns& runs, const NameOf& name_of, std::vector<SplicedFrame>& out);

 private:
  struct Group {
    size_t start = 0;            // its innermost native frame
    size_t first = 0, last = 0;  // its Lua frames in the runs
    bool interpreter = false;    // no run: [lua:interpreter]
    size_t above_text = SIZE_MAX;  // the run frame whose text names native frame start - 1
  };
  void assign_runs(const LuaRuns& runs);
  void show_c_function_once(const NativeStack& native, const LuaRuns& runs, const NameOf& name_of, Group& g);

  std::vector<size_t> starts_;
  std::vector<Group> groups_;
  std::string cname_;
};

}  // namespace kperf::prof

// LuaSplicer: puts the Lua frames of a LuaJIT VM into a sample's native stack — each run
// of interpreter (VM) frames is replaced by the Lua frames it runs; trace samples restart
// native unwinding below the trace from the VM's C frame. Uses profiler/luajit.
#pragma once

#include <sys/types.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <string_view>

#include "profiler/bpf/sample.h"
#include "profiler/lua_frame_merge.hpp"
#include "profiler/sample_record.hpp"
#include "symbolizer/session.hpp"

namespace kperf::prof {

// Why a splice lost something: each counted at most once per sample (vm_register: per
// attempt). The names are the summary's (lua_splice_cause_name).
enum class LuaSpliceCause : uint8_t {
  NoVmLayout = 0,  // a LuaJIT VM whose layout kperf cannot read (part of unreadable)
  NoGlobalState,   // no global_State validated for the sample (part of unreadable)
  MapsUnreadable,  // /proc/PID/maps could not be re-read to tell JIT code (process gone)
  NoCframe,        // in a trace or an interpreter frame that did not unwind, but cur_L's
                   // C frame is unreadable: native unwinding not restarted below the VM
  UnwindBelowVm,   // restarting the native unwind at the VM's C frame threw
  WalkStopped,     // the Lua walk stopped early (part of walk_errors)
  WalkThrew,       // the Lua walk threw (part of walk_errors)
  NativeName,      // the symbolizer threw naming a frame next to Lua ("[unknown]")
  VmRegister,      // registering the VM in the BPF lua_vms map failed
  NotCaptured,     // the kernel side did not capture the VM state (G not yet known, or its
                   // reads failed): the VM groups show [lua:unknown], nothing read live
};
inline constexpr size_t kLuaSpliceCauses = 10;
std::string_view lua_splice_cause_name(LuaSpliceCause c);

// Counted once per sample (commit_sample): every count is part of vm_samples.
struct LuaSpliceStats {
  uint64_t vm_samples = 0;      // samples whose native stack passes through the VM or a trace
  uint64_t lua_samples = 0;     // samples that got at least one Lua frame
  uint64_t trace_samples = 0;   // samples in trace code (native unwind restarted below it)
  uint64_t captured = 0;        // samples carrying the BPF-captured VM state
  uint64_t walk_errors = 0;     // walks that stopped early
  uint64_t unreadable = 0;      // samples in a LuaJIT VM whose layout is unknown or whose G does not validate
  std::array<uint64_t, kLuaSpliceCauses> causes{};  // by LuaSpliceCause
  std::vector<std::string> problems;  // one line per process whose VM cannot be read (build-id, path, why)
};

class LuaSplicer {
 public:
  // lua_lines: executing line instead of the function's first line (--lua-lines).
  LuaSplicer(sym::Session& session, bool lua_lines);
  ~LuaSplicer();
  LuaSplicer(const LuaSplicer&) = delete;
  LuaSplicer& operator=(const LuaSplicer&) = delete;

  // Called once a process's G is known (to register it in the BPF lua_vms map).
  using VmListener = std::function<void(pid_t, const kperf_lua_vm&)>;
  void set_vm_listener(VmListener l) { listener_ = std::move(l); }

  // Detects LuaJIT in a new target (nginx: finds G from ngx_cycle right away).
  void add_process(pid_t tgid);
  void forget_process(pid_t tgid);

  // native: the native unwind of s (innermost first). If the sample runs Lua, writes the
  // spliced user frames (innermost first) into out, updates reached_root, returns true;
  // otherwise returns false and leaves out alone.
  bool splice(const SampleView& s, const sym::UnwindResult& native, std::vector<SplicedFrame>& out,
              bool& reached_root);

  // Counts the last splice() of the sample just assembled (a sample may be spliced twice
  // when its process's maps are re-read): call once per sample.
  void commit_sample();

  // problems: one line per process whose VM was never read (unknown layout, or no G
  // validated), with the reason.
  LuaSpliceStats stats() const;
  void reset_stats() { stats_ = LuaSpliceStats{}; }  // a new run of the session (problems stay)

 private:
  struct Process;
  struct Sample;  // one splice's state, passed through its steps
  Process* process(pid_t tgid, bool adding);
  // A sample in a VM kperf cannot read: counted, and the process's reason reported once.
  void unreadable(pid_t tgid, const std::string& why, LuaSpliceCause cause);
  void fail(LuaSpliceCause c) { pending_.causes[static_cast<size_t>(c)] = 1; }
  void publish(pid_t tgid, Process& p);

  // The steps of splice(), in order.
  bool runs_lua(Sample& c);           // does the native stack run LuaJIT code (counted)
  void find_global_state(Sample& c);  // G: known, from registers, or from the copied stack
  void load_vm_state(Sample& c);      // the BPF-captured VM state as snapshots
  void native_frames(Sample& c);      // native_ with its VM frames marked
  void restart_below_vm(Sample& c);   // a trace / an interpreter frame that did not unwind
  void walk_lua(Sample& c);           // runs_: the Lua frames, cut at C boundaries

  sym::Session& session_;
  bool lua_lines_;
  VmListener listener_;
  struct Entry {
    std::unique_ptr<Process> process;  // null: no usable LuaJIT (yet)
    int tries = 0;
    std::chrono::steady_clock::time_point last_try{};
  };
  std::unordered_map<pid_t, Entry> processes_;
  LuaSpliceStats stats_;
  LuaSpliceStats pending_;  // the current sample's counts (problems stay in stats_)
  std::unordered_map<pid_t, std::string> unread_why_;  // processes with unreadable samples and no G
  // Reused across samples (no allocation per sample once grown).
  NativeStack native_;
  LuaRuns runs_;
  std::vector<size_t> vm_groups_;  // not captured: one [lua:unknown] run per VM group
  // The Lua frames' texts of the current splice (out's SplicedFrame::text points here).
  // A deque: growing it keeps the texts already handed out in place.
  std::deque<std::string> texts_;
  size_t texts_used_ = 0;
  std::string& next_text();  // a cleared text of texts_ for this splice
  LuaFrameMerger merger_;
  sym::UnwindResult below_vm_;  // restart_below_vm's unwind
};

}  // namespace kperf::prof

// Walks the Lua frames of a LuaJIT stack in a target process (innermost first): from
// the interpreter's BASE register, from a trace's jit_base, or from cur_L->base; names
// each function as debug.getinfo(f, "n") would and gives its chunk, first and executing
// line; inside a trace, adds the frames of functions it inlined (from its snapshots).
// Also turns the VM state into pseudo frames ([lua:gc], [lua:jit-compiler]...), and
// continues a coroutine's frames with its resumer's (resumer.hpp) or [lua:coroutine].
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "profiler/luajit/lua_frame.hpp"
#include "profiler/luajit/proto_cache.hpp"
#include "profiler/luajit/remote_memory.hpp"
#include "profiler/luajit/resumer.hpp"
#include "profiler/luajit/trace_exits.hpp"
#include "profiler/luajit/user_regs.hpp"
#include "profiler/luajit/vm_layout.hpp"

namespace kperf::prof::lj {

struct WalkResult {
  std::vector<LuaFrame> frames;  // innermost first (a pseudo frame, if any, is frames[0])
  std::int32_t vmstate = -1;     // G->vmstate at the time of the walk
  enum class Start { None, Interpreter, Trace, State } start = Start::None;
  bool complete = false;   // reached the bottom of the Lua stack
  bool truncated = false;  // stopped at max_frames
  std::string error;       // why the walk stopped early (unreadable / inconsistent), if it did
};

// Whether a trace's nsnap 12-byte SnapShots (their bytes) carry mcofs, or are older ones
// padded to 12 bytes (no mcofs, nent at +8); nsnapmap and szmcode are the GCtrace's.
bool snapshots_have_mcofs(const std::vector<std::uint8_t>& snaps, std::size_t nsnap, std::uint32_t nsnapmap,
                          std::uint32_t szmcode, bool gc64);

class FrameWalker {
public:
  FrameWalker(RemoteMemory& mem, const VmLayout& layout, ProtoCache& protos)
      : mem_(mem), layout_(layout), protos_(protos) {}

  void set_max_frames(std::size_t n) { max_frames_ = n; }
  // After a coroutine's frames, continue with the Lua thread that resumed it (resume /
  // wrap in the VM, ngx_lua's parent coroutine), or [lua:coroutine]. Default on.
  void set_follow_resumers(bool on) { follow_resumers_ = on; }
  // What the sampler captured about cur_L's resumer (nullptr: none). live_ok: a resumer
  // may be read now (a stopped process: the default); false in a running process,
  // where it has moved on since the sample.
  void set_resumer_capture(const ResumerCapture* capture, bool live_ok) {
    capture_ = capture;
    live_resumers_ = live_ok;
  }

  // Walks L's stack from `base` (the BASE of the innermost frame). top_pc: the PC of
  // the innermost Lua frame (points after the executing instruction; 0 = unknown).
  // Appends to out.frames.
  void walk_stack(std::uint64_t L, std::uint64_t base, std::uint64_t top_pc, WalkResult& out);

  // One sample of a process whose G is known: rip inside the interpreter → BASE = rdx,
  // PC = rbx; vmstate >= 0 (trace) → jit_base; otherwise cur_L->base (meaningful only
  // when the native stack passes through VM code: the caller decides that).
  // Writes the walk into out (reset first; reusing out and this walker across samples
  // allocates nothing once their buffers have grown). captured_L: the running lua_State
  // as the sampler found it (0: read it now; running_thread.hpp).
  void walk_sample(std::uint64_t G, const UserRegs& regs, WalkResult& out, std::uint64_t captured_L = 0);

  // The frames of functions inlined into a trace, innermost first, from one snapshot's
  // map entries (GC64: `slot << 24 | flags | ref`): ir is GCtrace.ir (biased), nk its
  // lowest constant, base_pt the prototype of the trace's own frame, resume the PC the
  // snapshot resumes at. Empty unless the whole chain checks out.
  // The result is the walker's buffer, valid until its next call.
  const std::vector<LuaFrame>& inlined_frames(std::span<const std::uint32_t> entries, std::uint64_t ir,
                                              std::uint32_t nk, const Proto& base_pt, std::uint64_t resume);
  // The same with 32-bit references: entries with SNAP_FRAME name the functions (slot
  // order, outermost first); links are the frame links that follow the resume PC in the
  // map (innermost first, one return PC per Lua frame).
  const std::vector<LuaFrame>& inlined_frames_ref32(std::span<const std::uint32_t> entries,
                                                    std::span<const std::uint32_t> links, std::uint64_t ir,
                                                    std::uint32_t nk, const Proto& base_pt, std::uint64_t resume);

private:
  RemoteMemory& mem_;
  const VmLayout& layout_;
  ProtoCache& protos_;
  std::size_t max_frames_ = 512;
  bool follow_resumers_ = true;
  const ResumerCapture* capture_ = nullptr;
  bool live_resumers_ = true;
  // Empty: no name ("?").
  std::string_view caller_site_name(std::uint64_t caller_frame, std::uint64_t pc);
  // running: the walk started in the interpreter on L (see find_resumer).
  void append_resumers(std::uint64_t G, std::uint64_t L, WalkResult& out, bool running = false);
  // Inside trace traceno at rip: the frames of functions inlined into it (innermost
  // first, from the trace's snapshot, into inlined_) and the executing lines; base is the
  // trace's frame.
  void trace_frames(std::uint64_t G, std::int32_t traceno, std::uint64_t rip, LuaFrame& base);
  // Buffers reused across samples.
  // chain_ (the inlined frames' GCfunc and return PC, outermost first) checked and named.
  const std::vector<LuaFrame>& inlined_from_chain(const Proto& base_pt, std::uint64_t resume);
  std::vector<std::pair<std::uint64_t, std::uint64_t>> chain_;
  std::vector<LuaFrame> inlined_, outer_first_;
  std::vector<const Proto*> inlined_protos_;
  std::vector<std::uint8_t> snaps_;
  std::vector<std::uint32_t> snap_map_;
  TraceExits exits_;  // snapshots of traces without mcofs, by their guards' exit stubs
};

}  // namespace kperf::prof::lj

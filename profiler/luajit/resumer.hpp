// Who resumed a coroutine: the Lua thread whose frames continue a coroutine's own in a
// sample (DESIGN.md, "Frame naming"). coroutine.resume / wrap in the VM call
// lj_vm_resume, whose C frame (the coroutine's) lies right below the resumer's, which
// saved the resumer's lua_State; ngx_lua yields the parent coroutine and resumes the
// child from C, and the child's co_ctx (luajit2's exdata2) names the parent's. Each
// candidate is validated; a resumer that exists but cannot be told is "unknown" (the
// walker shows [lua:coroutine]), never a guess.
#pragma once

#include <cstdint>

#include "profiler/bpf/luajit_abi.h"

#include "profiler/luajit/remote_memory.hpp"
#include "profiler/luajit/vm_layout.hpp"

namespace kperf::prof::lj {

// A VM C frame on x86-64 (luajit_abi.h) and where it saves its lua_State (CFRAME_OFS_L:
// the reference right below the saved PC, in GC64 and 32-bit builds).
inline constexpr std::uint32_t kCframeSize = KPERF_LJ_CFRAME_SIZE;
inline std::uint32_t cframe_saved_L(const VmOffsets& o) { return o.cframe_pc - o.ref_size; }

// ngx_lua (lua-nginx-module 0.10.x): the head of ngx_http_lua_co_ctx_t is {data, co,
// parent_co_ctx}; the module attaches each coroutine's co_ctx with lua_setexdata2.
struct NgxCoroutineLayout {
  std::uint32_t coctx_co = 0x08, coctx_parent = 0x10;
};
// exdata2, the last field of luajit2's lua_State; 0 for builds without it.
std::uint32_t exdata2_offset(const VmLayout& layout);

// What the sampler saw at sample time (profiler/bpf/sample.h, KPERF_LUA_RES_*).
struct ResumerCapture {
  bool in_vm = false;         // resumed by coroutine.resume / wrap in the VM
  bool ngx = false;           // the coroutine's ngx_lua co_ctx checked out
  bool ngx_expected = false;  // an nginx worker whose coroutines' co_ctx were found before:
                              // every coroutine but the main thread has one
  bool deeper = false;        // the resumer was resumed by Lua in turn (not captured)
  std::uint64_t L = 0;        // the resumer (0: none found); its base etc. are snapshots

  // What is known about the resumer's own resumer: only whether there is one.
  ResumerCapture beyond() const {
    ResumerCapture c;
    c.in_vm = deeper;
    c.ngx = !deeper;
    return c;
  }
};

struct Resumer {
  // None: not resumed by Lua (the main thread, or resumed from C: the native stack
  // shows who); Found: L, with base = the frame of its resume call; Unknown.
  enum class Kind { None, Found, Unknown } kind = Kind::None;
  std::uint64_t L = 0, base = 0;
};

// Who resumed L (a thread of G). capture: what the sampler saw for this L, or nullptr
// to read it all now (right for a stopped process; in a running one a resumer has
// moved on, so a coroutine resumed in the VM without a capture is Unknown when
// `live_ok` is false). `running`: L is executing its Lua frames in this sample (the walk
// started in the interpreter on L = cur_L); a coroutine that is running yet has no C
// frame is switching back to its resumer (coroutine.yield or its return cleared
// L->cframe; the resumer's C frame, BASE and cur_L are restored a few instructions
// later): Unknown, as its resumer cannot be told any more.
Resumer find_resumer(RemoteMemory& mem, const VmLayout& layout, std::uint64_t G, std::uint64_t L,
                     const ResumerCapture* capture, bool live_ok, bool running = false);

}  // namespace kperf::prof::lj

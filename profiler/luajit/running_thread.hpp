// The lua_State a LuaJIT VM is running at a sample, and the base of a trace's frame. 2.1
// keeps both in global_State (cur_L, jit_base). LuaJIT 2.0 has no cur_L: jit_L names the
// thread while a trace runs (jit_base is valid then and stale after the trace exits);
// otherwise the running thread is the lua_State saved in the interpreter's C frame,
// which is rsp while rip is in the interpreter. In C code called from the interpreter
// only the native stack leads to that frame: the sampler's kernel side finds it there
// and hands its lua_State over (captured_L).
#pragma once

#include <cstdint>

#include "profiler/luajit/remote_memory.hpp"
#include "profiler/luajit/user_regs.hpp"
#include "profiler/luajit/vm_layout.hpp"

namespace kperf::prof::lj {

struct RunningThread {
  std::uint64_t L = 0;         // 0: not known
  std::uint64_t jit_base = 0;  // non-0 while a trace's frame is current
};

// The G field naming a running thread: cur_L, or 2.0's jit_L.
inline std::uint32_t thread_field(const VmOffsets& o) { return o.lua20 ? o.G_jit_L : o.G_cur_L; }

// captured_L: the thread the sampler found at sample time (0: read it here).
RunningThread running_thread(RemoteMemory& mem, const VmLayout& l, std::uint64_t G, const UserRegs& regs,
                             std::uint64_t captured_L = 0);

}  // namespace kperf::prof::lj

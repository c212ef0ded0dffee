// Which lua_State a LuaJIT VM runs (running_thread): 2.1's cur_L and jit_base, and LuaJIT
// 2.0's jit_L while a trace runs, else the thread saved in the interpreter's C frame
// (at rsp, or a word or two above in a VM subroutine; checked), or what the sampler
// captured. Memory is snapshots at made-up addresses (nothing else is readable there).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>

#include "profiler/luajit/remote_memory.hpp"
#include "profiler/luajit/resumer.hpp"
#include "profiler/luajit/running_thread.hpp"
#include "profiler/luajit/vm_layout.hpp"

namespace kperf::prof::lj {
namespace {

constexpr std::uint64_t kG = 0x40000000, kL = 0x40100000, kCoL = 0x40200000, kStack = 0x7ff000000000;

template <typename T>
void put(RemoteMemory& mem, std::uint64_t addr, T v) {
  unsigned char b[sizeof v];
  std::memcpy(b, &v, sizeof v);
  mem.add_snapshot(addr, b);
}

// LuaJIT 2.0.5's layout (32-bit references, as the matrix test reads it from the build).
VmLayout lua20_layout() {
  VmLayout l;
  l.off = family_offsets(false);
  l.off.lua20 = true;
  l.off.G_cur_L = 0;
  l.off.G_jit_L = 0xf4;
  l.off.G_jit_base = 0xf8;
  l.vm_lo = 0x1000;
  l.vm_hi = 0x2000;
  return l;
}

// A thread of G whose C frame is cf, saved in that frame.
void thread_in_frame(RemoteMemory& mem, const VmOffsets& o, std::uint64_t L, std::uint64_t cf) {
  put<std::uint32_t>(mem, L + o.L_glref, static_cast<std::uint32_t>(kG));
  put<std::uint64_t>(mem, L + o.L_cframe, cf);
  put<std::uint32_t>(mem, cf + cframe_saved_L(o), static_cast<std::uint32_t>(L));
}

UserRegs at(std::uint64_t rip, std::uint64_t rsp) {
  UserRegs r;
  r.r[16] = rip;
  r.r[7] = rsp;
  return r;
}

TEST(RunningThread, Lua21ReadsCurLAndJitBase) {
  RemoteMemory mem(getpid());
  VmLayout l;
  l.off = family_offsets(true);
  put<std::uint64_t>(mem, kG + l.off.G_cur_L, kL);
  put<std::uint64_t>(mem, kG + l.off.G_jit_base, 0x5000);
  const RunningThread t = running_thread(mem, l, kG, at(0x1500, kStack));
  EXPECT_EQ(t.L, kL);
  EXPECT_EQ(t.jit_base, 0x5000u);
}

TEST(RunningThread, Lua20TraceIsJitL) {
  RemoteMemory mem(getpid());
  const VmLayout l = lua20_layout();
  put<std::uint32_t>(mem, kG + l.off.G_jit_L, static_cast<std::uint32_t>(kL));
  put<std::uint32_t>(mem, kG + l.off.G_jit_base, 0x5000);
  const RunningThread t = running_thread(mem, l, kG, at(0x7000, kStack));  // rip in trace code
  EXPECT_EQ(t.L, kL);
  EXPECT_EQ(t.jit_base, 0x5000u);
}

TEST(RunningThread, Lua20InterpreterIsItsCFramesThread) {
  const VmLayout l = lua20_layout();
  for (std::uint64_t below : {0, 8, 16}) {  // rsp at the C frame, or in a VM subroutine
    RemoteMemory mem(getpid());
    put<std::uint32_t>(mem, kG + l.off.G_jit_L, 0);
    put<std::uint32_t>(mem, kG + l.off.G_jit_base, 0x5000);  // stale after the trace exited
    thread_in_frame(mem, l.off, kL, kStack);
    const RunningThread t = running_thread(mem, l, kG, at(0x1500, kStack - below));
    EXPECT_EQ(t.L, kL) << below;
    EXPECT_EQ(t.jit_base, 0u) << below;
  }
  // A thread whose C frame is another one (a coroutine's, whose frame lies deeper) or of
  // another VM is not it; outside the interpreter only the sampler's capture tells.
  RemoteMemory mem(getpid());
  put<std::uint32_t>(mem, kG + l.off.G_jit_L, 0);
  thread_in_frame(mem, l.off, kCoL, kStack - 0x200);
  put<std::uint32_t>(mem, kStack + cframe_saved_L(l.off), static_cast<std::uint32_t>(kCoL));
  EXPECT_EQ(running_thread(mem, l, kG, at(0x1500, kStack)).L, 0u);
  EXPECT_EQ(running_thread(mem, l, kG, at(0x7000, kStack)).L, 0u);
  EXPECT_EQ(running_thread(mem, l, kG, at(0x7000, kStack), kL).L, kL);
}

}  // namespace
}  // namespace kperf::prof::lj

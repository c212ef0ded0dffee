// TraceExits: which snapshot a trace's code runs under on builds without SnapShot.mcofs,
// from its guards (jcc rel32 to exit stubs that push the exit number). Exit stub groups
// are laid out as lj_asm_x86.h asm_exitstub_gen writes them; memory is snapshots at
// made-up addresses.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "profiler/luajit/remote_memory.hpp"
#include "profiler/luajit/trace_exits.hpp"

namespace kperf::prof::lj {
namespace {

constexpr std::uint64_t kVmLo = 0x10000, kVmHi = 0x20000, kHandler = 0x10100;

// One group of 32 exit stubs at base: push lo; jmp short tail (the last falls through);
// tail: push hi; [mov dword [rsp+16], imm32 with 32-bit references]; jmp handler.
std::vector<std::uint8_t> stub_group(std::uint64_t base, unsigned group, bool ref32, std::uint64_t handler) {
  std::vector<std::uint8_t> b;
  const unsigned lo = (group * 32) & 0xff;
  b.insert(b.end(), {0x6a, static_cast<std::uint8_t>(lo)});
  for (unsigned i = 1; i < 32; ++i)
    b.insert(b.end(), {0xeb, static_cast<std::uint8_t>(4 * (32 - i) - 2), 0x6a, static_cast<std::uint8_t>(lo + i)});
  b.insert(b.end(), {0x6a, static_cast<std::uint8_t>((group * 32) >> 8)});
  if (ref32) b.insert(b.end(), {0xc7, 0x44, 0x24, 0x10, 0x00, 0x10, 0x00, 0x00});
  b.push_back(0xe9);
  const auto rel = static_cast<std::int32_t>(handler - (base + b.size() + 4));
  b.resize(b.size() + 4);
  std::memcpy(b.data() + b.size() - 4, &rel, 4);
  return b;
}

void jcc(std::vector<std::uint8_t>& code, std::size_t at, std::uint64_t mcode, std::uint64_t target) {
  code[at] = 0x0f;
  code[at + 1] = 0x85;
  const auto rel = static_cast<std::int32_t>(target - (mcode + at + 6));
  std::memcpy(code.data() + at + 2, &rel, 4);
}

TEST(TraceExits, StubsGiveTheirExitNumber) {
  RemoteMemory mem(getpid());
  constexpr std::uint64_t g0 = 0x50000, g8 = 0x51000;
  const auto a = stub_group(g0, 0, false, kHandler), b = stub_group(g8, 8, true, kHandler);
  mem.add_snapshot(g0, a);
  mem.add_snapshot(g8, b);
  EXPECT_EQ(TraceExits::stub_exit(mem, g0, kVmLo, kVmHi), 0u);
  EXPECT_EQ(TraceExits::stub_exit(mem, g0 + 4 * 5, kVmLo, kVmHi), 5u);
  EXPECT_EQ(TraceExits::stub_exit(mem, g0 + 4 * 31, kVmLo, kVmHi), 31u);  // falls into the tail
  EXPECT_EQ(TraceExits::stub_exit(mem, g8 + 4 * 3, kVmLo, kVmHi), 259u);  // 8 * 32 + 3, 32-bit references
  EXPECT_EQ(TraceExits::stub_exit(mem, g0 + 2, kVmLo, kVmHi), std::nullopt);  // a jmp, not a stub
  EXPECT_EQ(TraceExits::stub_exit(mem, 0x70000, kVmLo, kVmHi), std::nullopt);  // unreadable
  // A tail that jumps anywhere but into the interpreter is no exit stub.
  const auto c = stub_group(0x52000, 0, false, 0x30000);
  mem.add_snapshot(0x52000, c);
  EXPECT_EQ(TraceExits::stub_exit(mem, 0x52000 + 8, kVmLo, kVmHi), std::nullopt);
}

TEST(TraceExits, CodeRunsUnderItsNextGuardsSnapshot) {
  RemoteMemory mem(getpid());
  constexpr std::uint64_t stubs = 0x50000, mcode = 0x60000, trace = 0x61000;
  mem.add_snapshot(stubs, stub_group(stubs, 0, false, kHandler));
  std::vector<std::uint8_t> code(64, 0x90);
  jcc(code, 10, mcode, stubs + 4 * 2);  // guard of snapshot 2
  jcc(code, 30, mcode, stubs + 4 * 5);  // guard of snapshot 5 (the loop's first)
  jcc(code, 40, mcode, mcode + 4);      // a branch inside the trace
  jcc(code, 50, mcode, 0x70000);        // a jcc-looking byte pair to nowhere
  mem.add_snapshot(mcode, code);
  TraceExits exits;
  const auto at = [&](std::uint64_t off, std::uint32_t mcloop = 20) {
    return exits.snapshot_at(mem, trace, 7, mcode, 64, mcloop, off, 8, kVmLo, kVmHi);
  };
  EXPECT_EQ(at(0), 2u);
  EXPECT_EQ(at(10), 2u);
  EXPECT_EQ(at(11), 5u);   // before the loop: the next guard's
  EXPECT_EQ(at(20), 3u);   // the loop's start before its first guard: after snapshot 2's
  EXPECT_EQ(at(29), 3u);
  EXPECT_EQ(at(30), 5u);
  EXPECT_EQ(at(63), 5u);   // past the last guard: its snapshot
  EXPECT_EQ(at(64), std::nullopt);
  EXPECT_EQ(at(25, 0), 5u);  // no loop
  // Another trace at the same address (a new number) is read again.
  std::vector<std::uint8_t> other(64, 0x90);
  jcc(other, 0, mcode, stubs + 4 * 1);
  mem.clear();
  mem.add_snapshot(stubs, stub_group(stubs, 0, false, kHandler));
  mem.add_snapshot(mcode, other);
  EXPECT_EQ(exits.snapshot_at(mem, trace, 8, mcode, 64, 0, 40, 8, kVmLo, kVmHi), 1u);
  // A trace without a guard that decodes: no snapshot.
  std::vector<std::uint8_t> none(64, 0x90);
  mem.clear();
  mem.add_snapshot(mcode, none);
  EXPECT_EQ(exits.snapshot_at(mem, trace, 9, mcode, 64, 0, 10, 8, kVmLo, kVmHi), std::nullopt);
}

}  // namespace
}  // namespace kperf::prof::lj

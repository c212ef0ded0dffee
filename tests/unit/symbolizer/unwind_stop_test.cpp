// Why unwind_stack stopped (UnwindStop) on synthetic stacks: no mapping, no CFI in a file,
// anonymous (JIT) code, a return address outside the copied stack, the frame limit, root.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "symbolizer/module.hpp"
#include "symbolizer/unwinder.hpp"

namespace {

using namespace kperf::sym;

constexpr uint64_t kBase = 0x7ffe0000;

// PCs below `mapped_below` are mapped (file-backed or anonymous) without CFI; others in no mapping.
struct Source : CfiSource {
  uint64_t mapped_below = ~0ull;
  bool anonymous = false;
  uint64_t entry = 0;  // the module's entry point (0: none)
  CfiLocation locate(uint64_t pc) override {
    CfiLocation loc;
    loc.mapped = pc < mapped_below;
    loc.anonymous = loc.mapped && anonymous;
    loc.entry = loc.mapped ? entry : 0;
    return loc;
  }
};

// A frame-pointer chain of one frame: rbp -> [saved rbp 0, return address `ra`].
struct FpStack {
  std::vector<uint8_t> bytes = std::vector<uint8_t>(256, 0);
  Registers regs;
  explicit FpStack(uint64_t ra) {
    std::memcpy(bytes.data() + 40, &ra, 8);
    regs.r[7] = kBase;
    regs.r[6] = kBase + 32;
    regs.r[16] = 0x400000;
  }
  StackCopy copy() const { return StackCopy{kBase, {bytes.data(), bytes.size()}}; }
};

TEST(UnwindStop, NoCfiInAFileBackedMapping) {
  Source src;
  FpStack s(0x401234);
  const auto r = unwind_stack(s.regs, s.copy(), src, UnwindOptions{8, false});
  EXPECT_FALSE(r.reached_root);
  EXPECT_EQ(r.stop, UnwindStop::NoCfi) << r.error;
}

// The dynamic loader's _start has no CFI: `mov %rsp,%rdi; call _dl_start` returns to
// entry + 8. A caller there is the process's first frame (it was counted no_cfi before:
// every sample of a starting process at a high rate).
TEST(UnwindStop, ReturnIntoTheEntryRoutineIsTheRoot) {
  Source src;
  src.entry = 0x40122c;  // the frame-pointer step returns to 0x401234 = entry + 8
  FpStack s(0x401234);
  const auto r = unwind_stack(s.regs, s.copy(), src, UnwindOptions{8, true});
  EXPECT_TRUE(r.reached_root) << r.error;
  EXPECT_EQ(r.stop, UnwindStop::Root);
  ASSERT_EQ(r.pcs.size(), 2u);
  EXPECT_EQ(r.pcs[1], 0x401234u);
}

TEST(UnwindStop, NoCfiPastTheEntryRoutineIsStillNoCfi) {
  Source src;
  src.entry = 0x401234 - 1 - kEntryRoutineBytes;  // the return address's call is just past the routine
  FpStack s(0x401234);
  const auto r = unwind_stack(s.regs, s.copy(), src, UnwindOptions{8, true});
  EXPECT_FALSE(r.reached_root);
  EXPECT_EQ(r.stop, UnwindStop::NoCfi) << r.error;
}

TEST(UnwindStop, NoCfiInAnonymousCodeIsJit) {
  Source src;
  src.anonymous = true;
  FpStack s(0x401234);
  const auto r = unwind_stack(s.regs, s.copy(), src, UnwindOptions{8, false});
  EXPECT_EQ(r.stop, UnwindStop::AnonCode) << r.error;
}

TEST(UnwindStop, CallerInNoMapping) {
  Source src;
  src.mapped_below = 0x401000;  // the frame-pointer step returns to 0x401234: unmapped
  FpStack s(0x401234);
  const auto r = unwind_stack(s.regs, s.copy(), src, UnwindOptions{8, true});
  ASSERT_EQ(r.pcs.size(), 2u) << r.error;
  EXPECT_EQ(r.stop, UnwindStop::NoMapping) << r.error;
}

TEST(UnwindStop, FrameLimit) {
  Source src;
  FpStack s(0x401234);
  const auto r = unwind_stack(s.regs, s.copy(), src, UnwindOptions{2, true});
  EXPECT_EQ(r.stop, UnwindStop::MaxFrames) << r.error;
}

TEST(UnwindStop, ZeroReturnAddressIsTheRoot) {
  Source src;
  FpStack s(0);
  const auto r = unwind_stack(s.regs, s.copy(), src, UnwindOptions{8, true});
  EXPECT_TRUE(r.reached_root);
  EXPECT_EQ(r.stop, UnwindStop::Root);
  EXPECT_TRUE(r.error.empty());
}

struct OneModule : CfiSource {
  CfiTable* t;
  explicit OneModule(CfiTable* table) : t(table) {}
  CfiLocation locate(uint64_t) override { return {t, 0, true}; }
};

TEST(UnwindStop, ReturnAddressOutsideTheCopy) {
  Module m(ElfFile::open(UNWIND_TARGET), "unwind_target", ModuleOptions{true, false, "/usr/lib/debug"});
  const auto fn = m.symbols().find("kperf_level1");
  ASSERT_TRUE(fn);
  OneModule src(&m.cfi());
  Registers regs;
  regs.r[7] = kBase;
  regs.r[16] = fn->start;  // at entry: RA at [rsp]
  std::vector<uint8_t> bytes(4, 0);  // less than one word copied
  const auto r = unwind_stack(regs, StackCopy{kBase, {bytes.data(), bytes.size()}}, src, UnwindOptions{8, false});
  EXPECT_EQ(r.stop, UnwindStop::OffStack) << r.error;
  uint64_t ra = 0;  // a full word: the zero return address ends the chain
  bytes.assign(8, 0);
  std::memcpy(bytes.data(), &ra, 8);
  const auto r2 = unwind_stack(regs, StackCopy{kBase, {bytes.data(), bytes.size()}}, src, UnwindOptions{8, false});
  EXPECT_TRUE(r2.reached_root) << r2.error;
}

}  // namespace

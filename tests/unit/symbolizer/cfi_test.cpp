// CFI rows from libdw and the FDE index on a real binary: PLT CFA expressions, FDE starts
// equal to function symbols, one unwinding step through a PLT entry, and cached rows that
// stay right whatever the lookup order (DW_CFA_remember_state / restore_state).
#include <dwarf.h>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <libelf.h>
#include <unistd.h>

#include <cstring>
#include <random>

#include "symbolizer/module.hpp"
#include "symbolizer/unwinder.hpp"

namespace {

using namespace kperf::sym;

Module load(const char* path) {
  return Module(ElfFile::open(path), "unwind_target", ModuleOptions{true, false, "/usr/lib/debug"});
}

TEST(Cfi, FdeStartsMatchFunctionSymbols) {
  Module m = load(UNWIND_TARGET);
  ASSERT_GT(m.fdes().size(), 5u);
  for (const char* fn : {"kperf_spin", "kperf_leaf", "kperf_level1", "kperf_cmp", "main"}) {
    auto s = m.symbols().find(fn);
    ASSERT_TRUE(s) << fn;
    auto r = m.fdes().lookup(s->start + 1);
    ASSERT_TRUE(r) << fn;
    EXPECT_EQ(r->start, s->start) << fn;
    EXPECT_EQ(r->end, s->start + s->size) << fn;
  }
}

TEST(Cfi, SimpleRowsAreRegisterPlusOffset) {
  Module m = load(UNWIND_TARGET);
  auto s = m.symbols().find("kperf_level1");
  ASSERT_TRUE(s);
  const CfiRow* row = m.cfi().find(s->start);
  ASSERT_NE(row, nullptr);
  EXPECT_FALSE(row->cfa.is_expr);
  EXPECT_EQ(row->cfa.reg, 7);  // rsp
  EXPECT_EQ(row->cfa.off, 8);
  EXPECT_EQ(row->regs[0].kind, RuleKind::Offset);  // rip at CFA-8
  EXPECT_EQ(row->regs[0].off, -8);
  EXPECT_LE(row->start, s->start);
  EXPECT_GT(row->end, s->start);
  // Cached: the same row object answers again.
  EXPECT_EQ(m.cfi().find(s->start), row);
}

struct OneModule : CfiSource {
  CfiTable* t;
  explicit OneModule(CfiTable* table) : t(table) {}
  CfiLocation locate(uint64_t) override { return {t, 0, true}; }
};

TEST(Cfi, PltEntryUsesCfaExpressionAndUnwinds) {
  Module m = load(UNWIND_TARGET);
  auto plt = m.elf().section(".plt");
  ASSERT_TRUE(plt);
  ASSERT_GE(plt->bytes.size(), 32u);
  uint64_t entry = plt->addr + 16;  // first PLT entry after PLT0
  const CfiRow* row = m.cfi().find(entry);
  ASSERT_NE(row, nullptr);
  EXPECT_TRUE(row->cfa.is_expr);

  // At offset 0 of the entry the return address is at [rsp]; at offset 11 (after its
  // push) at [rsp+8].
  for (uint64_t off : {0u, 11u}) {
    std::vector<uint8_t> stack(64, 0);
    uint64_t sp = 0x7ffd1000;
    uint64_t ra = 0x1234567;
    std::memcpy(stack.data() + (off >= 11 ? 8 : 0), &ra, 8);
    Registers regs;
    regs.r[7] = sp;
    regs.r[16] = entry + off;
    OneModule src(&m.cfi());
    auto r = unwind_stack(regs, StackCopy{sp, {stack.data(), stack.size()}}, src, UnwindOptions{2, false});
    ASSERT_GE(r.pcs.size(), 2u) << r.error;
    EXPECT_EQ(r.pcs[1], ra) << "offset " << off;
  }
}

TEST(Cfi, NoCfiStopsOrFallsBackToFramePointer) {
  struct NoCfi : CfiSource {
    CfiLocation locate(uint64_t) override { return {nullptr, 0, true}; }
  } src;
  // Frame chain: rbp -> [saved rbp, return address].
  std::vector<uint8_t> stack(256, 0);
  uint64_t base = 0x7ffe0000;
  uint64_t saved_rbp = 0, ra = 0x401234;
  std::memcpy(stack.data() + 32, &saved_rbp, 8);
  std::memcpy(stack.data() + 40, &ra, 8);
  Registers regs;
  regs.r[7] = base;
  regs.r[6] = base + 32;
  regs.r[16] = 0x400000;
  auto r = unwind_stack(regs, StackCopy{base, {stack.data(), stack.size()}}, src, UnwindOptions{8, true});
  ASSERT_GE(r.pcs.size(), 2u);
  EXPECT_EQ(r.pcs[1], ra);
  auto r2 = unwind_stack(regs, StackCopy{base, {stack.data(), stack.size()}}, src, UnwindOptions{8, false});
  EXPECT_EQ(r2.pcs.size(), 1u);
  EXPECT_FALSE(r2.reached_root);
  EXPECT_NE(r2.error.find("no CFI"), std::string::npos) << r2.error;
  // rbp outside the copied stack: no fallback.
  regs.r[6] = base + 4096;
  auto r3 = unwind_stack(regs, StackCopy{base, {stack.data(), stack.size()}}, src, UnwindOptions{8, true});
  EXPECT_EQ(r3.pcs.size(), 1u);
}

// libdw reports a row reached by DW_CFA_restore_state as starting where the state was
// remembered; cached as such, it used to answer for the epilogue between the two.
TEST(Cfi, RestoredStateRowDoesNotCoverTheEpilogue) {
  auto s = load(UNWIND_TARGET).symbols().find("kperf_cfi_epilogue");
  ASSERT_TRUE(s);
  struct Want {
    uint64_t off;
    int64_t cfa;
  };
  const Want want[] = {{0, 8}, {1, 16}, {5, 16}, {6, 16}, {7, 8}, {8, 16}, {10, 16}, {11, 16}, {12, 8}};
  // Every order of first lookups: after-restore first, epilogue first, ascending.
  for (const auto& order : {std::vector<size_t>{5, 4, 8, 0, 1, 2, 3, 6, 7}, std::vector<size_t>{6, 7, 4, 0, 8, 1, 2, 3, 5},
                            std::vector<size_t>{0, 1, 2, 3, 4, 5, 6, 7, 8}, std::vector<size_t>{8, 7, 6, 5, 4, 3, 2, 1, 0}}) {
    Module m = load(UNWIND_TARGET);
    for (size_t i : order) {
      const CfiRow* row = m.cfi().find(s->start + want[i].off);
      ASSERT_NE(row, nullptr) << want[i].off;
      EXPECT_FALSE(row->cfa.is_expr);
      EXPECT_EQ(row->cfa.reg, 7);
      EXPECT_EQ(row->cfa.off, want[i].cfa) << "offset " << want[i].off << ", first lookup " << want[order[0]].off;
    }
  }
}

// Cached lookups in random order answer as a fresh table does for each address alone,
// over a large real library (libc: thousands of FDEs, many with remembered states).
TEST(Cfi, CachedRowsMatchFreshLookupsInAnyOrder) {
  const char* path = "/lib/x86_64-linux-gnu/libc.so.6";
  Module libc(ElfFile::open(path), "libc", ModuleOptions{true, false, "/usr/lib/debug"});
  auto text = libc.elf().section(".text");
  ASSERT_TRUE(text);
  elf_version(EV_CURRENT);
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  Elf* elf = elf_begin(fd, ELF_C_READ_MMAP, nullptr);
  ASSERT_NE(elf, nullptr);
  CfiTable cached(dwarf_getcfi_elf(elf), nullptr);
  std::mt19937_64 rng(7);
  size_t compared = 0, wrong = 0;
  for (int i = 0; i < 20000; ++i) {
    const uint64_t a = text->addr + rng() % text->bytes.size();
    const CfiRow* row = cached.find(a);
    CfiTable alone_table(dwarf_getcfi_elf(elf), nullptr);
    const CfiRow* alone = alone_table.find(a);
    ASSERT_EQ(row == nullptr, alone == nullptr) << std::hex << a;
    if (!row) continue;
    ++compared;
    if (row->cfa.is_expr != alone->cfa.is_expr || row->cfa.reg != alone->cfa.reg || row->cfa.off != alone->cfa.off ||
        row->regs[0].off != alone->regs[0].off) {
      if (++wrong <= 5)
        ADD_FAILURE() << std::hex << a << ": cached CFA r" << std::dec << int(row->cfa.reg) << "+" << row->cfa.off
                      << ", alone r" << int(alone->cfa.reg) << "+" << alone->cfa.off;
    }
  }
  elf_end(elf);
  close(fd);
  EXPECT_GT(compared, 15000u);
  EXPECT_EQ(wrong, 0u);
}

}  // namespace

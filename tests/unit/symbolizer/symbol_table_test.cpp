// SymbolTable: sized lookups (no nearest-preceding names), alias choice like
// llvm-symbolizer, version suffixes dropped, and the real symbols of a built binary.
#include <gtest/gtest.h>

#include "symbolizer/elf_file.hpp"
#include "symbolizer/symbol_table.hpp"

namespace {

using kperf::sym::SymbolTable;

TEST(SymbolTable, OnlyInsideSymbolRanges) {
  SymbolTable t;
  t.add(0x1000, 0x20, "a");
  t.add(0x1100, 0x10, "b");
  t.add(0x1200, 0, "zero");
  t.finalize();
  EXPECT_EQ(t.lookup(0x1000)->name, "a");
  EXPECT_EQ(t.lookup(0x101f)->name, "a");
  EXPECT_FALSE(t.lookup(0x1020)) << "past a's end must not be named a";
  EXPECT_FALSE(t.lookup(0x10ff));
  EXPECT_FALSE(t.lookup(0xfff));
  EXPECT_EQ(t.lookup(0x110f)->name, "b");
  EXPECT_EQ(t.lookup(0x1200)->name, "zero");
  EXPECT_FALSE(t.lookup(0x1201));
}

TEST(SymbolTable, AliasesLargestThenLastAndVersionsDropped) {
  SymbolTable t;
  t.add(0x2000, 0x10, "_ZN1AC1Ev");
  t.add(0x2000, 0x10, "_ZN1AC2Ev");
  t.add(0x2000, 0x8, "short_alias");
  t.add(0x3000, 0x10, "__libc_start_main@@GLIBC_2.34");
  t.finalize();
  EXPECT_EQ(t.lookup(0x2004)->name, "_ZN1AC2Ev");
  EXPECT_EQ(t.lookup(0x300f)->name, "__libc_start_main");
  EXPECT_EQ(t.size(), 2u);
}

TEST(SymbolTable, RealBinaryFunctionsCoverTheirBodies) {
  auto elf = kperf::sym::ElfFile::open(UNWIND_TARGET);
  SymbolTable t;
  t.add_from_elf(elf.elf());
  t.finalize();
  auto spin = t.find("kperf_spin");
  ASSERT_TRUE(spin);
  ASSERT_GT(spin->size, 0u);
  EXPECT_EQ(t.lookup(spin->start + spin->size - 1)->name, "kperf_spin");
  auto main = t.find("main");
  ASSERT_TRUE(main);
  EXPECT_EQ(t.lookup(main->start)->name, "main");
}

}  // namespace

// Differential tries (difffolded.pl semantics): merging, -n normalization, folded output.
#include <gtest/gtest.h>

#include <sstream>

#include "flamegraph/diff.hpp"
#include "flamegraph/folded.hpp"

namespace kperf::fg {
namespace {

StackTrie parse(const std::string& text, FoldedOptions o = {}) {
  StackTrie t;
  FoldedReader r(t, o);
  r.add_text(text, "t");
  return t;
}

std::string folded(const StackTrie& t) {
  std::ostringstream out;
  write_folded(t, out);
  return out.str();
}

TEST(Diff, MergesStacksOfBothSides) {
  const StackTrie d = diff_tries(parse("a;b 10\na;c 5\n"), parse("a;b 20\nd 1\n"), {});
  EXPECT_TRUE(d.differential());
  EXPECT_EQ(folded(d), "a;b 10 20\na;c 5 0\nd 0 1\n");
  EXPECT_EQ(d.total(), 21);
  EXPECT_EQ(d.total_base(), 15);
}

TEST(Diff, NormalizeScalesBeforeAndTruncates) {
  // difffolded.pl -n: int(count1 * total2 / total1); totals 3 and 10.
  DiffOptions o;
  o.normalize = true;
  const StackTrie d = diff_tries(parse("a 1\nb 2\n"), parse("a 5\nb 5\n"), o);
  EXPECT_EQ(folded(d), "a 3 5\nb 6 5\n");
}

TEST(Diff, StripHexMergesAddresses) {
  FoldedOptions o;
  o.strip_hex = true;
  const StackTrie d = diff_tries(parse("lib+0x10;f 1\nlib+0x20;f 1\n", o), parse("lib+0xAB;f 4\n", o), {});
  EXPECT_EQ(folded(d), "lib+0x...;f 2 4\n");
}

}  // namespace
}  // namespace kperf::fg

// Folded parsing (flamegraph.pl's line rules), the trie API and folded output.
#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "flamegraph/folded.hpp"
#include "flamegraph/trie.hpp"

namespace kperf::fg {
namespace {

TEST(FoldedLine, CountAfterLastWhitespace) {
  ParsedLine p;
  ASSERT_EQ(parse_folded_line("main;foo bar;baz 42", p), LineKind::Stack);
  EXPECT_EQ(p.stack, "main;foo bar;baz");
  EXPECT_EQ(p.count, 42);
  EXPECT_FALSE(p.differential);
}

TEST(FoldedLine, DecimalAndTabAndCrlf) {
  ParsedLine p;
  ASSERT_EQ(parse_folded_line("a;b\t2.5\r", p), LineKind::Stack);
  EXPECT_EQ(p.stack, "a;b");
  EXPECT_DOUBLE_EQ(p.count, 2.5);
  ASSERT_EQ(parse_folded_line("a 7.", p), LineKind::Stack);
  EXPECT_DOUBLE_EQ(p.count, 7);
}

TEST(FoldedLine, SecondColumnIsDifferential) {
  ParsedLine p;
  ASSERT_EQ(parse_folded_line("a;b 10 25", p), LineKind::Stack);
  EXPECT_TRUE(p.differential);
  EXPECT_EQ(p.stack, "a;b");
  EXPECT_EQ(p.base, 10);
  EXPECT_EQ(p.count, 25);
}

TEST(FoldedLine, TwoSpacesKeepTrailingSpaceInStack) {
  // flamegraph.pl's (.*)\s+? : the count follows the last whitespace character.
  ParsedLine p;
  ASSERT_EQ(parse_folded_line("a;b  5", p), LineKind::Stack);
  EXPECT_EQ(p.stack, "a;b ");
  EXPECT_FALSE(p.differential);
}

TEST(FoldedLine, BlankAndInvalid) {
  ParsedLine p;
  EXPECT_EQ(parse_folded_line("", p), LineKind::Blank);
  EXPECT_EQ(parse_folded_line(" \t\r", p), LineKind::Blank);
  EXPECT_EQ(parse_folded_line("no count here", p), LineKind::Invalid);
  EXPECT_EQ(parse_folded_line("a;b 5 ", p), LineKind::Invalid);
  EXPECT_EQ(parse_folded_line("a;b -5", p), LineKind::Invalid);
  EXPECT_EQ(parse_folded_line("a;b 1e5", p), LineKind::Invalid);
  EXPECT_EQ(parse_folded_line("12", p), LineKind::Invalid);
  EXPECT_EQ(parse_folded_line("a;b .5", p), LineKind::Invalid);
}

TEST(FoldedLine, CountOverflowThrows) {
  ParsedLine p;
  EXPECT_NO_THROW(parse_folded_line("a 18446744073709551615", p));
  EXPECT_EQ(p.count, 18446744073709551615.0);
  EXPECT_THROW(parse_folded_line("a 18446744073709551616", p), FoldedError);
  EXPECT_THROW(parse_folded_line("a 99999999999999999999999999.5", p), FoldedError);
  EXPECT_THROW(parse_folded_line("a " + std::string(400, '9') + ".0", p), FoldedError);
}

TEST(FoldedSplit, PerlSplitDropsOnlyTrailingEmptyFields) {
  std::vector<std::string_view> f;
  split_frames(";a;;b;;", f);
  ASSERT_EQ(f.size(), 4u);
  EXPECT_EQ(f[0], "");
  EXPECT_EQ(f[1], "a");
  EXPECT_EQ(f[2], "");
  EXPECT_EQ(f[3], "b");
  split_frames("", f);
  EXPECT_TRUE(f.empty());
}

TEST(FoldedReader, CountsInvalidLinesAndMergesStacks) {
  StackTrie trie;
  FoldedReader r(trie);
  r.add_text("a;b 3\r\n\nbogus\na;b 2\na;c 1\n", "in");
  EXPECT_EQ(r.stats().stacks, 3u);
  EXPECT_EQ(r.stats().invalid, 1u);
  EXPECT_EQ(r.stats().first_invalid, "in:3");
  EXPECT_EQ(trie.total(), 6);
  const FrameId a = trie.frames().find("a");
  const FrameId b = trie.frames().find("b");
  ASSERT_NE(a, FrameTable::kNone);
  ASSERT_NE(b, FrameTable::kNone);
  StackTrie ids;
  const FrameId ia = ids.frames().intern("a");
  const FrameId ib = ids.frames().intern("b");
  const FrameId stack[] = {ia, ib};
  const NodeId leaf = ids.add(stack, 5);
  EXPECT_EQ(ids.node(leaf).self, 5);
  EXPECT_EQ(ids.size(), 3u);  // root, a, b
  std::vector<FrameId> path;
  ids.path(leaf, path);
  EXPECT_EQ(path, (std::vector<FrameId>{ia, ib}));
}

TEST(FoldedReader, ReverseAndStripHex) {
  StackTrie trie;
  FoldedOptions o;
  o.reverse = true;
  o.strip_hex = true;
  FoldedReader r(trie, o);
  r.add_text("main;lib.so+0x1a2b;leaf 4\n", "in");
  std::ostringstream out;
  write_folded(trie, out);
  EXPECT_EQ(out.str(), "leaf;lib.so+0x...;main 4\n");
}

TEST(FoldedReader, TotalOverflowThrows) {
  StackTrie trie;
  FoldedReader r(trie);
  r.add_line("a 18446744073709551615", "in", 1);
  EXPECT_THROW(r.add_line("b 18446744073709551615", "in", 2), FoldedError);
}

TEST(FoldedWriter, SortedLikeFlamegraphPlInput) {
  StackTrie trie;
  FoldedReader r(trie);
  r.add_text("b;x 1\na;b 2\na 3\na;b 4\n", "in");
  std::ostringstream out;
  write_folded(trie, out);
  EXPECT_EQ(out.str(), "a 3\na;b 6\nb;x 1\n");
}

TEST(StackTrie, ClearStacksKeepsTheFrames) {
  StackTrie trie;
  FoldedReader r(trie);
  std::string many;  // past one chunk of nodes and past the wide-children threshold
  for (int i = 0; i < 6000; ++i) many += "root;f" + std::to_string(i) + " 1\n";
  r.add_text(many + "a;b 2\n", "in");
  const FrameId b = trie.frames().find("b");
  ASSERT_NE(b, FrameTable::kNone);
  const std::size_t frames = trie.frames().size();
  trie.clear_stacks();
  EXPECT_EQ(trie.size(), 1u);  // the root
  EXPECT_EQ(trie.total(), 0);
  EXPECT_EQ(trie.first_child_of(StackTrie::kRoot), StackTrie::kNoNode);
  EXPECT_EQ(trie.frames().size(), frames);
  EXPECT_EQ(trie.frames().find("b"), b);
  FoldedReader again(trie);
  again.add_text("a;b 5\nroot;f7 1\n", "in");
  std::ostringstream out;
  write_folded(trie, out);
  EXPECT_EQ(out.str(), "a;b 5\nroot;f7 1\n");
  EXPECT_EQ(trie.frames().size(), frames);  // nothing interned anew
}

TEST(FrameTable, InternsOnceAndGrows) {
  FrameTable t;
  for (int i = 0; i < 5000; ++i) EXPECT_EQ(t.intern("f" + std::to_string(i)), static_cast<FrameId>(i));
  for (int i = 0; i < 5000; ++i) EXPECT_EQ(t.intern("f" + std::to_string(i)), static_cast<FrameId>(i));
  EXPECT_EQ(t.size(), 5000u);
  EXPECT_EQ(t.name(1234), "f1234");
  EXPECT_EQ(t.find("nope"), FrameTable::kNone);
}

}  // namespace
}  // namespace kperf::fg

// The flame graph layout's shortcut: a plain graph walks the trie coarsely (a node whose
// descendants are all too narrow to draw comes as one stack), a differential one walks
// every stack. Both must draw the same boxes at the same places: checked on random
// tries, laid out once plain and once as a differential trie with before == after.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "flamegraph/layout.hpp"
#include "flamegraph/stack_order.hpp"

namespace kperf::fg {
namespace {

using Drawn = std::tuple<std::string, std::uint32_t, double, double>;  // name, depth, start, end

std::vector<Drawn> drawn(const StackTrie& trie, double min_samples) {
  LayoutOptions o;
  o.min_samples = min_samples;
  std::vector<Drawn> out;
  for (const Box& b : layout_stacks(trie, o).boxes) {
    out.emplace_back(b.frame == FrameTable::kNone ? "" : std::string(trie.frames().name(b.frame)), b.depth,
                     b.start, b.end);
  }
  return out;
}

// Random stacks over names that are prefixes of each other (the sort's hard case),
// some ending at inner frames of others (a frame with own samples and children).
std::vector<std::pair<std::vector<std::string>, double>> random_stacks(std::mt19937& rng, int n) {
  static const std::vector<std::string> names = {"a", "ab", "a.isra.0", "b", "main", "main2", "f", "f;", "g", "z"};
  std::uniform_int_distribution<int> depth(1, 9), name(0, static_cast<int>(names.size()) - 1);
  std::geometric_distribution<int> count(0.2);
  std::vector<std::pair<std::vector<std::string>, double>> out;
  for (int i = 0; i < n; ++i) {
    std::vector<std::string> s;
    for (int d = depth(rng); d > 0; --d) s.push_back(names[name(rng)]);
    out.emplace_back(std::move(s), count(rng) + 1);
  }
  return out;
}

TEST(LayoutCoarse, SameBoxesAsWalkingEveryStack) {
  std::mt19937 rng(20261207);
  int compared = 0;
  for (int round = 0; round < 40; ++round) {
    const auto stacks = random_stacks(rng, 50 + round * 20);
    StackTrie plain;
    StackTrie every;  // differential, so laid out from every stack
    for (const auto& [frames, count] : stacks) {
      std::vector<std::string_view> v(frames.begin(), frames.end());
      plain.add(std::span<const std::string_view>(v), count);
      every.add_diff(std::span<const std::string_view>(v), count, count);
    }
    ASSERT_FALSE(plain.differential());
    ASSERT_TRUE(every.differential());
    for (const double share : {0.0, 0.002, 0.01, 0.03, 0.1, 0.5}) {
      const double min = plain.total() * share;
      const auto want = drawn(every, min);
      EXPECT_EQ(drawn(plain, min), want) << "round " << round << ", min " << min;
      compared += static_cast<int>(want.size());
    }
  }
  EXPECT_GT(compared, 1000);
}

TEST(LayoutCoarse, SkipsWhatCannotBeDrawn) {
  // a;b;c 1, a;b;d 1, a;e 10: below 3 samples, b's two stacks come as one ending at b.
  StackTrie trie;
  for (const auto& [s, n] : std::vector<std::pair<std::vector<std::string_view>, double>>{
           {{"a", "b", "c"}, 1}, {{"a", "b", "d"}, 1}, {{"a", "e"}, 10}}) {
    trie.add(std::span<const std::string_view>(s), n);
  }
  std::vector<std::pair<std::string, double>> got;
  visit_sorted_coarse(trie, 3, [&](std::span<const FrameId> path, double count) {
    std::string p;
    for (FrameId f : path) p += std::string(trie.frames().name(f)) + ";";
    got.emplace_back(p, count);
  });
  const std::vector<std::pair<std::string, double>> want = {{"a;b;", 2}, {"a;e;", 10}};
  EXPECT_EQ(got, want);
}

}  // namespace
}  // namespace kperf::fg

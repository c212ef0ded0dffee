// Windows of a growing trie: the scope shows exactly what was added since the snapshot,
// overlapping windows each see their own counts, and the trie comes back intact.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "kperf/agent/trie_window.hpp"

namespace kperf::agent {
namespace {

fg::NodeId add(fg::StackTrie& t, std::vector<std::string_view> stack, double n) {
  return t.add(std::span<const std::string_view>(stack), n);
}

// stack text (frames joined by ';') -> count, for nodes with a non-zero count.
std::map<std::string, double> counts(const fg::StackTrie& t) {
  std::map<std::string, double> out;
  std::vector<fg::FrameId> path;
  for (fg::NodeId id = 1; id < t.size(); ++id) {
    const auto n = t.node(id);
    if (n.self == 0) continue;
    t.path(id, path);
    std::string s;
    for (fg::FrameId f : path) s += (s.empty() ? "" : ";") + std::string(t.frames().name(f));
    out[s] = n.self;
  }
  return out;
}

TEST(TrieWindow, ScopeHoldsOnlyWhatWasAddedSinceTheSnapshot) {
  fg::StackTrie t;
  add(t, {"nginx", "a"}, 5);
  add(t, {"nginx", "b"}, 2);
  const TrieSnapshot since(t, {});
  EXPECT_EQ(since.total(), 7);
  add(t, {"nginx", "a"}, 3);
  add(t, {"nginx", "c", "d"}, 4);
  const auto before = counts(t);
  {
    WindowScope w(t, since);
    EXPECT_EQ(t.total(), 7);
    const auto got = counts(t);
    EXPECT_EQ(got, (std::map<std::string, double>{{"nginx;a", 3}, {"nginx;c;d", 4}}));
  }
  EXPECT_EQ(t.total(), 14);
  EXPECT_EQ(counts(t), before);
}

TEST(TrieWindow, OverlappingWindowsEachSeeTheirOwnSamples) {
  fg::StackTrie t;
  add(t, {"nginx", "x"}, 1);
  const TrieSnapshot first(t, {});  // window 1 opens
  add(t, {"nginx", "y"}, 2);
  const TrieSnapshot second(t, {});  // window 2 opens
  add(t, {"nginx", "y"}, 10);
  {
    WindowScope w(t, first);
    EXPECT_EQ(counts(t), (std::map<std::string, double>{{"nginx;y", 12}}));
  }
  {
    WindowScope w(t, second);
    EXPECT_EQ(counts(t), (std::map<std::string, double>{{"nginx;y", 10}}));
  }
  EXPECT_EQ(counts(t), (std::map<std::string, double>{{"nginx;x", 1}, {"nginx;y", 12}}));
}

TEST(TrieWindow, EmptyWindowHasNoCounts) {
  fg::StackTrie t;
  add(t, {"nginx", "x"}, 4);
  const TrieSnapshot since(t, {});
  WindowScope w(t, since);
  EXPECT_EQ(t.total(), 0);
  EXPECT_TRUE(counts(t).empty());
}

TEST(TrieWindow, PerThreadCountsSinceTheSnapshot) {
  fg::StackTrie t;
  const fg::NodeId a = add(t, {"nginx", "a"}, 5);
  const fg::NodeId b = add(t, {"nginx", "b"}, 1);
  const std::vector<prof::ThreadSamples> before = {{a, 10, 11, 3}, {a, 10, 12, 2}, {b, 10, 11, 1}};
  const TrieSnapshot since(t, before);
  const std::vector<prof::ThreadSamples> now = {{a, 10, 11, 7}, {a, 10, 12, 2}, {b, 10, 11, 1}, {b, 20, 21, 4}};
  const auto got = since.threads_since(now);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].leaf, a);
  EXPECT_EQ(got[0].tid, 11);
  EXPECT_EQ(got[0].count, 4u);
  EXPECT_EQ(got[1].leaf, b);
  EXPECT_EQ(got[1].pid, 20);
  EXPECT_EQ(got[1].count, 4u);
}

}  // namespace
}  // namespace kperf::agent

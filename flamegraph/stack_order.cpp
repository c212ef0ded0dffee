// visit_sorted: emulates `sort` over folded lines on the trie. A node contributes up to
// two runs of lines: its own stacks ("NAME COUNT") and its descendants' ("NAME;...").
// Sorting those runs by "NAME COUNT" / "NAME;" among siblings reproduces the line order
// (and so flamegraph.pl's occasional split of one frame into two boxes, e.g. "foo" with
// both own samples and children, next to a sibling "foo.isra.0").
#include "flamegraph/stack_order.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include "flamegraph/folded.hpp"

namespace kperf::fg {

namespace {

// A run of sorted lines: NAME followed by `tail` (" COUNT" for the node's own stacks,
// ";" for its descendants). Compared as the concatenation, without building it.
struct Run {
  std::string_view name;
  std::string tail;  // short: stays in the small-string buffer
  NodeId node;
  bool own;  // the node's own stacks, else its descendants
};

int compare_runs(const Run& a, const Run& b) {
  const std::size_t la = a.name.size() + a.tail.size();
  const std::size_t lb = b.name.size() + b.tail.size();
  auto at = [](const Run& r, std::size_t i) {
    return static_cast<unsigned char>(i < r.name.size() ? r.name[i] : r.tail[i - r.name.size()]);
  };
  // Fast path: the names alone decide.
  const std::size_t common = std::min(a.name.size(), b.name.size());
  const int c = a.name.substr(0, common).compare(b.name.substr(0, common));
  if (c != 0) return c;
  for (std::size_t i = common; i < la && i < lb; ++i) {
    const unsigned char x = at(a, i);
    const unsigned char y = at(b, i);
    if (x != y) return x < y ? -1 : 1;
  }
  return la < lb ? -1 : la > lb ? 1 : 0;
}

std::string own_tail(const StackTrie::Node& n) {
  std::string s = " ";
  if (n.has_base) {
    s += format_count(n.base);
    s += ' ';
  }
  s += format_count(n.self);
  return s;
}

void sort_runs(std::vector<Run>& runs) {
  std::sort(runs.begin(), runs.end(), [](const Run& a, const Run& b) {
    const int c = compare_runs(a, b);
    if (c != 0) return c < 0;
    return a.node < b.node;
  });
}

void children_runs(const StackTrie& t, NodeId parent, std::vector<Run>& runs) {
  for (NodeId c = t.node(parent).first_child; c != StackTrie::kNoNode; c = t.node(c).next_sibling) {
    const auto n = t.node(c);
    const std::string_view name = t.frames().name(n.frame);
    if (n.terminal) runs.push_back(Run{name, own_tail(n), c, true});
    if (n.first_child != StackTrie::kNoNode) runs.push_back(Run{name, ";", c, false});
  }
  sort_runs(runs);
}

}  // namespace

void visit_sorted(const StackTrie& trie,
                  const std::function<void(NodeId, std::span<const FrameId>)>& fn) {
  struct Level {
    std::vector<Run> runs;
    std::size_t next = 0;
  };
  std::vector<Level> levels(1);
  std::vector<FrameId> path;
  const auto root = trie.node(StackTrie::kRoot);
  children_runs(trie, StackTrie::kRoot, levels[0].runs);
  if (root.terminal) {
    levels[0].runs.push_back(Run{{}, own_tail(root), StackTrie::kRoot, true});
    sort_runs(levels[0].runs);
  }
  while (!levels.empty()) {
    Level& level = levels.back();
    if (level.next == level.runs.size()) {
      levels.pop_back();
      if (!levels.empty()) path.pop_back();
      continue;
    }
    const Run& run = level.runs[level.next++];
    const NodeId node = run.node;
    if (run.own) {
      if (node == StackTrie::kRoot) {
        fn(node, path);
      } else {
        path.push_back(trie.node(node).frame);
        fn(node, path);
        path.pop_back();
      }
      continue;
    }
    path.push_back(trie.node(node).frame);
    Level next;
    children_runs(trie, node, next.runs);
    levels.push_back(std::move(next));  // invalidates `level`
  }
}

}  // namespace kperf::fg

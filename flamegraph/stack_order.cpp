// visit_sorted: emulates `sort` over folded lines on the trie. A node contributes up to
// two runs of lines: its own stacks ("NAME COUNT") and its descendants' ("NAME;").
// Sorting those runs by "NAME COUNT" / "NAME;" among siblings reproduces the line order
// (and so flamegraph.pl's occasional split of one frame into two boxes, e.g. "foo" with
// both own samples and children, next to a sibling "foo.isra.0").
//
// Speed: every frame name gets its rank in the sorted list of all names once, so most
// sibling comparisons are one integer compare. Only when a name is a prefix of another
// name can the runs' tails (" COUNT" or ";") decide; those pairs are compared as full
// strings, the count formatted then. One run stack serves all levels (no allocation per
// visited node).
//
// A plain flame graph (visit_sorted_coarse) does not need the stacks below a node whose
// descendants are narrower in all than the narrowest box drawn: they come as one stack
// ending at that node, in their run's place, so every drawn box keeps its place and width.
#include "flamegraph/stack_order.hpp"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "flamegraph/folded.hpp"
#include "flamegraph/huge_block.hpp"

namespace kperf::fg {

namespace {

// A run of sorted lines: a node's NAME followed by " COUNT" (own stacks) or ";"
// (its descendants).
struct Run {
  std::uint32_t rank;  // of NAME among all names, from 1; the root's own run: 0
  NodeId node;
  bool own;     // the node's own stacks, else its descendants
  bool prefix;  // NAME may be a prefix of a sibling's name: ranks alone cannot decide
};

class RunOrder {
 public:
  explicit RunOrder(const StackTrie& trie) : trie_(trie) {
    const FrameTable& names = trie.frames();
    const auto n = static_cast<FrameId>(names.size());
    std::vector<FrameId> ids(n);
    for (FrameId i = 0; i < n; ++i) ids[i] = i;
    std::sort(ids.begin(), ids.end(),
              [&](FrameId a, FrameId b) { return names.name(a) < names.name(b); });
    rank_.resize(n);
    prefix_.resize(n);
    for (FrameId i = 0; i < n; ++i) {
      rank_[ids[i]] = i + 1;
      // Names that start with NAME follow it directly in sorted order.
      prefix_[ids[i]] = i + 1 < n && names.name(ids[i + 1]).starts_with(names.name(ids[i]));
    }
  }

  Run run(NodeId node, bool own) const {
    if (node == StackTrie::kRoot) return Run{0, node, own, true};  // empty NAME
    const FrameId f = trie_.frame_of(node);
    return Run{rank_[f], node, own, prefix_[f] != 0};
  }

  // Strict order of the runs' strings; equal strings by node id.
  bool less(const Run& a, const Run& b) const {
    if (a.rank < b.rank) {
      if (!a.prefix) return true;
    } else if (a.rank > b.rank) {
      if (!b.prefix) return false;
    } else {
      // Same name, so the same node: " COUNT" sorts before ";".
      return a.own && !b.own;
    }
    const int c = compare_strings(a, b);
    if (c != 0) return c < 0;
    return a.node < b.node;
  }

 private:
  std::string_view name(const Run& r) const {
    return r.node == StackTrie::kRoot ? std::string_view{} : trie_.frames().name(trie_.frame_of(r.node));
  }

  std::string tail(const Run& r) const {
    if (!r.own) return ";";
    const auto n = trie_.node(r.node);
    std::string s = " ";
    if (n.has_base) {
      s += format_count(n.base);
      s += ' ';
    }
    s += format_count(n.self);
    return s;
  }

  // NAME+tail of a against that of b, bytes unsigned, without building them.
  int compare_strings(const Run& a, const Run& b) const {
    const std::string_view an = name(a);
    const std::string_view bn = name(b);
    const std::size_t common = std::min(an.size(), bn.size());
    const int c = an.substr(0, common).compare(bn.substr(0, common));
    if (c != 0) return c;
    const std::string at = tail(a);
    const std::string bt = tail(b);
    const std::size_t la = an.size() + at.size();
    const std::size_t lb = bn.size() + bt.size();
    auto byte = [](std::string_view n, const std::string& t, std::size_t i) {
      return static_cast<unsigned char>(i < n.size() ? n[i] : t[i - n.size()]);
    };
    for (std::size_t i = common; i < la && i < lb; ++i) {
      const unsigned char x = byte(an, at, i);
      const unsigned char y = byte(bn, bt, i);
      if (x != y) return x < y ? -1 : 1;
    }
    return la < lb ? -1 : la > lb ? 1 : 0;
  }

  const StackTrie& trie_;
  std::vector<std::uint32_t> rank_;
  std::vector<std::uint8_t> prefix_;
};

// Appends the runs of `parent`'s children to `runs`.
void children_runs(const StackTrie& t, const RunOrder& order, NodeId parent, std::vector<Run>& runs) {
  for (NodeId c = t.first_child_of(parent); c != StackTrie::kNoNode; c = t.next_sibling_of(c)) {
    if (t.is_terminal(c)) runs.push_back(order.run(c, true));
    if (t.first_child_of(c) != StackTrie::kNoNode) runs.push_back(order.run(c, false));
  }
}

// The sorted walk. `descend(node, path)` is asked before a node's descendants are
// visited (`path` ends with the node); false skips them.
template <typename Own, typename Descend>
void walk_sorted(const StackTrie& trie, Own&& own, Descend&& descend) {
  const RunOrder order(trie);
  const auto less = [&order](const Run& a, const Run& b) { return order.less(a, b); };
  // runs[levels[i].begin ..) are level i's runs (up to the next level's begin).
  struct Level {
    std::size_t begin;
    std::size_t next;
  };
  std::vector<Run> runs;
  std::vector<Level> levels;
  std::vector<FrameId> path;
  children_runs(trie, order, StackTrie::kRoot, runs);
  if (trie.is_terminal(StackTrie::kRoot)) runs.push_back(order.run(StackTrie::kRoot, true));
  std::sort(runs.begin(), runs.end(), less);
  levels.push_back(Level{0, 0});
  while (!levels.empty()) {
    Level& level = levels.back();
    if (level.next == runs.size()) {
      runs.resize(level.begin);
      levels.pop_back();
      if (!levels.empty()) path.pop_back();
      continue;
    }
    const Run run = runs[level.next++];
    if (run.own) {
      if (run.node == StackTrie::kRoot) {
        own(run.node, path);
      } else {
        path.push_back(trie.frame_of(run.node));
        own(run.node, path);
        path.pop_back();
      }
      continue;
    }
    path.push_back(trie.frame_of(run.node));
    if (!descend(run.node, std::span<const FrameId>(path))) {
      path.pop_back();
      continue;
    }
    const std::size_t begin = runs.size();
    children_runs(trie, order, run.node, runs);
    std::sort(runs.begin() + static_cast<std::ptrdiff_t>(begin), runs.end(), less);
    levels.push_back(Level{begin, begin});  // invalidates `level`
  }
}

// Per node, the samples of the stacks below it (not its own), filled by one sweep from
// the last node up (every node's parent was added before it). In huge-page blocks, as
// the trie's nodes: one fault per 2 MB (a big graph has millions of nodes).
class DescendantCounts {
 public:
  explicit DescendantCounts(const StackTrie& trie) {
    const std::size_t n = trie.size();
    for (std::size_t i = 0; i < n; i += kPerBlock) blocks_.emplace_back();
    for (NodeId id = static_cast<NodeId>(n); id-- > 1;) {
      const StackTrie::Node node = trie.node(id);
      at(node.parent) += at(id) + node.self;  // fresh mappings read as 0
    }
  }
  double operator[](NodeId id) const { return at(id); }

 private:
  static constexpr unsigned kBits = 18;  // 2 MB of doubles
  static constexpr std::size_t kPerBlock = std::size_t{1} << kBits;
  static_assert(kPerBlock * sizeof(double) == HugeBlock::kSize);
  double& at(NodeId id) const {  // the blocks' memory is not the object's
    return static_cast<double*>(blocks_[id >> kBits].data())[id & (kPerBlock - 1)];
  }
  std::vector<HugeBlock> blocks_;
};

}  // namespace

void visit_sorted(const StackTrie& trie,
                  const std::function<void(NodeId, std::span<const FrameId>)>& fn) {
  walk_sorted(trie, fn, [](NodeId, std::span<const FrameId>) { return true; });
}

void visit_sorted_coarse(const StackTrie& trie, double min_count,
                         const std::function<void(std::span<const FrameId>, double)>& fn) {
  const DescendantCounts below(trie);
  walk_sorted(
      trie, [&](NodeId id, std::span<const FrameId> path) { fn(path, trie.node(id).self); },
      [&](NodeId id, std::span<const FrameId> path) {
        if (below[id] >= min_count) return true;
        fn(path, below[id]);
        return false;
      });
}

}  // namespace kperf::fg

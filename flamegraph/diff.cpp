// diff_tries: walks both tries, adding every stack of A as (count, 0) and of B as (0,
// count) into one differential trie, then applies -n like difffolded.pl (A's per-stack
// counts scaled by totalB/totalA and truncated to integers).
#include "flamegraph/diff.hpp"

#include <vector>

namespace kperf::fg {

namespace {

void add_all(const StackTrie& src, StackTrie& dst, bool as_after) {
  std::vector<NodeId> mapped(src.size(), StackTrie::kNoNode);
  mapped[StackTrie::kRoot] = StackTrie::kRoot;
  // Nodes are created parent-first, so one pass in id order finds every parent mapped.
  for (NodeId id = 0; id < src.size(); ++id) {
    const auto& n = src.node(id);
    if (id != StackTrie::kRoot) {
      const FrameId f = dst.frames().intern(src.frames().name(n.frame));
      mapped[id] = dst.child(mapped[n.parent], f);
    }
    if (n.terminal) {
      if (as_after) {
        dst.record(mapped[id], n.self, 0, true);
      } else {
        dst.record(mapped[id], 0, n.self, true);
      }
    }
  }
}

}  // namespace

StackTrie diff_tries(const StackTrie& before, const StackTrie& after, const DiffOptions& opts,
                     bool record_order) {
  StackTrie out(record_order);
  out.set_differential(true);
  add_all(before, out, false);
  add_all(after, out, true);
  if (opts.normalize && before.total() != after.total() && before.total() > 0) {
    out.scale_base(after.total(), before.total());
  }
  return out;
}

}  // namespace kperf::fg

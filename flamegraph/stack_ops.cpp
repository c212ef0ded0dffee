// merge_stacks (stack_ops.hpp).
#include "flamegraph/stack_ops.hpp"

namespace kperf::fg {

void merge_stacks(const StackTrie& from, StackTrie& to) {
  std::vector<FrameId> path;
  std::vector<FrameId> mapped;
  std::vector<FrameId> ids(from.frames().size(), FrameTable::kNone);
  for (NodeId n = 0; n < from.size(); ++n) {
    const auto& node = from.node(n);
    if (!node.terminal || n == StackTrie::kRoot) continue;
    path.clear();
    from.path(n, path);
    mapped.clear();
    for (FrameId f : path) {
      if (ids[f] == FrameTable::kNone) ids[f] = to.frames().intern(from.frames().name(f));
      mapped.push_back(ids[f]);
    }
    if (node.has_base) {
      to.add_diff(mapped, node.base, node.self);
    } else {
      to.add(mapped, node.self);
    }
  }
}

}  // namespace kperf::fg

// The order flamegraph.pl lays stacks out in: it sorts its input lines as strings and
// merges adjacent frames. visit_sorted() walks a StackTrie in exactly the order those
// sorted lines would come, so the layout matches flamegraph.pl box for box.
#pragma once

#include <functional>
#include <span>

#include "flamegraph/trie.hpp"

namespace kperf::fg {

// Calls `fn(node, path)` for every terminal node (a stack that was added), where
// `path` holds its frames outermost first; in the order of sorted folded lines.
void visit_sorted(const StackTrie& trie,
                  const std::function<void(NodeId, std::span<const FrameId>)>& fn);

// The same order for a layout that draws no box narrower than `min_count` samples:
// calls `fn(path, count)` per stack, except that a node whose descendants hold fewer
// than `min_count` samples in all comes with them as one stack ending at the node (none
// of their boxes could be drawn, and the boxes that can keep their places and widths).
// Differential tries need every stack (their largest delta counts them all): use
// visit_sorted.
void visit_sorted_coarse(const StackTrie& trie, double min_count,
                         const std::function<void(std::span<const FrameId>, double)>& fn);

}  // namespace kperf::fg

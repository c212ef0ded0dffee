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

}  // namespace kperf::fg

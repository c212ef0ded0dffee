// Operations over all the stacks of a trie: merging one trie into another, and visiting
// every stack with its frame names (for analyses that look at whole stacks).
#pragma once

#include <string_view>
#include <vector>

#include "flamegraph/trie.hpp"

namespace kperf::fg {

// Adds every stack of `from` (with its count, both counts of a differential one) to `to`.
void merge_stacks(const StackTrie& from, StackTrie& to);

// Calls fn(frames, node) for every stack of the trie that has samples of its own, its
// frames root first.
template <class Fn>
void for_each_stack(const StackTrie& trie, Fn fn) {
  std::vector<FrameId> ids;
  std::vector<std::string_view> frames;
  for (NodeId id = 1; id < trie.size(); ++id) {
    const auto& n = trie.node(id);
    if (!n.terminal) continue;
    trie.path(id, ids);
    frames.clear();
    for (auto f : ids) frames.push_back(trie.frames().name(f));
    fn(frames, n);
  }
}

}  // namespace kperf::fg

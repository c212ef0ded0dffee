// Snapshots of a growing stack trie and the scope that shows one window of it.
#include "kperf/agent/trie_window.hpp"

namespace kperf::agent {

TrieSnapshot::TrieSnapshot(const fg::StackTrie& trie, std::span<const prof::ThreadSamples> threads)
    : counts_(trie.size()), total_(trie.total()) {
  for (fg::NodeId id = 0; id < counts_.size(); ++id) counts_[id] = trie.node(id).self;
  threads_.reserve(threads.size());
  for (const auto& t : threads) threads_[Key{t.leaf, t.pid, t.tid}] += t.count;
}

std::vector<prof::ThreadSamples> TrieSnapshot::threads_since(std::span<const prof::ThreadSamples> now) const {
  std::vector<prof::ThreadSamples> out;
  for (const auto& t : now) {
    const auto it = threads_.find(Key{t.leaf, t.pid, t.tid});
    const std::uint64_t before = it == threads_.end() ? 0 : it->second;
    if (t.count > before) out.push_back(prof::ThreadSamples{t.leaf, t.pid, t.tid, t.count - before});
  }
  return out;
}

WindowScope::WindowScope(fg::StackTrie& trie, const TrieSnapshot& since) : trie_(trie), since_(since) {
  const auto& c = since_.counts();
  for (fg::NodeId id = 0; id < c.size(); ++id) {
    if (c[id] != 0) trie_.record(id, -c[id], 0, false);
  }
}

WindowScope::~WindowScope() {
  const auto& c = since_.counts();
  for (fg::NodeId id = 0; id < c.size(); ++id) {
    if (c[id] != 0) trie_.record(id, c[id], 0, false);
  }
}

}  // namespace kperf::agent

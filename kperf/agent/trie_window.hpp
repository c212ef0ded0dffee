// One time window of a recording that keeps growing: the counts at the window's start
// (a snapshot of the trie's per-node counts and of the recorder's per-thread counts), and
// a scope in which the trie holds only what was added since — the counts of the window —
// so that the pprof export, given the per-thread counts added since, sees just that
// window. `kperf agent` serves overlapping scrapes from one running recording this way.
#pragma once

#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "flamegraph/trie.hpp"
#include "profiler/recorder.hpp"

namespace kperf::agent {

// The per-node counts of a trie at one moment. Nodes are only ever appended and counts
// only grow, so "now minus snapshot" is what was added since.
class TrieSnapshot {
 public:
  TrieSnapshot() = default;
  TrieSnapshot(const fg::StackTrie& trie, std::span<const prof::ThreadSamples> threads);
  double total() const { return total_; }
  const std::vector<double>& counts() const { return counts_; }
  // The per-thread counts added since the snapshot (`now`: the recorder's counts now);
  // only entries that grew.
  std::vector<prof::ThreadSamples> threads_since(std::span<const prof::ThreadSamples> now) const;

 private:
  struct Key {
    fg::NodeId leaf;
    pid_t pid, tid;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    std::size_t operator()(const Key& k) const {
      return std::hash<std::uint64_t>{}((std::uint64_t{k.leaf} << 32 | static_cast<std::uint32_t>(k.tid)) ^
                                        (static_cast<std::uint64_t>(static_cast<std::uint32_t>(k.pid)) *
                                         0x9e3779b97f4a7c15ULL));
    }
  };
  std::vector<double> counts_;  // self count per node id at the snapshot
  double total_ = 0;
  std::unordered_map<Key, std::uint64_t, KeyHash> threads_;
};

// While alive, `trie` holds the counts added since `since` (the older counts are taken
// out); the destructor puts them back. Counts are whole sample numbers, so taking out
// and putting back is exact. Nodes with nothing in the window keep a zero count.
class WindowScope {
 public:
  WindowScope(fg::StackTrie& trie, const TrieSnapshot& since);
  ~WindowScope();
  WindowScope(const WindowScope&) = delete;
  WindowScope& operator=(const WindowScope&) = delete;

 private:
  fg::StackTrie& trie_;
  const TrieSnapshot& since_;
};

}  // namespace kperf::agent

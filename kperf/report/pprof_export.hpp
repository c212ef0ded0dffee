// The pprof export of one recording: a gzipped pprof Profile (profile.proto) with the
// samples of a Recorder, labelled with pid, tid, process, and the plugin and phase the
// stack ran in (kperf's plugin analysis). Written by `record --format pprof`, as
// profile.pb.gz by `profile` and `attach`, and served by `kperf agent`.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "flamegraph/pprof.hpp"
#include "flamegraph/trie.hpp"
#include "profiler/recorder.hpp"

namespace kperf {

struct PprofMeta {
  int frequency_hz = 99;               // -F: the period of cpu/nanoseconds is 1e9 / F
  std::int64_t start_unix_ns = 0;      // when sampling started (Profile.time_nanos)
  double seconds = 0;                  // how long it sampled (Profile.duration_nanos)
  std::vector<std::string> comments;   // Profile.comment lines (target restarts, lost samples...)
};

// The recording `rec` (after run() returned `summary`) as gzipped pprof bytes.
std::string recording_pprof_gz(const prof::Recorder& rec, const prof::RecordSummary& summary,
                               const PprofMeta& meta);

// What a pprof export needs besides a trie: per-thread counts of its stacks and where
// its native frames come from. Kept by `kperf profile` / `attach` across runs.
struct PprofStacks {
  std::vector<prof::ThreadSamples> threads;  // leaf nodes of the trie they go with
  std::vector<fg::FrameOrigin> origins;      // by FrameId of that trie
};

// Adds a recording's per-thread counts and frame origins to `into`, whose trie `to`
// already holds the recording's stacks (merge_stacks(from, to) ran before): leaves and
// frames are looked up in `to` by their names.
void merge_pprof_stacks(const fg::StackTrie& from, std::span<const prof::ThreadSamples> threads,
                        std::span<const fg::FrameOrigin> origins, const fg::StackTrie& to, PprofStacks& into);

// `trie` with its per-thread counts and origins as gzipped pprof bytes. Labels per
// sample: pid, tid (numbers), process (the root frame's process name), plugin (when the
// stack runs a plugin's code) and phase (plugin_analysis.hpp's attribution rules).
std::string stacks_pprof_gz(const fg::StackTrie& trie, std::span<const prof::ThreadSamples> threads,
                            std::span<const fg::FrameOrigin> origins, const PprofMeta& meta);

}  // namespace kperf

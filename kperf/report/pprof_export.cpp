// Recorder / profile run -> labelled pprof samples -> fg::encode_pprof_gz.
#include "kperf/report/pprof_export.hpp"

#include <cmath>
#include <string_view>
#include <unordered_map>

#include <fmt/core.h>

#include "kperf/report/plugin_analysis.hpp"

namespace kperf {

namespace {

// The process name in a root frame: `nginx`, or `nginx-PID` / `nginx-PID/TID`
// (--per-pid / --per-tid) without the suffix.
std::string_view process_name(std::string_view root, pid_t pid, pid_t tid) {
  for (const std::string& suffix : {fmt::format("-{}/{}", pid, tid), fmt::format("-{}", pid)}) {
    if (root.size() > suffix.size() && root.ends_with(suffix)) return root.substr(0, root.size() - suffix.size());
  }
  return root;
}

std::int64_t period_ns(int frequency_hz) {
  return frequency_hz > 0 ? std::llround(1e9 / frequency_hz) : 1;
}

}  // namespace

void merge_pprof_stacks(const fg::StackTrie& from, std::span<const prof::ThreadSamples> threads,
                        std::span<const fg::FrameOrigin> origins, const fg::StackTrie& to, PprofStacks& into) {
  constexpr fg::FrameId kNone = fg::FrameTable::kNone;
  std::vector<fg::FrameId> ids(from.frames().size(), kNone);  // from's FrameId -> to's
  const auto map_frame = [&](fg::FrameId f) {
    if (ids[f] == kNone) ids[f] = to.frames().find(from.frames().name(f));
    return ids[f];
  };
  for (fg::FrameId f = 0; f < origins.size() && f < ids.size(); ++f) {
    if (!origins[f].known()) continue;
    const fg::FrameId g = map_frame(f);
    if (g == kNone) continue;
    if (g >= into.origins.size()) into.origins.resize(g + 1);
    if (!into.origins[g].known()) into.origins[g] = origins[f];
  }
  std::unordered_map<fg::NodeId, fg::NodeId> leaves;  // from's leaf -> to's
  std::vector<fg::FrameId> path;
  for (const auto& t : threads) {
    auto [it, fresh] = leaves.try_emplace(t.leaf, fg::StackTrie::kNoNode);
    if (fresh && t.leaf != fg::StackTrie::kRoot && t.leaf < from.size()) {
      from.path(t.leaf, path);
      fg::NodeId n = fg::StackTrie::kRoot;
      for (fg::FrameId f : path) {
        const fg::FrameId g = map_frame(f);
        n = g == kNone ? fg::StackTrie::kNoNode : to.find_child(n, g);
        if (n == fg::StackTrie::kNoNode) break;
      }
      it->second = n;
    }
    if (it->second == fg::StackTrie::kNoNode) continue;  // not merged: its count stays unlabelled
    into.threads.push_back(prof::ThreadSamples{it->second, t.pid, t.tid, t.count});
  }
}

std::string stacks_pprof_gz(const fg::StackTrie& trie, std::span<const prof::ThreadSamples> threads,
                            std::span<const fg::FrameOrigin> origins, const PprofMeta& meta) {
  std::unordered_map<fg::NodeId, Attribution> attributions;  // per leaf
  std::vector<fg::FrameId> path;
  std::vector<std::string_view> names;
  std::vector<fg::PprofSample> samples;
  samples.reserve(threads.size());
  for (const auto& t : threads) {
    if (t.leaf == fg::StackTrie::kRoot || t.leaf >= trie.size() || t.count == 0) continue;
    trie.path(t.leaf, path);
    auto [it, fresh] = attributions.try_emplace(t.leaf);
    if (fresh) {
      names.clear();
      for (fg::FrameId f : path) names.push_back(trie.frames().name(f));
      it->second = attribute(names);
    }
    fg::PprofSample s;
    s.leaf = t.leaf;
    s.count = static_cast<std::int64_t>(t.count);
    s.labels.push_back({"pid", {}, t.pid, true});
    s.labels.push_back({"tid", {}, t.tid, true});
    s.labels.push_back({"process", std::string(process_name(trie.frames().name(path.front()), t.pid, t.tid)), 0, false});
    if (!it->second.plugin.empty()) s.labels.push_back({"plugin", it->second.plugin, 0, false});
    s.labels.push_back({"phase", std::string(phase_name(it->second.phase)), 0, false});
    samples.push_back(std::move(s));
  }
  fg::PprofOptions opts;
  opts.period_ns = period_ns(meta.frequency_hz);
  opts.time_nanos = meta.start_unix_ns;
  opts.duration_nanos = meta.seconds > 0 ? std::llround(meta.seconds * 1e9) : 0;
  opts.comments = meta.comments;
  return fg::encode_pprof_gz(trie, samples, origins, opts);
}

std::string recording_pprof_gz(const prof::Recorder& rec, const prof::RecordSummary& summary,
                               const PprofMeta& meta) {
  PprofMeta m = meta;
  if (m.seconds <= 0) m.seconds = summary.seconds;
  const auto threads = rec.thread_samples();
  return stacks_pprof_gz(rec.trie(), threads, rec.frame_origins(), m);
}

}  // namespace kperf

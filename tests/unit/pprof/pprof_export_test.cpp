// kperf's pprof export: per-thread counts become pid/tid/process labels, the plugin
// analysis gives plugin and phase labels, and per-run counts and origins survive the
// merge of runs into the combined trie.
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "flamegraph/stack_ops.hpp"
#include "kperf/report/pprof_export.hpp"
#include "kperf/run/profile_run.hpp"
#include "tests/support/pprof_reader.hpp"

namespace fg = kperf::fg;
using kperf::test::PprofProfile;

namespace {

fg::NodeId add(fg::StackTrie& t, const std::vector<std::string_view>& frames, double count) {
  return t.add(std::span<const std::string_view>(frames), count);
}

constexpr std::string_view kKongAccess = "access /usr/local/share/lua/5.1/kong/init.lua:1000";
constexpr std::string_view kKeyAuth = "access /usr/local/share/lua/5.1/kong/plugins/key-auth/handler.lua:42";

}  // namespace

TEST(PprofExport, LabelsPerThreadPluginAndPhase) {
  fg::StackTrie t;
  const auto plugin_leaf = add(t, {"nginx-10", "ngx_worker_process_cycle", kKongAccess, kKeyAuth}, 3);
  const auto idle_leaf = add(t, {"nginx-10", "ngx_worker_process_cycle", "epoll_wait_[k]"}, 5);
  const std::vector<kperf::prof::ThreadSamples> threads = {
      {plugin_leaf, 10, 10, 2}, {plugin_leaf, 10, 12, 1}, {idle_leaf, 10, 10, 5}};
  kperf::PprofMeta meta;
  meta.frequency_hz = 100;
  meta.seconds = 1.5;
  meta.comments = {"a comment"};
  const PprofProfile p = kperf::test::read_pprof_gz(kperf::stacks_pprof_gz(t, threads, {}, meta));
  EXPECT_EQ(p.period, 10'000'000);
  EXPECT_EQ(p.duration_nanos, 1'500'000'000);
  ASSERT_EQ(p.comments.size(), 1u);
  EXPECT_EQ(p.str(p.comments[0]), "a comment");
  EXPECT_EQ(p.total(0), 8);
  ASSERT_EQ(p.samples.size(), 3u);
  std::map<std::int64_t, std::int64_t> by_tid;
  for (const auto& s : p.samples) {
    EXPECT_EQ(p.label_num(s, "pid"), 10);
    EXPECT_EQ(p.label_str(s, "process"), "nginx");  // the --per-pid suffix dropped
    by_tid[p.label_num(s, "tid")] += s.values[0];
    const std::string leaf = p.str(p.function(p.location(s.location_ids[0]).lines[0].function_id).name);
    if (leaf == kKeyAuth) {
      EXPECT_EQ(p.label_str(s, "plugin"), "key-auth");
      EXPECT_EQ(p.label_str(s, "phase"), "access");
    } else {
      EXPECT_EQ(leaf, "epoll_wait_[k]");
      EXPECT_EQ(p.label_str(s, "plugin"), "");  // no plugin: no label
      EXPECT_EQ(p.label_str(s, "phase"), "other");
    }
  }
  EXPECT_EQ(by_tid, (std::map<std::int64_t, std::int64_t>{{10, 7}, {12, 1}}));
}

TEST(PprofExport, ProcessNameFromPerTidRoot) {
  fg::StackTrie t;
  const auto leaf = add(t, {"luajit-7/9", "main"}, 1);
  const std::vector<kperf::prof::ThreadSamples> threads = {{leaf, 7, 9, 1}};
  const PprofProfile p = kperf::test::read_pprof_gz(kperf::stacks_pprof_gz(t, threads, {}, {}));
  ASSERT_EQ(p.samples.size(), 1u);
  EXPECT_EQ(p.label_str(p.samples[0], "process"), "luajit");
  EXPECT_EQ(p.label_num(p.samples[0], "tid"), 9);
}

TEST(PprofExport, MergeKeepsCountsAndOriginsAcrossRuns) {
  // Two "runs" with their own frame ids, merged into one combined trie as run_profile does.
  fg::StackTrie run1, run2, combined;
  const auto a = add(run1, {"nginx", "main", "work"}, 2);
  add(run2, {"nginx", "other"}, 1);  // different ids in run 2
  const auto b = add(run2, {"nginx", "main", "work"}, 3);
  std::vector<fg::FrameOrigin> o1(run1.frames().size()), o2(run2.frames().size());
  o1[run1.frames().find("work")] = fg::FrameOrigin{0x1000, "/bin/x", "bid", 0x1000, 0x2000, 0, false};
  o2[run2.frames().find("main")] = fg::FrameOrigin{0x1800, "/bin/x", "bid", 0x1000, 0x2000, 0, false};
  kperf::PprofStacks stacks;
  kperf::fg::merge_stacks(run1, combined);
  kperf::merge_pprof_stacks(run1, std::vector<kperf::prof::ThreadSamples>{{a, 1, 1, 2}}, o1, combined, stacks);
  kperf::fg::merge_stacks(run2, combined);
  kperf::merge_pprof_stacks(run2, std::vector<kperf::prof::ThreadSamples>{{b, 2, 2, 3}}, o2, combined, stacks);

  ASSERT_EQ(stacks.threads.size(), 2u);
  EXPECT_EQ(stacks.threads[0].leaf, stacks.threads[1].leaf);  // the same stack in combined
  const PprofProfile p = kperf::test::read_pprof_gz(kperf::stacks_pprof_gz(combined, stacks.threads, stacks.origins, {}));
  EXPECT_EQ(p.total(0), 6);
  std::int64_t labelled = 0;
  for (const auto& s : p.samples) {
    if (p.label_num(s, "pid") == 1) {
      EXPECT_EQ(s.values[0], 2);
    }
    if (p.label_num(s, "pid") == 2) {
      EXPECT_EQ(s.values[0], 3);
    }
    if (p.label_num(s, "pid") > 0) labelled += s.values[0];
  }
  EXPECT_EQ(labelled, 5);  // "nginx;other" has no thread counts: unlabelled
  std::map<std::string, std::uint64_t> addr;
  for (const auto& l : p.locations) addr[p.str(p.function(l.lines[0].function_id).name)] = l.address;
  EXPECT_EQ(addr["work"], 0x1000u);
  EXPECT_EQ(addr["main"], 0x1800u);
  EXPECT_EQ(addr["nginx"], 0u);
}

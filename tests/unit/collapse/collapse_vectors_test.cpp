// kperf collapse vs stackcollapse-perf.pl's recorded results: every vector in every
// mode (pid, tid, kernel, jit, all, addrs; the default mode derived from pid).
#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "flamegraph/collapse_perf.hpp"
#include "folded_expect.hpp"

namespace {

const std::string kDir = KPERF_SHARED_DIR "/testdata/stackcollapse-perf";

const std::vector<std::string> kVectors = {
    "perf-cycles-instructions-01", "perf-dd-stacks-01",  "perf-funcab-cmd-01",
    "perf-funcab-pid-01",          "perf-iperf-stacks-pidtid-01", "perf-java-faults-01",
    "perf-js-stacks-01",
};
const std::vector<std::string> kModes = {"default", "pid", "tid", "kernel", "jit", "all", "addrs"};

kperf::fg::CollapseOptions options_for(const std::string& mode) {
  kperf::fg::CollapseOptions o;
  if (mode == "pid") o.pid = true;
  if (mode == "tid") o.tid = true;
  if (mode == "kernel") o.kernel = true;
  if (mode == "jit") o.jit = true;
  if (mode == "all") o.set_all();
  if (mode == "addrs") o.addrs = true;
  return o;
}

std::string expected_for(const std::string& vector, const std::string& mode) {
  const std::string recorded = kDir + "/results/" + vector + "-collapsed-";
  if (mode == "default") {
    return kperf::test::default_from_pid(
        kperf::test::apply_current_java_rule(kperf::test::read_file(recorded + "pid.txt")));
  }
  return kperf::test::apply_current_java_rule(kperf::test::read_file(recorded + mode + ".txt"));
}

class CollapseVector : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {};

TEST_P(CollapseVector, MatchesStackcollapsePerl) {
  const std::string vector = std::get<0>(GetParam());
  const std::string mode = std::get<1>(GetParam());
  const std::string expected = expected_for(vector, mode);
  ASSERT_FALSE(expected.empty());
  std::istringstream in(kperf::test::read_file(kDir + "/" + vector + ".txt"));
  std::ostringstream out;
  const auto stats = kperf::fg::collapse_perf_script(in, out, options_for(mode));
  EXPECT_EQ(out.str(), expected);
  EXPECT_GT(stats.samples, 0u);
  EXPECT_EQ(stats.distinct_stacks,
            static_cast<uint64_t>(std::count(expected.begin(), expected.end(), '\n')));
}

INSTANTIATE_TEST_SUITE_P(
    Vectors, CollapseVector, ::testing::Combine(::testing::ValuesIn(kVectors), ::testing::ValuesIn(kModes)),
    [](const auto& info) {
      std::string name = std::get<0>(info.param) + "_" + std::get<1>(info.param);
      for (char& c : name) {
        if (c == '-') c = '_';
      }
      return name;
    });

// The recorded java --pid result still has the pre-e54f142 Java tidying; check that
// the derivation above really changes it, so the adjustment is not silently a no-op.
TEST(CollapseVectorData, JavaPidResultPredatesCurrentJavaRule) {
  const std::string recorded =
      kperf::test::read_file(kDir + "/results/perf-java-faults-01-collapsed-pid.txt");
  EXPECT_NE(kperf::test::apply_current_java_rule(recorded), kperf::test::merge_and_sort(recorded));
  EXPECT_NE(recorded.find(";Ljava/lang/Thread:::run;"), std::string::npos);
  EXPECT_NE(kperf::test::apply_current_java_rule(recorded).find(";java/lang/Thread:::run;"),
            std::string::npos);
}

// The other recorded results are already merged and sorted: the helpers keep them.
TEST(CollapseVectorData, RecordedResultsAreSortedAndMerged) {
  for (const std::string& v : kVectors) {
    for (const char* m : {"tid", "kernel", "addrs"}) {
      const std::string recorded = kperf::test::read_file(kDir + "/results/" + v + "-collapsed-" + m + ".txt");
      EXPECT_EQ(kperf::test::merge_and_sort(recorded), recorded) << v << " " << m;
    }
  }
}

}  // namespace

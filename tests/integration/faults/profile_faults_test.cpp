// Fault tests of `kperf profile` on the lab gateway (real nginx + lua module, real BPF):
// SIGINT and SIGTERM at each phase (gateway starting, warm-up, mid-run, between runs,
// writing outputs), hit exactly by letting kperf stop itself at the phase's progress line
// (KPERF_STOP_AT) before it is signalled; and the lab's upstream going down mid-load.
// Each ends with a consistent report and nothing left: no nginx of the run, no temporary
// folder, no BPF program or link of kperf.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/integration/faults/fault_helpers.hpp"

namespace {

using namespace fault_test;
using json = nlohmann::json;
using profile_test::processes_using;
using profile_test::TempDir;

enum class Phase { Starting, Warmup, MidRun, BetweenRuns, Writing };

struct Case {
  Phase phase;
  int signal;
};

std::string phase_name(Phase p) {
  switch (p) {
    case Phase::Starting: return "GatewayStarting";
    case Phase::Warmup: return "Warmup";
    case Phase::MidRun: return "MidRun";
    case Phase::BetweenRuns: return "BetweenRuns";
    case Phase::Writing: return "WritingOutputs";
  }
  return "?";
}

// The progress line kperf stops at for each phase (see kperf/run/progress.*, run/profile_run.cpp,
// cli/cmd_profile.cpp, run/profile_outputs.cpp).
std::string stop_text(Phase p) {
  switch (p) {
    case Phase::Starting: return "lab gateway starting...";
    case Phase::Warmup: return "warmup: ";
    case Phase::MidRun: return "run 1/2: ";       // the run's first line; signalled 1.5 s later
    case Phase::BetweenRuns: return " samples (";  // run 1's closing line
    case Phase::Writing: return "writing outputs to ";
  }
  return "";
}

class ProfileSignal : public ::testing::TestWithParam<Case> {};

TEST_P(ProfileSignal, ExitsWithTheSignalAConsistentReportAndNothingLeft) {
  REQUIRE_ROOT();
  const Case c = GetParam();
  TempDir t;
  const fs::path tmp = t.path / "tmp";
  const fs::path out = t.path / "out";
  fs::create_directories(tmp);
  const bool mid_run = c.phase == Phase::MidRun;
  std::vector<std::string> args{"profile", "--runs", "2", "--duration", mid_run ? "20s" : "2s", "-F", "99",
                                "-c", "4", "-t", "1", "--out", out.string()};
  if (c.phase == Phase::Warmup) {
    args.insert(args.end(), {"--warmup", "20s"});
  } else if (c.phase == Phase::Starting) {
    args.insert(args.end(), {"--warmup", "1s"});
  }
  if (c.phase == Phase::Writing) args[2] = "1";  // one run, then the outputs
  KperfChild k(args, t.path, {{"TMPDIR", tmp.string()}, {"KPERF_STOP_AT", stop_text(c.phase)}});
  ASSERT_TRUE(k.wait_stopped(60)) << "kperf did not reach the phase: " << k.err();

  // What the run holds now: its nginx processes and BPF programs / links.
  const std::vector<pid_t> lab_pids = processes_using(tmp);
  std::pair<std::set<int>, std::set<int>> bpf = bpf_ids_of(k.pid());
  if (mid_run) {
    ASSERT_EQ(::kill(k.pid(), SIGCONT), 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // load and sampling under way (20 s run)
    bpf = bpf_ids_of(k.pid());
    EXPECT_FALSE(bpf.first.empty()) << "mid-run kperf holds its sampler program";
    ASSERT_EQ(::kill(k.pid(), c.signal), 0);
  } else {
    ASSERT_EQ(::kill(k.pid(), c.signal), 0);  // pending until it continues: lands in the phase
    ASSERT_EQ(::kill(k.pid(), SIGCONT), 0);
  }
  if (c.phase != Phase::Starting) EXPECT_GE(lab_pids.size(), 4u) << "kperf, 2 nginx masters and their workers";

  const auto signalled = Clock::now();
  EXPECT_EQ(k.wait(60), 128 + c.signal) << k.err();
  EXPECT_LT(Clock::now() - signalled, std::chrono::seconds(30)) << "stopped promptly, not at the plan's end";
  // The last line says whether the report is partial (the runs were cut short) or complete.
  EXPECT_NE(k.err().find(c.phase == Phase::Writing ? "complete report in " : "interrupted: partial report in "),
            std::string::npos)
      << k.err();

  const json s = expect_consistent_report(out);
  ASSERT_TRUE(s.is_object());
  EXPECT_EQ(s["runs_planned"], c.phase == Phase::Writing ? 1 : 2);
  switch (c.phase) {
    case Phase::Starting:
    case Phase::Warmup:
      EXPECT_EQ(s["interrupted"], true);
      EXPECT_EQ(s["runs_completed"], 0);
      EXPECT_EQ(s["runs"].size(), 0u) << "no run starts after the signal";
      EXPECT_FALSE(fs::exists(out / "run-1.folded"));
      break;
    case Phase::MidRun:
      EXPECT_EQ(s["interrupted"], true);
      EXPECT_EQ(s["runs_completed"], 0);
      ASSERT_EQ(s["runs"].size(), 1u);
      EXPECT_EQ(s["runs"][0]["interrupted"], true);
      EXPECT_LT(s["runs"][0]["load"]["runtime_s"].get<double>(), 20.0);
      EXPECT_GT(s["runs"][0]["load"]["requests"].get<uint64_t>(), 0u);
      EXPECT_TRUE(fs::exists(out / "run-1.folded"));
      break;
    case Phase::BetweenRuns:
      // The signal lands as run 1 ends: run 2 never starts, or starts already stopped.
      EXPECT_EQ(s["interrupted"], true);
      EXPECT_EQ(s["runs_completed"], 1);
      ASSERT_GE(s["runs"].size(), 1u);
      EXPECT_EQ(s["runs"][0]["interrupted"], false);
      if (s["runs"].size() == 2) EXPECT_EQ(s["runs"][1]["interrupted"], true);
      EXPECT_LE(s["runs"].size(), 2u);
      EXPECT_TRUE(fs::exists(out / "run-1.folded"));
      break;
    case Phase::Writing:
      // Every run was measured: the report is complete, only the exit status says stopped.
      EXPECT_EQ(s["runs_completed"], 1);
      EXPECT_EQ(s["interrupted"], false);
      EXPECT_TRUE(fs::exists(out / "flamegraph.svg"));
      EXPECT_TRUE(fs::exists(out / "report.md"));
      break;
  }

  EXPECT_TRUE(still_alive(lab_pids).empty()) << "a process of the run outlived kperf";
  EXPECT_TRUE(processes_using(tmp).empty());
  EXPECT_TRUE(kperf_temp_entries(tmp).empty()) << "temporary folder left in " << tmp;
  expect_bpf_released(bpf, t.path);
}

std::vector<Case> all_cases() {
  std::vector<Case> v;
  for (Phase p : {Phase::Starting, Phase::Warmup, Phase::MidRun, Phase::BetweenRuns, Phase::Writing}) {
    for (int sig : {SIGINT, SIGTERM}) v.push_back({p, sig});
  }
  return v;
}

INSTANTIATE_TEST_SUITE_P(Phases, ProfileSignal, ::testing::ValuesIn(all_cases()),
                         [](const ::testing::TestParamInfo<Case>& i) {
                           return phase_name(i.param.phase) + (i.param.signal == SIGINT ? "Sigint" : "Sigterm");
                         });

// The lab's upstream (an nginx kperf started) stops in the middle of a run: the gateway
// answers 502 / the connections fail, the errors are counted in the report, the report is
// written, and the status is 0 (errors are results, not failures of kperf).
TEST(ProfileFaults, UpstreamGoingDownMidLoadIsCountedAndReported) {
  REQUIRE_ROOT();
  TempDir t;
  const fs::path tmp = t.path / "tmp";
  const fs::path out = t.path / "out";
  fs::create_directories(tmp);
  KperfChild k({"profile", "--runs", "1", "--duration", "6s", "-F", "99", "-c", "4", "-t", "1", "--out",
                out.string()},
               t.path, {{"TMPDIR", tmp.string()}});
  ASSERT_TRUE(k.wait_err("run 1/1: ", 60)) << k.err();
  std::this_thread::sleep_for(std::chrono::seconds(2));
  // The upstream's master: the nginx started with upstream.conf under the run folder.
  pid_t upstream = 0;
  for (pid_t p : processes_using(tmp)) {
    std::string cmd = read_file(fs::path("/proc") / std::to_string(p) / "cmdline");
    for (char& ch : cmd) ch = ch == '\0' ? ' ' : ch;
    if (cmd.find("upstream.conf") != std::string::npos) upstream = p;
  }
  ASSERT_GT(upstream, 0) << "no upstream master found";
  ASSERT_EQ(::kill(upstream, SIGTERM), 0);  // fast shutdown: master and workers exit

  EXPECT_EQ(k.wait(60), 0) << k.err();
  const json s = expect_consistent_report(out);
  ASSERT_TRUE(s.is_object());
  ASSERT_EQ(s["runs"].size(), 1u);
  const json& load = s["runs"][0]["load"];
  uint64_t errors = 0;
  for (const auto& [kind, n] : load["errors"].items()) errors += n.get<uint64_t>();
  EXPECT_GT(errors, 0u) << load.dump();
  EXPECT_GT(load["requests"].get<uint64_t>(), 0u) << "requests before the upstream went down";
  const std::string txt = read_file(out / "summary.txt");
  EXPECT_TRUE(txt.find("Non-2xx") != std::string::npos || txt.find("Socket errors") != std::string::npos) << txt;
  EXPECT_TRUE(fs::exists(out / "flamegraph.svg"));
  EXPECT_TRUE(still_alive(processes_using(tmp)).empty());
  EXPECT_TRUE(kperf_temp_entries(tmp).empty());
}

}  // namespace

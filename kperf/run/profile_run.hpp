// The run plan of `kperf profile` and its execution against a running gateway: optional
// warmup load, then per run a Recorder sampling the gateway's workers in a thread while
// the load generator drives the gateway for the run's duration; results kept per run.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "flamegraph/trie.hpp"
#include "kperf/report/pprof_export.hpp"
#include "kperf/run/progress.hpp"
#include "kperf/run/workload.hpp"
#include "loadgen/load.hpp"
#include "profiler/recorder.hpp"

namespace kperf {

// Command-line overrides of the workload's `load:` section (unset: the workload's value).
struct PlanOverrides {
  std::optional<int> runs;
  std::optional<std::chrono::microseconds> duration;
  std::optional<int> threads;
  std::optional<int> connections;
  std::optional<double> rate;
  std::chrono::microseconds warmup{0};
  int frequency = 99;
};

struct RunPlan {
  int runs = 3;
  std::chrono::microseconds duration{std::chrono::seconds(10)};
  std::chrono::microseconds warmup{0};
  int frequency = 99;
  std::string path;            // request target template, appended to the target URL
  bool with_load = true;       // false: only sample for the duration (kperf attach without --url)
  prof::RootFrame root = prof::RootFrame::Process;  // nginx, or nginx-PID (--per-pid)
  loadgen::LoadConfig load;    // url filled by bind(); duration = the run's duration
  std::string label;           // shown before the phases on the progress display
                               // ("key-auth: run 1/3"); empty: "run 1/3"

  double planned_seconds() const;  // warmup + runs * duration
  // The load config for a target base URL ("http://127.0.0.1:PORT").
  loadgen::LoadConfig load_for(const std::string& base_url, std::chrono::microseconds d) const;
};

// Resolves the plan from the workload and the overrides; validates the load config
// (throws UsageError with one line for a config the load generator refuses).
RunPlan make_plan(const Workload& workload, const PlanOverrides& overrides);

struct RunResult {
  int index = 0;                // 1-based
  bool interrupted = false;     // a stop request cut this run short
  loadgen::LoadResult load;
  prof::RecordSummary record;
  fg::StackTrie stacks;
};

struct ProfileResult {
  int runs_planned = 0;
  bool interrupted = false;             // stopped before the plan was done
  bool warmup_done = false;
  std::optional<loadgen::LoadResult> warmup;
  std::vector<RunResult> runs;          // runs that started (the last may be interrupted)
  fg::StackTrie combined;               // every run's stacks
  PprofStacks pprof;                    // combined's per-thread counts and frame origins
  std::int64_t start_unix_ns = 0;       // when the first run's sampling started
  std::vector<std::string> worker_changes;  // "workers changed: +12 +13 -10 -11" lines
};

// Runs the plan against `base_url`, sampling `master_pid` (an nginx master: its
// workers). `stop` ends everything early (load and sampling), leaving a consistent
// result with what was measured. Throws std::runtime_error when sampling cannot start.
ProfileResult run_profile(const RunPlan& plan, const std::string& base_url, pid_t master_pid,
                          const std::atomic<bool>& stop, ProgressDisplay& progress);

}  // namespace kperf

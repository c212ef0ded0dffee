// The outputs of one profiled session, written by one writer for `kperf profile` and
// `kperf attach` alike: run-N.folded + run-N.svg, profile.folded + profile.pb.gz (pprof,
// plugin/phase labels) + flamegraph.svg, focus-PLUGIN.folded/.svg (--focus), rps.svg + latency.svg (with load), error.log (what
// the gateway's error log got, when it has one), then summary.txt, summary.json and
// report.md (plugin table, worker changes, error log problems, the list of outputs).
#pragma once

#include <filesystem>

#include "kperf/gateway/gateway.hpp"
#include "kperf/report/profile_report.hpp"
#include "kperf/run/profile_run.hpp"
#include "kperf/run/progress.hpp"

namespace kperf {

struct SessionOutputs {
  std::filesystem::path flamegraph;  // empty: no samples, no flame graph
  ProfileReport report;              // the final report (refers to the result)
};

// Writes every output into `out_dir` (which exists). `ctx` says what ran (command,
// workload, subject, plan, focus, driver); the gateway gives the error log, its problems
// and the graphs' subtitle. The gateway must still be up (its logs are read).
SessionOutputs write_session_outputs(const std::filesystem::path& out_dir, ReportContext ctx,
                                     const ProfileResult& result, const Gateway& gateway, ProgressDisplay& progress);

}  // namespace kperf

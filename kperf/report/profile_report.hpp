// The reports of a `kperf profile` session: summary.txt (wrk-style per run, then the
// combined result like Kong's perf framework prints it, sampler line, plugin table),
// summary.json (every figure) and report.md (a Markdown table for a PR comment).
#pragma once

#include <filesystem>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kperf/report/plugin_analysis.hpp"
#include "kperf/run/output_dir.hpp"
#include "kperf/run/profile_run.hpp"
#include "loadgen/report.hpp"
#include "profiler/recorder.hpp"

namespace kperf {

// What the session was: known before it ran.
struct ReportContext {
  std::string command = "kperf profile";  // or "kperf attach"
  std::string subject;  // what was profiled, as summary.txt's first line names it
  std::string workload;          // name
  std::string description;
  std::string origin;            // the workload file
  std::string driver = "lab";
  std::string target_url;        // where the load went (base URL)
  RunPlan plan;
  std::optional<std::string> focus;  // --focus PLUGIN
  std::vector<std::string> error_log_problems;  // [error] lines of the gateway's logs
  std::vector<std::string> outputs;             // file names written in the output dir
};

class ProfileReport {
 public:
  ProfileReport(ReportContext context, const ProfileResult& result);

  std::string summary_text() const;
  nlohmann::json summary_json() const;
  std::string markdown() const;

  // The flame graph's title: "kperf profile: WORKLOAD — 12345 req/s (3 runs)".
  std::string title() const;
  const loadgen::CombinedResult& combined() const { return combined_; }
  const PluginTable& plugins() const { return plugins_; }
  const prof::RecordSummary& sampling() const { return sampling_; }

 private:
  std::string run_header(const RunResult& run) const;

  ReportContext ctx_;
  const ProfileResult& result_;
  loadgen::CombinedResult combined_;
  prof::RecordSummary sampling_;  // every run's sampler figures added up
  PluginTable plugins_;
};

// The last lines of a profile or attach: where the flame graph (or why there is none) and
// the summary are; the exit status: 0, or 128 + the signal that stopped kperf. `partial`:
// a signal cut the runs short; a signal only while the outputs were written (`signal`
// set, not partial) leaves a complete report, and the last line says so.
int finish_report(const std::filesystem::path& out_dir, const std::filesystem::path& flamegraph, bool partial,
                  int signal);

// NAME as an interactive flame graph (lua palette); nothing when the trie is empty.
void write_graph(OutputDir& out, const std::string& name, const fg::StackTrie& trie, const std::string& title,
                 const std::string& subtitle);

// rps.svg and latency.svg for the runs of `result` (nothing without runs).
void write_load_charts(OutputDir& out, const std::string& name, const ProfileResult& result,
                       const ProfileReport& report);

}  // namespace kperf

// Comparing `kperf profile` subjects (several --workload, or several --version): the
// subjects' folder names, the comparison table (summary.txt / summary.json / report.md at
// the top of --out) and the differential flame graphs of each subject against the first.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "flamegraph/trie.hpp"
#include "kperf/report/profile_report.hpp"
#include "kperf/run/profile_run.hpp"

namespace kperf {

// A name made safe as one folder name: characters other than [A-Za-z0-9._-] become '_',
// so does a leading '.' or '-'; at most 64 characters; empty gives "subject".
std::string safe_label(std::string_view name);

// The subjects' folder names, in order: safe_label() of each, made unique with "-2",
// "-3"... (also against the comparison's own outputs: summary.txt, summary.json,
// report.md, rps.svg, latency.svg, diff.svg, diff-*.svg).
std::vector<std::string> subject_labels(const std::vector<std::string>& names);

// A plugin's share of a subject's samples.
struct PluginShare {
  std::string plugin;
  double percent = 0;  // of all the subject's samples
};

// One subject's figures as the comparison shows them.
struct SubjectFigures {
  std::string name;   // workload name or Kong version
  std::string label;  // its folder under --out
  bool ran = false;   // false: never started (interrupted before its turn) or failed
  std::string error;  // why it failed (its gateway did not start...); empty otherwise
  bool interrupted = false;
  int runs_planned = 0;
  int runs_completed = 0;
  std::vector<double> run_rps;  // requests/s of each run
  double rps_avg = 0, rps_min = 0, rps_max = 0;
  double latency_avg_us = 0, latency_p50_us = 0, latency_p90_us = 0, latency_p99_us = 0, latency_max_us = 0;
  uint64_t requests = 0;
  uint64_t errors = 0;   // socket errors + non-2xx/3xx statuses
  double samples = 0;
  std::vector<PluginShare> plugins;  // by share, descending
};

// The figures of a subject that ran, from its report.
SubjectFigures subject_figures(const ProfileReport& report, const ProfileResult& result, std::string name,
                               std::string label);

// The change of `value` against `base` in percent; none when base is 0 and value is not.
std::optional<double> percent_change(double base, double value);
// "+12.3%", "-4.0%", "+0.0%"; "n/a" for none.
std::string format_change(std::optional<double> change);

// A differential flame graph of one subject against the first.
struct DiffOutput {
  std::string before;  // label of the first subject
  std::string after;   // label of the compared subject
  std::string file;    // "diff.svg" with two subjects, "diff-AFTER.svg" with more
};
// The differential graphs of the subjects after the first (labels in subject order).
std::vector<DiffOutput> diff_outputs(const std::vector<std::string>& labels);

// The differential trie of `after` against `before`, `before`'s counts scaled so both
// totals match (as `kperf diff -n` / difffolded.pl -n): widths from `after`, red where it
// grew, blue where it shrank.
fg::StackTrie comparison_diff(const fg::StackTrie& before, const fg::StackTrie& after);

// rps.svg (each subject's runs, mean, min/max) and latency.svg (each subject's combined
// p50/p90/p99/max) for the subjects that ran; nothing when none did.
void write_comparison_charts(OutputDir& out, const std::vector<SubjectFigures>& subjects);

// What was compared, known before it ran.
struct ComparisonContext {
  std::string kind;     // "workload" or "version"
  std::string driver;   // "lab", "docker", "local"
  std::string plan;     // "1 run x 2s, 2 threads, 50 connections, 99 Hz" (the options shared)
  bool interrupted = false;
  std::vector<DiffOutput> diffs;     // the graphs written (missing ones are left out)
  std::vector<std::string> outputs;  // the files and folders at the top of --out
};

class Comparison {
 public:
  Comparison(ComparisonContext context, std::vector<SubjectFigures> subjects);

  // summary.txt: one column per subject, one row per figure, the change against the
  // first subject after each value of the others (plugin shares: in percentage points).
  std::string text() const;
  // summary.json: every figure, the changes in percent (null where there is no base).
  nlohmann::json json() const;
  // report.md: the same table in GitHub Markdown.
  std::string markdown() const;

  // The plugins the table shows: every subject's top `per_subject`, by their largest
  // share, at most `limit`.
  std::vector<std::string> plugin_rows(size_t per_subject = 5, size_t limit = 8) const;
  const std::vector<SubjectFigures>& subjects() const { return subjects_; }

 private:
  struct Cell {
    std::string value;
    std::string change;  // empty for the first subject and subjects that did not run
  };
  struct Row {
    std::string name;
    std::vector<Cell> cells;  // one per subject
  };
  std::vector<Row> rows() const;
  std::string status(const SubjectFigures& s) const;

  ComparisonContext ctx_;
  std::vector<SubjectFigures> subjects_;
};

}  // namespace kperf

// Progress of a `kperf profile` session on stderr: a bar with the phase, elapsed time,
// requests/s and the ETA of the whole plan on a terminal; plain lines otherwise.
// For fault tests: with KPERF_STOP_AT=TEXT in the environment, kperf stops itself
// (SIGSTOP) right after printing the first line containing TEXT, so that a test can signal it at
// that exact phase and continue it (SIGCONT).
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace kperf {

class ProgressDisplay {
 public:
  // `total_s`: the planned time of every phase (warmup + runs), for the ETA.
  // `tty`: draw a bar (redrawn in place) instead of writing plain lines.
  ProgressDisplay(double total_s, bool tty, std::FILE* out = stderr);
  ~ProgressDisplay();
  ProgressDisplay(const ProgressDisplay&) = delete;
  ProgressDisplay& operator=(const ProgressDisplay&) = delete;

  // A phase of `planned_s` seconds starts ("warmup", "run 1/3").
  void begin(std::string label, double planned_s);
  // Where the phase is (from the load generator's progress callback).
  void update(double elapsed_s, double rps, uint64_t requests, uint64_t errors);
  // The phase ended: `summary` is printed after "LABEL: " on its own line.
  void end(std::string_view summary);
  // A line of its own (clears the bar first on a terminal).
  void message(std::string_view line);

  // "1:05", "0:07", "1:02:03".
  static std::string format_clock(double seconds);
  // The bar line for a terminal (without "\r"), `width` characters of bar.
  static std::string bar_line(std::string_view label, double phase_elapsed, double phase_planned,
                              double done_s, double total_s, double rps, int width);

 private:
  void clear_bar();
  void printed(std::string_view line);  // KPERF_STOP_AT


  double total_s_;
  bool tty_;
  std::FILE* out_;
  std::string label_;
  double planned_s_ = 0;
  double done_s_ = 0;  // planned seconds of the phases already ended
  double elapsed_s_ = 0;
  bool bar_shown_ = false;
  std::string stop_at_;  // KPERF_STOP_AT (empty: never stop, or stopped once already)
};

}  // namespace kperf

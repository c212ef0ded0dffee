// Progress of a `kperf profile` session: terminal bar with ETA, or plain lines.
#include "kperf/run/progress.hpp"

#include <signal.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include <fmt/core.h>

namespace kperf {

ProgressDisplay::ProgressDisplay(double total_s, bool tty, std::FILE* out)
    : total_s_(total_s), tty_(tty), out_(out) {
  if (const char* at = std::getenv("KPERF_STOP_AT")) stop_at_ = at;
}

ProgressDisplay::~ProgressDisplay() { clear_bar(); }

std::string ProgressDisplay::format_clock(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) seconds = 0;
  const auto s = static_cast<long long>(std::llround(seconds));
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

std::string ProgressDisplay::bar_line(std::string_view label, double phase_elapsed, double phase_planned,
                                      double done_s, double total_s, double rps, int width) {
  const double elapsed = std::min(phase_elapsed, phase_planned);
  const double done = done_s + elapsed;
  const double fraction = total_s > 0 ? std::clamp(done / total_s, 0.0, 1.0) : 1.0;
  const int filled = static_cast<int>(fraction * width);
  std::string bar(static_cast<size_t>(filled), '#');
  bar.append(static_cast<size_t>(width - filled), '.');
  return fmt::format("[{}] {:3.0f}% {} {:.1f}s/{:.1f}s {:.0f} req/s ETA {}", bar, fraction * 100, label,
                     elapsed, phase_planned, rps, format_clock(total_s - done));
}

void ProgressDisplay::printed(std::string_view line) {
  if (stop_at_.empty() || line.find(stop_at_) == std::string_view::npos) return;
  stop_at_.clear();  // once
  ::raise(SIGSTOP);
}

void ProgressDisplay::clear_bar() {
  if (tty_ && bar_shown_) {
    fmt::print(out_, "\r\x1b[K");
    std::fflush(out_);
    bar_shown_ = false;
  }
}

void ProgressDisplay::begin(std::string label, double planned_s) {
  label_ = std::move(label);
  planned_s_ = planned_s;
  elapsed_s_ = 0;
  if (tty_) {
    update(0, 0, 0, 0);
  } else {
    const std::string line = fmt::format("{}: {:.1f}s ...", label_, planned_s_);
    fmt::print(out_, "{}\n", line);
    std::fflush(out_);
    printed(line);
  }
}

void ProgressDisplay::update(double elapsed_s, double rps, uint64_t /*requests*/, uint64_t /*errors*/) {
  elapsed_s_ = elapsed_s;
  if (!tty_) return;
  fmt::print(out_, "\r\x1b[K{}", bar_line(label_, elapsed_s, planned_s_, done_s_, total_s_, rps, 30));
  std::fflush(out_);
  bar_shown_ = true;
}

void ProgressDisplay::end(std::string_view summary) {
  done_s_ += planned_s_;
  clear_bar();
  const std::string line = fmt::format("{}: {}", label_, summary);
  fmt::print(out_, "{}\n", line);
  std::fflush(out_);
  printed(line);
}

void ProgressDisplay::message(std::string_view line) {
  clear_bar();
  fmt::print(out_, "{}\n", line);
  std::fflush(out_);
  printed(line);
}

}  // namespace kperf

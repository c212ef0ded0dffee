// Collapse of `perf script` text into folded stacks ("root;caller;...;leaf COUNT"),
// byte for byte what Brendan Gregg's stackcollapse-perf.pl (FlameGraph 41fee1f) prints.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>

namespace kperf::fg {

struct CollapseOptions {
  bool pid = false;     // root frame "comm-PID" (`--pid`; PID is "?" when perf printed no PID)
  bool tid = false;     // root frame "comm-PID/TID" (`--tid`; wins over pid)
  bool kernel = false;  // append "_[k]" to kernel frames (`--kernel`)
  bool jit = false;     // append "_[j]" to frames from /tmp/perf-PID.map (`--jit`)
  bool addrs = false;   // "[unknown]" frames become "[MODULE <ADDR>]" (`--addrs`)
  // Collapse only samples of this event (e.g. "cycles"). Empty: the first event type
  // seen in the input; samples of other types are skipped (counted in skipped_events).
  std::string event_filter;
  // `--all` is kernel + jit.
  void set_all() { kernel = jit = true; }
};

struct CollapseStats {
  uint64_t lines = 0;               // input lines read
  uint64_t samples = 0;             // stacks counted (what the folded output sums up)
  uint64_t skipped_events = 0;      // sample headers of an event type not collapsed
  uint64_t unrecognized_lines = 0;  // lines that are neither header, frame, blank nor comment
  uint64_t binary_lines = 0;        // unrecognized lines with control characters in them
  uint64_t distinct_stacks = 0;     // output lines
  std::string event;                // the event type collapsed ("" if headers had none)
};

// Incremental form: feed lines, then write the result. Memory is proportional to the
// number of distinct stacks (plus the longest sample), not to the input size.
class PerfScriptCollapser {
 public:
  explicit PerfScriptCollapser(CollapseOptions options);
  ~PerfScriptCollapser();
  PerfScriptCollapser(PerfScriptCollapser&&) noexcept;
  PerfScriptCollapser& operator=(PerfScriptCollapser&&) noexcept;

  // One input line, without its terminating '\n'. Like the Perl script, a sample is
  // counted only when the blank line that ends it arrives. Throws std::runtime_error
  // when one sample's stack text grows over 64 MiB (no perf script has such stacks).
  void add_line(std::string_view line);
  // Writes the folded stacks sorted bytewise (Perl's `sort { $a cmp $b }`), one
  // "STACK COUNT\n" line each. Can be called more than once.
  void write(std::ostream& out) const;
  const CollapseStats& stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Reads perf script text from `in` (streamed in bounded chunks) and writes the folded
// stacks to `out`, only once the whole input was read. Throws std::runtime_error (one
// line, nothing written) on unusable input: empty input, no samples, binary data (NUL
// bytes, a perf.data file), a line over 16 MiB, a stack over 64 MiB, or a read error.
// Where the Perl script would print (nothing, or a stack) for such input, kperf fails
// instead; on every other input its output is the script's, byte for byte. The script's
// --inline, --context and --srcline (addr2line, source lines) are not implemented.
CollapseStats collapse_perf_script(std::istream& in, std::ostream& out,
                                   const CollapseOptions& options);

}  // namespace kperf::fg

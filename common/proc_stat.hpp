// /proc/PID/stat and /proc/PID/cmdline, parsed in one place: state, parent, start time
// (what tells a process from a later one that reuses its pid) and the process title.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kperf::common {

struct ProcStat {
  std::string comm;         // field 2, without the parentheses (may hold spaces and ')')
  char state = 0;           // field 3: R, S, D, Z, X...
  pid_t ppid = 0;           // field 4
  uint64_t start_time = 0;  // field 22, clock ticks since boot (0: the text ends before it)
};

// Parses the text of a /proc/PID/stat file (at least up to the parent pid); std::nullopt
// when it is not one.
std::optional<ProcStat> parse_proc_stat(std::string_view text);

// /proc/PID/stat of a live process (std::nullopt: no such process).
std::optional<ProcStat> read_proc_stat(pid_t pid);

// The process exists and is neither a zombie nor dead.
bool process_alive(pid_t pid);

// The process title: /proc/PID/cmdline up to its first NUL ("nginx: worker process",
// "/usr/bin/luajit"); "" when the process is gone or a kernel thread.
std::string process_title(pid_t pid);

}  // namespace kperf::common

// Parsing of /proc/PID/stat and cmdline (see proc_stat.hpp).
#include "common/proc_stat.hpp"

#include <charconv>

#include <fmt/core.h>

#include "common/text_file.hpp"

namespace kperf::common {

std::optional<ProcStat> parse_proc_stat(std::string_view text) {
  // "PID (COMM) S PPID ...": COMM may hold anything, so the last ')' ends it.
  const auto open = text.find('(');
  const auto close = text.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) return std::nullopt;
  ProcStat s;
  s.comm = std::string(text.substr(open + 1, close - open - 1));
  std::string_view rest = text.substr(close + 1);
  // fields 3.. separated by single spaces
  int field = 2;
  while (!rest.empty() && field < 22) {
    while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\n')) rest.remove_prefix(1);
    if (rest.empty()) break;
    auto end = rest.find_first_of(" \n");
    if (end == std::string_view::npos) end = rest.size();
    const std::string_view value = rest.substr(0, end);
    ++field;
    if (field == 3) {
      if (value.size() != 1) return std::nullopt;
      s.state = value[0];
    } else if (field == 4) {
      long ppid = 0;
      if (std::from_chars(value.data(), value.data() + value.size(), ppid).ec != std::errc{}) return std::nullopt;
      s.ppid = static_cast<pid_t>(ppid);
    } else if (field == 22) {
      if (std::from_chars(value.data(), value.data() + value.size(), s.start_time).ec != std::errc{}) {
        return std::nullopt;
      }
    }
    rest.remove_prefix(end);
  }
  if (field < 4) return std::nullopt;  // no state or parent: not a stat line
  return s;
}

std::optional<ProcStat> read_proc_stat(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  const auto text = read_file(fmt::format("/proc/{}/stat", pid));
  if (!text) return std::nullopt;
  return parse_proc_stat(*text);
}

bool process_alive(pid_t pid) {
  const auto s = read_proc_stat(pid);
  return s && s->state != 'Z' && s->state != 'X';
}

std::string process_title(pid_t pid) {
  if (pid <= 0) return {};
  std::string cmdline = read_file_or_empty(fmt::format("/proc/{}/cmdline", pid));
  if (const auto nul = cmdline.find('\0'); nul != std::string::npos) cmdline.resize(nul);
  return cmdline;
}

}  // namespace kperf::common

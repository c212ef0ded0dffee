// Line splitting for the text files the symbolizer reads (/proc/kallsyms, /proc/PID/maps,
// perf-PID.map): one line at a time off the front of a buffer, no copies.
#pragma once

#include <string_view>

namespace kperf::sym {

// Takes the first line (without its '\n') off `text` into `line`; false when `text` is empty.
inline bool next_line(std::string_view& text, std::string_view& line) {
  if (text.empty()) return false;
  const size_t nl = text.find('\n');
  line = text.substr(0, nl);
  text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
  return true;
}

}  // namespace kperf::sym

// online_cpus: parses the kernel's cpu list format.
#include "profiler/online_cpus.hpp"

#include <charconv>
#include <stdexcept>
#include <string>

#include "common/text_file.hpp"

namespace kperf::prof {

namespace {

int parse_int(std::string_view s) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < 0) {
    throw std::runtime_error("bad cpu list entry '" + std::string(s) + "'");
  }
  return v;
}

}  // namespace

std::vector<int> parse_cpu_list(std::string_view list) {
  while (!list.empty() && (list.back() == '\n' || list.back() == ' ')) list.remove_suffix(1);
  std::vector<int> cpus;
  while (!list.empty()) {
    const auto comma = list.find(',');
    const auto item = list.substr(0, comma);
    const auto dash = item.find('-');
    if (dash == std::string_view::npos) {
      cpus.push_back(parse_int(item));
    } else {
      const int lo = parse_int(item.substr(0, dash));
      const int hi = parse_int(item.substr(dash + 1));
      if (hi < lo) throw std::runtime_error("bad cpu range '" + std::string(item) + "'");
      for (int c = lo; c <= hi; ++c) cpus.push_back(c);
    }
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  if (cpus.empty()) throw std::runtime_error("empty cpu list");
  return cpus;
}

std::vector<int> online_cpus() {
  return parse_cpu_list(common::read_file_or_throw("/sys/devices/system/cpu/online", "online CPU list"));
}

}  // namespace kperf::prof

// Fuzzes collapse_perf_script: any input either throws std::runtime_error or gives
// well-formed folded lines ("STACK COUNT", sorted, unique), under ASan/UBSan.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

#include "flamegraph/collapse_perf.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // The first byte picks the options; the rest is the perf script text.
  kperf::fg::CollapseOptions o;
  o.pid = data[0] & 1;
  o.tid = data[0] & 2;
  o.kernel = data[0] & 4;
  o.jit = data[0] & 8;
  o.addrs = data[0] & 16;
  if (data[0] & 32) o.event_filter = "cycles";
  std::istringstream in(std::string(reinterpret_cast<const char*>(data) + 1, size - 1));
  std::ostringstream out;
  try {
    const auto stats = kperf::fg::collapse_perf_script(in, out, o);
    if (stats.samples == 0 || stats.distinct_stacks == 0) std::abort();
  } catch (const std::runtime_error&) {
    if (!out.str().empty()) std::abort();  // errors write nothing
    return 0;
  }
  const std::string s = out.str();
  std::string_view rest(s), previous;
  size_t lines = 0;
  while (!rest.empty()) {
    const size_t nl = rest.find('\n');
    if (nl == std::string_view::npos) std::abort();  // every line ends with '\n'
    const std::string_view line = rest.substr(0, nl);
    const size_t sp = line.rfind(' ');
    if (sp == std::string_view::npos || sp + 1 == line.size()) std::abort();
    const std::string_view stack = line.substr(0, sp);
    if (lines > 0 && !(previous < stack)) std::abort();  // sorted, no duplicates
    previous = stack;
    ++lines;
    rest.remove_prefix(nl + 1);
  }
  return 0;
}

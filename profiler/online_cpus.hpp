// The online CPUs, from /sys/devices/system/cpu/online ("0-3,5"): one perf event each.
#pragma once

#include <string_view>
#include <vector>

namespace kperf::prof {

std::vector<int> parse_cpu_list(std::string_view list);  // throws std::runtime_error
std::vector<int> online_cpus();

}  // namespace kperf::prof

// wrk-style durations and counts on the command line: "10s", "2m", "1h", "500ms", "30"
// (seconds); wrk-style output units for times ("1.23ms", "4.56s").
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace kperf::loadgen {

// Throws std::invalid_argument with a message naming the bad text.
std::chrono::microseconds parse_duration(std::string_view text);

// wrk's format for a time in microseconds: "812.00us", "1.23ms", "4.56s", "2.00m".
std::string format_time_us(double us);

}  // namespace kperf::loadgen

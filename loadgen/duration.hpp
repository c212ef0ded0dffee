// wrk-style durations and counts on the command line: "10s", "2m", "1h", "500ms", "30"
// (seconds); wrk-style output units for times ("1.23ms", "4.56s").
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace kperf::loadgen {

// Throws std::invalid_argument with a message naming the bad text.
std::chrono::microseconds parse_duration(std::string_view text);

// A count as wrk's command line takes it: "100", "1k", "2M", "1G" (SI, base 1000).
// Throws std::invalid_argument naming `what` and the bad text.
uint64_t parse_count(std::string_view text, std::string_view what);

// wrk's formats (units.c semantics: the next unit from 0.85 of the scale on):
// a time in microseconds: "812.00us", "1.23ms", "4.56s", "2.00m";
std::string format_time_us(double us);
// a whole duration in seconds: "10s", "2m";
std::string format_time_s(double s);
// a count with SI prefixes (base 1000): "12.34k";
std::string format_metric(double n);
// a byte count with binary prefixes (base 1024), without the "B": "1.33G".
std::string format_binary(double n);

}  // namespace kperf::loadgen

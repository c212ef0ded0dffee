// parse_duration / format_time_us: the unit rules of wrk's command line and report.
#include "loadgen/duration.hpp"

#include <charconv>
#include <stdexcept>

#include <fmt/core.h>

namespace kperf::loadgen {

std::chrono::microseconds parse_duration(std::string_view text) {
  double value = 0;
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(begin, end, value);
  if (ec != std::errc() || ptr == begin) {
    throw std::invalid_argument(fmt::format("invalid duration '{}'", text));
  }
  const std::string_view unit(ptr, static_cast<size_t>(end - ptr));
  double scale = 0;
  if (unit.empty() || unit == "s") scale = 1e6;
  else if (unit == "ms") scale = 1e3;
  else if (unit == "us") scale = 1;
  else if (unit == "m") scale = 60e6;
  else if (unit == "h") scale = 3600e6;
  else throw std::invalid_argument(fmt::format("invalid duration '{}': unknown unit '{}'", text, unit));
  if (value < 0) throw std::invalid_argument(fmt::format("invalid duration '{}': negative", text));
  const double us = value * scale;
  if (us > 1e15) throw std::invalid_argument(fmt::format("invalid duration '{}': too large", text));
  return std::chrono::microseconds(static_cast<long long>(us));
}

std::string format_time_us(double us) {
  if (us < 1000) return fmt::format("{:.2f}us", us);
  if (us < 1e6) return fmt::format("{:.2f}ms", us / 1e3);
  if (us < 60e6) return fmt::format("{:.2f}s", us / 1e6);
  if (us < 3600e6) return fmt::format("{:.2f}m", us / 60e6);
  return fmt::format("{:.2f}h", us / 3600e6);
}

}  // namespace kperf::loadgen

// parse_duration / format_time_us: the unit rules of wrk's command line and report.
#include "loadgen/duration.hpp"

#include <cmath>

#include <charconv>
#include <initializer_list>
#include <vector>
#include <stdexcept>

#include <fmt/core.h>

namespace kperf::loadgen {

std::chrono::microseconds parse_duration(std::string_view text) {
  double value = 0;
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(begin, end, value);
  if (ec != std::errc() || ptr == begin || !std::isfinite(value)) {
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

uint64_t parse_count(std::string_view text, std::string_view what) {
  uint64_t value = 0;
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(begin, end, value);
  if (ec != std::errc() || ptr == begin) {
    throw std::invalid_argument(fmt::format("invalid {} '{}': expected a number like 100 or 1k", what, text));
  }
  const std::string_view unit(ptr, static_cast<size_t>(end - ptr));
  uint64_t scale = 1;
  if (unit.empty()) scale = 1;
  else if (unit == "k" || unit == "K") scale = 1000;
  else if (unit == "m" || unit == "M") scale = 1000000;
  else if (unit == "g" || unit == "G") scale = 1000000000;
  else throw std::invalid_argument(fmt::format("invalid {} '{}': unknown unit '{}'", what, text, unit));
  if (value > UINT64_MAX / scale) throw std::invalid_argument(fmt::format("invalid {} '{}': too large", what, text));
  return value * scale;
}

namespace {

// wrk's unit scaling: divide by `scale` while the amount is >= 0.85 * scale and a
// larger unit follows (the last unit of a table is never reached, as in wrk).
std::string format_units(double n, double scale, const char* base,
                         std::initializer_list<const char*> units, int precision) {
  const char* unit = base;
  const std::vector<const char*> u(units);
  for (size_t i = 0; i + 1 < u.size() && n >= scale * 0.85; ++i) {
    n /= scale;
    unit = u[i];
  }
  return fmt::format("{:.{}f}{}", n, precision, unit);
}

}  // namespace

std::string format_time_us(double us) {
  if (us >= 1e6) return format_units(us / 1e6, 60, "s", {"m", "h"}, 2);
  return format_units(us, 1000, "us", {"ms", "s"}, 2);
}

std::string format_time_s(double s) { return format_units(s, 60, "s", {"m", "h"}, 0); }

std::string format_metric(double n) {
  return format_units(n, 1000, "", {"k", "M", "G", "T", "P"}, 2);
}

std::string format_binary(double n) {
  return format_units(n, 1024, "", {"K", "M", "G", "T", "P"}, 2);
}

}  // namespace kperf::loadgen

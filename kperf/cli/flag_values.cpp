// count_value / duration_value: the shared numeric flag validators, over loadgen's parsers.
#include "kperf/cli/flag_values.hpp"

#include <stdexcept>

#include <fmt/core.h>

#include "loadgen/duration.hpp"

namespace kperf {

CLI::Validator count_value(const std::string& what, uint64_t min, uint64_t max) {
  return CLI::Validator(
      [what, min, max](std::string& text) -> std::string {
        uint64_t n = 0;
        try {
          n = loadgen::parse_count(text, what);
        } catch (const std::invalid_argument& e) {
          return e.what();
        }
        if (n < min) return fmt::format("{} must be >= {}, not '{}'", what, min, text);
        if (n > max) return fmt::format("{} must be <= {}, not '{}'", what, max, text);
        text = std::to_string(n);
        return {};
      },
      "COUNT (100, 1k)");
}

CLI::Validator duration_value(bool zero_ok) {
  return CLI::Validator(
      [zero_ok](std::string& text) -> std::string {
        try {
          if (loadgen::parse_duration(text).count() > 0 || zero_ok) return {};
        } catch (const std::invalid_argument& e) {
          return fmt::format("{} (examples: 10, 10s, 500ms, 2m, 1h)", e.what());
        }
        return fmt::format("the duration must be more than 0, not '{}'", text);
      },
      "DURATION (10s, 500ms, 2m)");
}

}  // namespace kperf

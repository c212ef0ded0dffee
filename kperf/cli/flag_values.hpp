// The value forms of the numeric flags several commands share (-t, -c, -R, -n, -F, --runs,
// -d, --timeout, --warmup) as CLI11 validators: one parser per kind, so `-c 1k` or
// `-d 500ms` means the same in every command, and a bad value fails the same way in all of
// them (one line "kperf: --FLAG: ... (see kperf CMD --help)", exit 2) before anything starts.
#pragma once

#include <cstdint>
#include <string>

#include <CLI/CLI.hpp>

namespace kperf {

// A count as wrk's command line takes it ("100", "1k", "2M"; SI, base 1000) within
// [min, max], rewritten to its decimal value so that the option converts it to a number.
// `what` names it in errors ("number of connections").
CLI::Validator count_value(const std::string& what, uint64_t min, uint64_t max);

// A wrk-style duration ("10", "10s", "500ms", "2m", "1h"), more than 0 unless `zero_ok`;
// the text is kept (loadgen::parse_duration reads it later).
CLI::Validator duration_value(bool zero_ok = false);

}  // namespace kperf

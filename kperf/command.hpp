// The contract between kperf's main() and its commands: every cmd_NAME.cpp defines
// register_NAME, which adds a CLI11 subcommand and its callback to the app.
#pragma once

#include <CLI/CLI.hpp>
#include <stdexcept>
#include <string>

namespace kperf {

// An error the user caused (bad flag value, unreadable file, bad input): main()
// prints "kperf: <what>" on one line and exits with status 2. Modules throw
// std::runtime_error (or subclasses); they are treated the same way.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

#define KPERF_COMMAND(name) void register_##name(CLI::App& app);
#include "kperf/commands.inc"
#undef KPERF_COMMAND

}  // namespace kperf

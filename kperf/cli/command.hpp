// The contract between kperf's main() and its commands: every cmd_NAME.cpp defines
// register_NAME, which adds a CLI11 subcommand and its callback to the app.
#pragma once

#include <CLI/CLI.hpp>
#include <stdexcept>
#include <string>

namespace kperf {

// An error the user caused (bad flag value, unreadable file, bad input): main()
// prints "kperf: <what>" on one line and exits with status 2. Modules throw
// std::runtime_error (or subclasses) or std::invalid_argument for bad values; they are
// treated the same way. Any other exception is a bug: "kperf: internal error", exit 70.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A command whose work ended with a status other than 0 (interrupted: 130/143, a
// failed subject: 2) sets it here; main() returns it after the callback.
inline int& exit_status() {
  static int status = 0;
  return status;
}
inline void set_exit_status(int status) { exit_status() = status; }

#define KPERF_COMMAND(name) void register_##name(CLI::App& app);
#include "kperf/commands.inc"
#undef KPERF_COMMAND

}  // namespace kperf

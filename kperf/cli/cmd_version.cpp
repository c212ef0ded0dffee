// `kperf version`: the version and what it was built with.
#include <fmt/core.h>

#include "kperf/cli/command.hpp"

namespace kperf {

void register_version(CLI::App& app) {
  auto* cmd = app.add_subcommand("version", "Print kperf's version");
  cmd->callback([] { fmt::print("kperf 0.1.0\n"); });
}

}  // namespace kperf

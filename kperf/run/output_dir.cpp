// The output directory's check before a run; see output_dir.hpp.
#include "kperf/run/output_dir.hpp"

#include <fmt/core.h>

#include "kperf/cli/command.hpp"

namespace kperf {

namespace fs = std::filesystem;

void check_out_dir(const fs::path& dir, bool force) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return;
  if (!fs::is_directory(dir, ec)) {
    throw UsageError(fmt::format("output '{}' exists and is not a directory", dir.string()));
  }
  if (!fs::is_empty(dir, ec) && !force) {
    throw UsageError(fmt::format("output directory '{}' exists and is not empty (use --force to write into it)",
                                 dir.string()));
  }
}

}  // namespace kperf

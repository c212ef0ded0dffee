// Run directories: the private temporary folders kperf's gateways live in while they run
// (`$TMPDIR/kperf-lab-XXXXXX`, `kperf-kong-XXXXXX`). Each holds an `owner` file naming
// the kperf process that made it (pid and start time, so a reused pid is not taken for
// it); making one first removes the folders of the same kind whose owner is gone — what
// a SIGKILLed kperf left behind is cleaned at the next start.
#pragma once

#include <filesystem>
#include <string_view>

namespace kperf::common {

// The temporary folder ($TMPDIR, else /tmp).
std::filesystem::path temp_root();

// Creates `temp_root()/PREFIX-XXXXXX` (mode 0700) with its owner file, after removing
// stale `PREFIX-*` folders there. Throws std::runtime_error naming the path on failure.
std::filesystem::path make_run_dir(std::string_view prefix);

// Removes the `PREFIX-*` folders under `root` whose owner file names a process that no
// longer exists (or another process now holding its pid). Folders without an owner file
// are kept (not ours to judge). Returns how many were removed.
int remove_stale_run_dirs(const std::filesystem::path& root, std::string_view prefix);

}  // namespace kperf::common

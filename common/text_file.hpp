// Whole-file reads, the one way kperf reads small text files (/proc entries, pid files,
// configs, logs): a file that cannot be read is either "absent" (std::nullopt, for the
// callers to whom a missing file is normal) or one error line naming the path and why.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace kperf::common {

// The file's bytes, or std::nullopt when it cannot be opened or read.
std::optional<std::string> read_file(const std::filesystem::path& path);

// The file's bytes into out (its capacity reused: re-reading a /proc file allocates
// nothing once out has grown); false when it cannot be opened or read.
bool read_file_into(const std::filesystem::path& path, std::string& out);

// The file's bytes, or "" when it cannot be read (/proc entries of a process that is gone).
std::string read_file_or_empty(const std::filesystem::path& path);

// The file's bytes; throws std::runtime_error "WHAT PATH: cannot read: REASON" on failure
// (WHAT says which file it is to the user, e.g. "workload").
std::string read_file_or_throw(const std::filesystem::path& path, std::string_view what);

}  // namespace kperf::common

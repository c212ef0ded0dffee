// Parses /proc/PID/maps: the file-backed and anonymous mappings of a target process.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace kperf::prof::lj {

struct Mapping {
  std::uint64_t start = 0;
  std::uint64_t end = 0;
  std::uint64_t offset = 0;
  bool readable = false;
  bool executable = false;
  std::string path;  // empty for anonymous mappings
};

// Throws std::runtime_error when the process is gone or unreadable.
std::vector<Mapping> read_process_maps(pid_t pid);

// Parses the text of a maps file (exposed for tests).
std::vector<Mapping> parse_process_maps(const std::string& text);

}  // namespace kperf::prof::lj

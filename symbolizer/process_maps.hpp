// ProcessMaps: the parsed /proc/PID/maps of one process, sorted for address lookups.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kperf::sym {

struct Mapping {
  uint64_t start = 0, end = 0, offset = 0;
  uint64_t inode = 0;
  uint32_t dev_major = 0, dev_minor = 0;
  bool read = false, write = false, exec = false;
  std::string path;  // "" for anonymous; "[stack]", "[vdso]"...; " (deleted)" stripped
  bool deleted = false;
  bool file_backed() const { return inode != 0 && !path.empty() && path[0] == '/'; }
};

// Parses the text of a maps file; malformed lines are skipped.
std::vector<Mapping> parse_maps(std::string_view text);
// Reads /proc/PID/maps; nullopt if the process is gone or unreadable.
std::optional<std::vector<Mapping>> read_maps(pid_t pid);
// The mapping containing addr in a sorted vector, or null.
const Mapping* find_mapping(const std::vector<Mapping>& maps, uint64_t addr);

}  // namespace kperf::sym

// ProcessMaps: the parsed /proc/PID/maps of one process, sorted for address lookups.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
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

// Parses the text of a maps file into out, reusing its elements (their path strings keep
// their capacity); malformed lines are skipped.
void parse_maps(std::string_view text, std::vector<Mapping>& out);
inline std::vector<Mapping> parse_maps(std::string_view text) {
  std::vector<Mapping> out;
  parse_maps(text, out);
  return out;
}
// Reads /proc/PID/maps; nullopt if the process is gone or unreadable.
std::optional<std::vector<Mapping>> read_maps(pid_t pid);
// The same into out, with text as the read buffer (both reused: no allocation once grown).
bool read_maps(const std::filesystem::path& maps_path, std::string& text, std::vector<Mapping>& out);
// The mapping containing addr in a sorted vector, or null.
const Mapping* find_mapping(const std::vector<Mapping>& maps, uint64_t addr);

}  // namespace kperf::sym

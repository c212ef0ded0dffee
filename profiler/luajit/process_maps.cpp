// Parses /proc/PID/maps: the file-backed and anonymous mappings of a target process.
#include "profiler/luajit/process_maps.hpp"

#include <fmt/format.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace kperf::prof::lj {

std::vector<Mapping> parse_process_maps(const std::string& text) {
  std::vector<Mapping> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    // start-end perms offset dev inode [path]
    std::istringstream ls(line);
    std::string range, perms, offset, dev, inode;
    if (!(ls >> range >> perms >> offset >> dev >> inode)) continue;
    auto dash = range.find('-');
    if (dash == std::string::npos || perms.size() < 4) continue;
    Mapping m;
    try {
      m.start = std::stoull(range.substr(0, dash), nullptr, 16);
      m.end = std::stoull(range.substr(dash + 1), nullptr, 16);
      m.offset = std::stoull(offset, nullptr, 16);
    } catch (const std::exception&) {
      continue;
    }
    m.readable = perms[0] == 'r';
    m.executable = perms[2] == 'x';
    std::string rest;
    std::getline(ls, rest);
    auto p = rest.find_first_not_of(' ');
    if (p != std::string::npos) m.path = rest.substr(p);
    out.push_back(std::move(m));
  }
  return out;
}

std::vector<Mapping> read_process_maps(pid_t pid) {
  std::string file = fmt::format("/proc/{}/maps", pid);
  std::ifstream in(file);
  if (!in) throw std::runtime_error(fmt::format("cannot read {} (process gone?)", file));
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_process_maps(ss.str());
}

}  // namespace kperf::prof::lj

// read_process_maps: sym::read_maps, or an error naming the process.
#include "profiler/luajit/process_maps.hpp"

#include <stdexcept>

#include <fmt/core.h>

namespace kperf::prof::lj {

std::vector<Mapping> read_process_maps(pid_t pid) {
  auto maps = sym::read_maps(pid);
  if (!maps) throw std::runtime_error(fmt::format("cannot read /proc/{}/maps (process gone?)", pid));
  return std::move(*maps);
}

}  // namespace kperf::prof::lj

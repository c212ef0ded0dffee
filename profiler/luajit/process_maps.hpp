// The target's /proc/PID/maps for the LuaJIT side: the symbolizer's parser, with a gone
// process as an error (the VM detection and walk cannot go on without it).
#pragma once

#include <sys/types.h>

#include <vector>

#include "symbolizer/process_maps.hpp"

namespace kperf::prof::lj {

using Mapping = sym::Mapping;

// Throws std::runtime_error when the process is gone or unreadable.
std::vector<Mapping> read_process_maps(pid_t pid);

}  // namespace kperf::prof::lj

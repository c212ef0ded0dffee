// Separate debug files from debuginfod servers, only when DEBUGINFOD_URLS is set: the
// system's libdebuginfod.so.1 is loaded at run time (no build dependency).
#pragma once

#include <optional>
#include <string>

namespace kperf::sym {

// The local path of the debug file for a build-id (downloaded into debuginfod's cache),
// or nullopt: DEBUGINFOD_URLS unset/empty (nothing is attempted), library missing, or
// the servers do not have it.
std::optional<std::string> debuginfod_fetch(const std::string& build_id_hex);

}  // namespace kperf::sym

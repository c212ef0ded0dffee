// A real `kperf record --format pprof -- luajit` recording of a busy Lua script, the input
// of the pprof tests that open it elsewhere (`go tool pprof`, speedscope's viewer).
#pragma once

#include <string>

#include "tests/support/process.hpp"

namespace kperf::test {

// The script's one Lua function, `fib`, starts on line 2 of this chunk.
inline constexpr const char* kFibChunk = "busy.lua";

// Writes DIR/busy.lua (fib in a loop for 1.5 s) and records `luajit` running it at 499 Hz
// into `out` (gzipped pprof). Returns kperf's exit status and output (its summary on stderr).
RunResult record_lua_fib_pprof(const std::string& dir, const std::string& out);

}  // namespace kperf::test

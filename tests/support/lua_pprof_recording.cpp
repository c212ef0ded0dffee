// record_lua_fib_pprof: the busy fib script and the kperf command line recording it.
#include "tests/support/lua_pprof_recording.hpp"

#include "tests/support/temp_dir.hpp"

namespace kperf::test {

RunResult record_lua_fib_pprof(const std::string& dir, const std::string& out) {
  const std::string script = dir + "/" + kFibChunk;
  write_file(script, R"(
local function fib(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end
local t, s = os.clock(), 0
while os.clock() - t < 1.5 do s = s + fib(18) end
print(s)
)");
  return run({KPERF_BINARY, "record", "--format", "pprof", "-F", "499", "-o", out, "--", "/usr/bin/luajit", script},
             60);
}

}  // namespace kperf::test

// A recorded nginx under load, the pattern of the Lua frame and nginx sampler tests:
// start Debian's nginx (one worker, the test's `location /` body), run
// `kperf record -p MASTER` while wrk drives it, stop nginx, and hand back the stacks.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tests/support/folded_stacks.hpp"
#include "tests/support/temp_dir.hpp"

namespace kperf::test {

struct NginxRecordOptions {
  bool lua = true;                  // load the lua module
  int connections = 4;              // wrk -c (one thread)
  std::vector<std::string> env;     // NAME=VALUE for nginx (e.g. LD_LIBRARY_PATH=...)
  std::vector<std::string> kperf_args = {"-F", "499", "-d", "4"};
  int wrk_seconds = 3;
};

struct NginxRecording {
  bool nginx_started = false;  // false: error_log says why; nothing else was run
  int kperf_status = -1;
  int wrk_status = -1;
  std::string kperf_err, wrk_err, error_log;
  std::string master_maps;     // /proc/MASTER/maps once nginx answered
  std::string chunk;           // record_lua_handler: the handler file
  std::vector<Stack> stacks;   // DIR/out.folded

  // "" when nginx ran, wrk and kperf exited 0 and at least `min_samples` were recorded;
  // otherwise what went wrong, with the logs that say why.
  std::string problem(uint64_t min_samples) const;
};

// "" when Debian's nginx, its lua module and wrk are installed; otherwise one line saying
// what is missing (the tests skip with it).
std::string nginx_lua_unavailable();

// Writes DIR/nginx.conf with `location_body` on a free port and records it.
NginxRecording record_nginx(const TempDir& dir, const std::string& location_body,
                            const NginxRecordOptions& options = {});

// Writes `lua_source` to DIR/handler.lua (DIR made readable by the workers) and records
// nginx serving it with `content_by_lua_file`.
NginxRecording record_lua_handler(const TempDir& dir, const std::string& lua_source,
                                  const NginxRecordOptions& options = {});

}  // namespace kperf::test

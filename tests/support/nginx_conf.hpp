// A minimal nginx configuration for tests that start Debian's nginx themselves.
#pragma once

#include <string>

#include "tests/support/temp_dir.hpp"

namespace kperf::test {

// Writes DIR/nginx.conf: daemon off, one worker, error log, pid and temp paths in DIR,
// access log off, one server on 127.0.0.1:PORT whose `location /` holds
// `location_body` (e.g. `return 200;`). With `lua`, the lua module is loaded first.
void write_nginx_conf(const TempDir& dir, int port, const std::string& location_body, bool lua);

}  // namespace kperf::test

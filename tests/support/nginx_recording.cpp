// A recorded nginx under load (see nginx_recording.hpp).
#include "tests/support/nginx_recording.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/support/nginx_conf.hpp"
#include "tests/support/ports.hpp"
#include "tests/support/process.hpp"

namespace kperf::test {

std::string nginx_lua_unavailable() {
  if (::access("/usr/sbin/nginx", X_OK) != 0 || ::access("/usr/bin/wrk", X_OK) != 0 ||
      ::access("/usr/lib/nginx/modules/ngx_http_lua_module.so", R_OK) != 0) {
    return "needs Debian's nginx, libnginx-mod-http-lua and wrk (scripts/setup installs them)";
  }
  return "";
}

NginxRecording record_nginx(const TempDir& dir, const std::string& location_body,
                            const NginxRecordOptions& options) {
  NginxRecording r;
  const int port = free_port();
  write_nginx_conf(dir, port, location_body, options.lua);
  std::vector<std::string> argv = {"/usr/bin/env"};
  argv.insert(argv.end(), options.env.begin(), options.env.end());
  argv.insert(argv.end(), {"/usr/sbin/nginx", "-p", dir.path(), "-c", dir.file("nginx.conf")});
  Process nginx(argv, dir.file("nginx.out"), dir.file("nginx.err"));
  r.nginx_started = wait_for_port(port, 10);
  if (r.nginx_started) {
    r.master_maps = read_file("/proc/" + std::to_string(nginx.pid()) + "/maps");
    std::vector<std::string> kargs = {KPERF_BINARY, "record"};
    kargs.insert(kargs.end(), options.kperf_args.begin(), options.kperf_args.end());
    kargs.insert(kargs.end(), {"-p", std::to_string(nginx.pid()), "-o", dir.file("out.folded")});
    Process kperf(kargs, dir.file("kperf.out"), dir.file("kperf.err"));
    const auto load = run({"wrk", "-t1", "-c" + std::to_string(options.connections),
                           "-d" + std::to_string(options.wrk_seconds) + "s",
                           "http://127.0.0.1:" + std::to_string(port) + "/"},
                          options.wrk_seconds + 17.0);
    r.wrk_status = load.status;
    r.wrk_err = load.err;
    r.kperf_status = kperf.wait(30);
    r.kperf_err = read_file(dir.file("kperf.err"));
    r.stacks = parse_folded(read_file(dir.file("out.folded")));
  }
  nginx.signal(SIGQUIT);
  nginx.wait(10);
  r.error_log = read_file(dir.file("error.log")) + read_file(dir.file("nginx.err"));
  return r;
}

NginxRecording record_lua_handler(const TempDir& dir, const std::string& lua_source,
                                  const NginxRecordOptions& options) {
  ::chmod(dir.path().c_str(), 0755);  // the workers (nobody / www-data) read the handler
  const std::string chunk = dir.file("handler.lua");
  write_file(chunk, lua_source);
  NginxRecording r = record_nginx(dir, "content_by_lua_file " + chunk + ";", options);
  r.chunk = chunk;
  return r;
}

std::string NginxRecording::problem(uint64_t min_samples) const {
  if (!nginx_started) return "nginx did not answer: " + error_log;
  if (wrk_status != 0) return "wrk failed: " + wrk_err;
  if (kperf_status != 0) return "kperf record failed: " + kperf_err;
  if (total_samples(stacks) < min_samples) {
    return "only " + std::to_string(total_samples(stacks)) + " samples: " + kperf_err;
  }
  return "";
}

}  // namespace kperf::test

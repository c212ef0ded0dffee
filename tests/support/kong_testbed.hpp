// Real Kong 2.4.0 for integration tests: the project's shared kong/kong-testbed script,
// built once into the build tree (BUILD/kong-testbed/shared) and started per test in a
// private directory on free loopback ports.
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

namespace kperf::test {

// "" when the test bed can run here; otherwise one line saying why not (no shared
// folder beside the checkout, not root). Tests GTEST_SKIP with it; CI has both.
std::string kong_testbed_unavailable();

// The kong-testbed script in the shared folder.
std::string kong_testbed_script();

// Builds the shared test bed once (idempotent, serialized by a lock file across
// concurrent tests) and returns its build folder. Throws with the script's output.
std::string kong_testbed_build();

struct KongTestbedOptions {
  int workers = 1;
  std::string declarative;    // KONG_DECLARATIVE: own declarative config file ("" = built-in)
  std::string luajit_libdir;  // LUAJIT_LIBDIR: another libluajit-5.1.so.2 ("" = Debian's)
  std::vector<std::pair<std::string, std::string>> env;  // more KONG_* overrides
};

// One running Kong (+ its upstream) in a fresh temp directory whose build/ links to the
// shared build. The constructor returns when Kong's status API answers (throws with the
// script's output otherwise); the destructor stops both and removes the directory.
class KongTestbed {
 public:
  explicit KongTestbed(const KongTestbedOptions& options = {});
  ~KongTestbed();
  KongTestbed(const KongTestbed&) = delete;
  KongTestbed& operator=(const KongTestbed&) = delete;

  const std::string& dir() const { return dir_; }
  int proxy_port() const { return proxy_port_; }
  int status_port() const { return status_port_; }
  int upstream_port() const { return upstream_port_; }
  std::string proxy_url() const;     // http://127.0.0.1:PROXY_PORT
  std::string upstream_url() const;  // http://127.0.0.1:UPSTREAM_PORT
  std::string kong_bin() const;        // DIR/build/install/bin/kong
  std::string install_prefix() const;  // DIR/build/install (holds bin/kong): --kong-prefix
  std::string prefix() const;          // Kong's prefix: nginx.conf, logs/, pids/nginx.pid
  std::string error_log() const;
  pid_t master_pid() const;            // from the prefix's pid file; -1 if unreadable

  // Runs `kong-testbed ARG DIR` (status, env...) and returns its exit status; output in *out.
  int script(const std::string& arg, std::string* out = nullptr) const;

 private:
  std::string dir_;
  int proxy_port_ = 0, status_port_ = 0, upstream_port_ = 0;
  bool started_ = false;
};

}  // namespace kperf::test

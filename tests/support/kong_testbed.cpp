// Real Kong 2.4.0 for integration tests (see kong_testbed.hpp).
#include "tests/support/kong_testbed.hpp"
#include "tests/support/file_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include "tests/support/ports.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace kperf::test {

namespace {

namespace fs = std::filesystem;

std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string shared_build_root() { return std::string(KPERF_BUILD_DIR) + "/kong-testbed/shared"; }

}  // namespace

std::string kong_testbed_script() { return std::string(KPERF_SHARED_DIR) + "/kong/kong-testbed"; }

std::string kong_testbed_unavailable() {
  if (::access(kong_testbed_script().c_str(), X_OK) != 0) {
    return "no Kong test bed: " + kong_testbed_script() + " is not there (the project's shared folder is not "
           "beside this checkout; CI has it)";
  }
  if (::geteuid() != 0) return "the Kong test bed tests need root (apt installs, BPF sampling)";
  return "";
}

std::string kong_testbed_build() {
  const std::string root = shared_build_root();
  fs::create_directories(root);
  FileLock lock(std::string(KPERF_BUILD_DIR) + "/kong-testbed/.lock");
  std::string out;
  if (run_command(shell_quote(kong_testbed_script()) + " build " + shell_quote(root), &out) != 0) {
    throw std::runtime_error("kong-testbed build failed:\n" + out);
  }
  return root + "/build";
}

KongTestbed::KongTestbed(const KongTestbedOptions& options) {
  const std::string build = kong_testbed_build();
  char tmpl[] = "/tmp/kperf-kong-XXXXXX";
  if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  fs::create_directory_symlink(build, dir_ + "/build");
  std::string last;
  for (int attempt = 0; attempt < 3 && !started_; ++attempt) {  // a free port may be taken meanwhile
    proxy_port_ = free_port();
    status_port_ = free_port();
    upstream_port_ = free_port();
    std::string env = "PROXY_PORT=" + std::to_string(proxy_port_) + " STATUS_PORT=" + std::to_string(status_port_) +
                      " UPSTREAM_PORT=" + std::to_string(upstream_port_) + " WORKERS=" +
                      std::to_string(options.workers);
    if (!options.declarative.empty()) env += " KONG_DECLARATIVE=" + shell_quote(options.declarative);
    if (!options.luajit_libdir.empty()) env += " LUAJIT_LIBDIR=" + shell_quote(options.luajit_libdir);
    for (const auto& [k, v] : options.env) env += " " + k + "=" + shell_quote(v);
    last.clear();
    if (run_command(env + " " + shell_quote(kong_testbed_script()) + " start " + shell_quote(dir_), &last) == 0) {
      started_ = true;
    } else {
      script("stop");
    }
  }
  if (!started_) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
    throw std::runtime_error("kong-testbed start failed:\n" + last);
  }
}

KongTestbed::~KongTestbed() {
  if (started_) script("stop");
  std::error_code ec;
  fs::remove(dir_ + "/build", ec);  // the link only, never the shared build
  fs::remove_all(dir_, ec);
}

int KongTestbed::script(const std::string& arg, std::string* out) const {
  return run_command(shell_quote(kong_testbed_script()) + " " + arg + " " + shell_quote(dir_), out);
}

std::string KongTestbed::proxy_url() const { return "http://127.0.0.1:" + std::to_string(proxy_port_); }
std::string KongTestbed::upstream_url() const { return "http://127.0.0.1:" + std::to_string(upstream_port_); }
std::string KongTestbed::kong_bin() const { return dir_ + "/build/install/bin/kong"; }
std::string KongTestbed::install_prefix() const { return dir_ + "/build/install"; }
std::string KongTestbed::prefix() const { return dir_ + "/prefix"; }
std::string KongTestbed::error_log() const { return prefix() + "/logs/error.log"; }

pid_t KongTestbed::master_pid() const {
  const std::string text = read_file(prefix() + "/pids/nginx.pid");
  const long pid = std::strtol(text.c_str(), nullptr, 10);
  return pid > 0 ? static_cast<pid_t>(pid) : -1;
}

}  // namespace kperf::test

// The test nginx: writes its conf, starts it with posix_spawn, waits for its ports.
#include "tests/support/nginx_server.hpp"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "tests/support/ports.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

extern char** environ;

namespace kperf::test {

Nginx::Nginx(const std::string& server_body, const std::string& http_extra, const std::string& tls_server_body) {
  char tmpl[] = "/tmp/kperf-test-nginx-XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  std::filesystem::create_directories(dir_ + "/logs");
  std::filesystem::create_directories(dir_ + "/tmp");
  port_ = free_port();
  std::ostringstream c;
  c << "load_module /usr/lib/nginx/modules/ndk_http_module.so;\n"
    << "load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;\n"
    << (geteuid() == 0 ? "user root;\n" : "") << "daemon off;\nmaster_process on;\n"
    << "worker_processes 1;\nerror_log " << dir_ << "/logs/error.log warn;\n"
    << "pid " << dir_ << "/logs/nginx.pid;\nevents { worker_connections 4096; }\n"
    << "http {\n  log_format k '$request_method $request_uri $status $http_x_test "
       "$content_length $ssl_server_name';\n"
    << "  access_log " << dir_ << "/logs/access.log k;\n"
    << "  client_body_temp_path " << dir_ << "/tmp;\n  proxy_temp_path " << dir_ << "/tmp;\n"
    << "  fastcgi_temp_path " << dir_ << "/tmp;\n  uwsgi_temp_path " << dir_ << "/tmp;\n"
    << "  scgi_temp_path " << dir_ << "/tmp;\n  keepalive_requests 1000000;\n"
    << http_extra << "\n"
    << "  server {\n    listen 127.0.0.1:" << port_ << ";\n" << server_body << "\n  }\n";
  if (!tls_server_body.empty()) {
    tls_port_ = free_port();
    const std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost -keyout " + dir_ +
                            "/key.pem -out " + dir_ + "/cert.pem";
    std::string out;
    if (run_command(cmd, &out) != 0) throw std::runtime_error("openssl failed: " + out);
    c << "  server {\n    listen 127.0.0.1:" << tls_port_ << " ssl;\n    ssl_certificate " << dir_
      << "/cert.pem;\n    ssl_certificate_key " << dir_ << "/key.pem;\n"
      << tls_server_body << "\n  }\n";
  }
  c << "}\n";
  std::ofstream(dir_ + "/nginx.conf") << c.str();
  const std::string err = dir_ + "/logs/error.log";
  std::vector<std::string> args = {"/usr/sbin/nginx", "-p", dir_ + "/", "-c", dir_ + "/nginx.conf", "-e", err};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  if (posix_spawn(&pid_, argv[0], nullptr, nullptr, argv.data(), environ) != 0)
    throw std::runtime_error("cannot start nginx");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!port_open(port_) || (tls_port_ && !port_open(tls_port_))) {
    int st = 0;
    if (waitpid(pid_, &st, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("nginx exited: " + read_file(err));
    }
    if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("nginx did not start");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

Nginx::~Nginx() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    int st = 0;
    waitpid(pid_, &st, 0);
  }
  std::error_code ec;
  if (!getenv("KPERF_KEEP_TMP")) std::filesystem::remove_all(dir_, ec);
}

std::vector<std::string> Nginx::access_lines() const {
  std::vector<std::string> lines;
  std::istringstream in(read_file(dir_ + "/logs/access.log"));
  std::string l;
  while (std::getline(in, l)) lines.push_back(l);
  return lines;
}

std::size_t Nginx::wait_access_lines(std::size_t n) const {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (;;) {
    const std::size_t have = access_lines().size();
    if (have >= n || std::chrono::steady_clock::now() > deadline) return have;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace kperf::test

// Test fixture: a real nginx (Debian's, with the Lua module) on 127.0.0.1 with free
// ports, in its own temp prefix, stopped and removed on destruction.
#pragma once

#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace kperf::test {

inline int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot find a free port");
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

inline bool port_open(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

// Runs a command, returns its exit status; stdout+stderr go to `out` when given.
inline int run_command(const std::string& cmd, std::string* out = nullptr) {
  std::string full = cmd + " 2>&1";
  FILE* p = ::popen(full.c_str(), "r");
  if (!p) return -1;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) {
    if (out) out->append(buf, n);
  }
  int st = ::pclose(p);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

class Nginx {
 public:
  // `http_extra` goes into http{}, `server_body` into the plain server{} (port()), and
  // `tls_server_body` (when not empty) into an ssl server{} on tls_port() with a
  // self-signed certificate made by the openssl CLI.
  Nginx(const std::string& server_body, const std::string& http_extra = "",
        const std::string& tls_server_body = "") {
    char tmpl[] = "/tmp/kperf-loadgen-nginx-XXXXXX";
    if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    std::filesystem::create_directories(dir_ + "/logs");
    std::filesystem::create_directories(dir_ + "/tmp");
    port_ = free_port();
    std::ostringstream c;
    c << "load_module /usr/lib/nginx/modules/ndk_http_module.so;\n"
      << "load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;\n"
      << (::geteuid() == 0 ? "user root;\n" : "") << "daemon off;\nmaster_process on;\n"
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
      const std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost -keyout " +
                              dir_ + "/key.pem -out " + dir_ + "/cert.pem";
      std::string out;
      if (run_command(cmd, &out) != 0) throw std::runtime_error("openssl failed: " + out);
      c << "  server {\n    listen 127.0.0.1:" << tls_port_ << " ssl;\n    ssl_certificate " << dir_
        << "/cert.pem;\n    ssl_certificate_key " << dir_ << "/key.pem;\n"
        << tls_server_body << "\n  }\n";
    }
    c << "}\n";
    std::ofstream(dir_ + "/nginx.conf") << c.str();
    const std::string prefix = dir_ + "/";
    const std::string conf = dir_ + "/nginx.conf";
    const std::string err = dir_ + "/logs/error.log";
    std::vector<std::string> args = {"/usr/sbin/nginx", "-p", prefix, "-c", conf, "-e", err};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (::posix_spawn(&pid_, argv[0], nullptr, nullptr, argv.data(), environ) != 0)
      throw std::runtime_error("cannot start nginx");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!port_open(port_) || (tls_port_ && !port_open(tls_port_))) {
      int st = 0;
      if (::waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        throw std::runtime_error("nginx exited: " + read(err));
      }
      if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("nginx did not start");
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  ~Nginx() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int st = 0;
      ::waitpid(pid_, &st, 0);
    }
    std::error_code ec;
    if (!::getenv("KPERF_KEEP_TMP")) std::filesystem::remove_all(dir_, ec);
  }
  Nginx(const Nginx&) = delete;
  Nginx& operator=(const Nginx&) = delete;

  int port() const { return port_; }
  int tls_port() const { return tls_port_; }
  const std::string& dir() const { return dir_; }
  std::string url(const std::string& path = "/") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

  static std::string read(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }
  std::vector<std::string> access_lines() const {
    std::vector<std::string> lines;
    std::istringstream in(read(dir_ + "/logs/access.log"));
    std::string l;
    while (std::getline(in, l)) lines.push_back(l);
    return lines;
  }
  // Waits until the access log holds `n` lines (or 5 s pass); returns the line count.
  size_t wait_access_lines(size_t n) const {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    size_t have = 0;
    for (;;) {
      have = access_lines().size();
      if (have >= n || std::chrono::steady_clock::now() > deadline) return have;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

 private:
  std::string dir_;
  int port_ = 0;
  int tls_port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace kperf::test

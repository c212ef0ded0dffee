// A real nginx for tests (Debian's, with the Lua module) on 127.0.0.1 with free ports,
// in its own temp prefix, stopped and removed on destruction; optionally a TLS server.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <vector>

namespace kperf::test {

class Nginx {
 public:
  // `http_extra` goes into http{}, `server_body` into the plain server{} (port()), and
  // `tls_server_body` (when not empty) into an ssl server{} on tls_port() with a
  // self-signed certificate made by the openssl CLI. Access log: `$request_method
  // $request_uri $status $http_x_test $content_length $ssl_server_name`.
  explicit Nginx(const std::string& server_body, const std::string& http_extra = "",
                 const std::string& tls_server_body = "");
  ~Nginx();
  Nginx(const Nginx&) = delete;
  Nginx& operator=(const Nginx&) = delete;

  int port() const { return port_; }
  int tls_port() const { return tls_port_; }
  pid_t master_pid() const { return pid_; }
  const std::string& dir() const { return dir_; }
  std::string url(const std::string& path = "/") const { return "http://127.0.0.1:" + std::to_string(port_) + path; }

  std::vector<std::string> access_lines() const;
  // Waits until the access log holds `n` lines (or 5 s pass); returns the line count.
  std::size_t wait_access_lines(std::size_t n) const;

 private:
  std::string dir_;
  int port_ = 0;
  int tls_port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace kperf::test

// A tiny blocking HTTP/1.1 client for loopback (127.0.0.1) only: the lab driver's
// readiness probe and the lab tests' request helper. One request per connection.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kperf {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpResponse {
  int status = 0;
  HttpHeaders headers;  // as received, names as sent by the server
  std::string body;     // de-chunked

  // The first header named `name` (case-insensitive), if any.
  std::optional<std::string> header(std::string_view name) const;
  // How many headers are named `name` (case-insensitive).
  size_t header_count(std::string_view name) const;
};

// Sends `METHOD target HTTP/1.1` to 127.0.0.1:port with `Connection: close`, reads
// the whole response. Throws std::runtime_error on connect failure, timeout (the
// whole exchange) or a malformed response.
HttpResponse http_request(int port, std::string_view method, std::string_view target,
                          const HttpHeaders& headers = {},
                          std::chrono::milliseconds timeout = std::chrono::seconds(5));

inline HttpResponse http_get(int port, std::string_view target, const HttpHeaders& headers = {},
                             std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  return http_request(port, "GET", target, headers, timeout);
}

}  // namespace kperf

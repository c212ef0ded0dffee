// Target URL of a load test: http:// or https://, host (name, IPv4 or [IPv6]), port,
// and the request target (path + query, which may hold {a..b} templates).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace kperf::loadgen {

struct Url {
  bool tls = false;
  std::string host;        // without brackets for IPv6
  uint16_t port = 0;
  std::string target;      // "/path?query", at least "/"
  std::string host_header; // "host" or "host:port" when the port is not the default
};

// Throws std::invalid_argument with a one-line message on a malformed URL or a scheme
// other than http/https.
Url parse_url(std::string_view text);

}  // namespace kperf::loadgen

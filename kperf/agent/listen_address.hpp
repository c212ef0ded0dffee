// `kperf agent --listen`: ADDR:PORT, [V6ADDR]:PORT or a bare PORT (on 127.0.0.1).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace kperf::agent {

inline constexpr int kDefaultPort = 6060;  // net/http/pprof's customary port

struct ListenAddress {
  std::string host;  // a numeric IPv4 or IPv6 address
  std::uint16_t port = kDefaultPort;
  // host:port as a URL authority ("127.0.0.1:6060", "[::1]:6060").
  std::string authority() const;
};

// Throws std::invalid_argument with one line for anything else (names are not resolved:
// the agent binds exactly the address it is given).
ListenAddress parse_listen_address(std::string_view text);

}  // namespace kperf::agent

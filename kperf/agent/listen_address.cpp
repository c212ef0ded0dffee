// Parsing --listen.
#include "kperf/agent/listen_address.hpp"

#include <charconv>
#include <stdexcept>

#include <boost/asio/ip/address.hpp>
#include <fmt/core.h>

namespace kperf::agent {

std::string ListenAddress::authority() const {
  return host.find(':') != std::string::npos ? fmt::format("[{}]:{}", host, port) : fmt::format("{}:{}", host, port);
}

ListenAddress parse_listen_address(std::string_view text) {
  const auto bad = [&](std::string_view why) {
    return std::invalid_argument(fmt::format("--listen '{}': {} (give ADDR:PORT, e.g. 127.0.0.1:{} or "
                                             "0.0.0.0:{} for every interface)",
                                             text, why, kDefaultPort, kDefaultPort));
  };
  ListenAddress a;
  std::string_view host = "127.0.0.1", port;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      throw bad("an IPv6 address needs the form [ADDR]:PORT");
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else if (const size_t colon = text.rfind(':'); colon != std::string_view::npos) {
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.empty()) throw bad("no address");
    if (host.find(':') != std::string_view::npos) throw bad("an IPv6 address needs the form [ADDR]:PORT");
  } else {
    port = text;
  }
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value > 65535) {
    throw bad("the port must be a number from 0 to 65535");
  }
  boost::system::error_code aec;
  const auto addr = boost::asio::ip::make_address(std::string(host), aec);
  if (aec) throw bad("not a numeric IP address");
  a.host = addr.to_string();
  a.port = static_cast<std::uint16_t>(value);
  return a;
}

}  // namespace kperf::agent

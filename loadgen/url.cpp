// parse_url: a strict, small parser for the URLs a load test accepts.
#include "loadgen/url.hpp"

#include <charconv>
#include <stdexcept>

#include <fmt/core.h>

namespace kperf::loadgen {

Url parse_url(std::string_view text) {
  auto fail = [&](std::string_view why) {
    return std::invalid_argument(fmt::format("invalid URL '{}': {}", text, why));
  };
  Url url;
  const size_t sep = text.find("://");
  if (sep == std::string_view::npos) throw fail("expected http://HOST[:PORT]/PATH or https://...");
  std::string scheme(text.substr(0, sep));
  for (auto& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (scheme == "http") {
    url.tls = false;
    url.port = 80;
  } else if (scheme == "https") {
    url.tls = true;
    url.port = 443;
  } else {
    throw std::invalid_argument(
        fmt::format("unsupported URL scheme '{}' in '{}' (use http or https)", scheme, text));
  }
  std::string_view rest = text.substr(sep + 3);
  const size_t path_at = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, path_at);
  std::string_view target = path_at == std::string_view::npos ? "" : rest.substr(path_at);
  if (authority.find('@') != std::string_view::npos) throw fail("user info is not supported");
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) throw fail("unterminated IPv6 address");
    url.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') throw fail("unexpected text after IPv6 address");
      port_text = after.substr(1);
      if (port_text.empty()) throw fail("empty port");
    }
  } else {
    const size_t colon = authority.rfind(':');
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) throw fail("empty port");
      authority = authority.substr(0, colon);
    }
    url.host = std::string(authority);
  }
  if (url.host.empty()) throw fail("missing host");
  for (char c : url.host) {
    if (static_cast<unsigned char>(c) <= ' ' || c == '/' || c == '{' || c == '}' || c == '#')
      throw fail("invalid character in host");
  }
  if (!port_text.empty()) {
    unsigned value = 0;
    auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (ec != std::errc() || p != port_text.data() + port_text.size() || value == 0 || value > 65535)
      throw fail(fmt::format("invalid port '{}'", port_text));
    url.port = static_cast<uint16_t>(value);
  }
  if (target.find('#') != std::string_view::npos) target = target.substr(0, target.find('#'));
  for (char c : target) {
    if (static_cast<unsigned char>(c) <= ' ') throw fail("whitespace or control character in path");
  }
  url.target = target.empty() ? "/" : (target.front() == '?' ? "/" + std::string(target) : std::string(target));
  const bool ipv6 = url.host.find(':') != std::string::npos;
  const std::string host = ipv6 ? "[" + url.host + "]" : url.host;
  const bool default_port = url.port == (url.tls ? 443 : 80);
  url.host_header = default_port ? host : fmt::format("{}:{}", host, url.port);
  return url;
}

}  // namespace kperf::loadgen

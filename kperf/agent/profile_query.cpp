// Parsing request targets and the profile endpoint's query.
#include "kperf/agent/profile_query.hpp"

#include <charconv>
#include <optional>

#include <fmt/core.h>

namespace kperf::agent {

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// %XX decoding ('+' as a space in queries); nullopt for a broken escape.
std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      const int hi = hex_digit(s[i + 1]), lo = hex_digit(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (plus_is_space && s[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// A value as it may be quoted back in a one-line reason: printable, bounded.
std::string shown(std::string_view v) {
  std::string out;
  for (char c : v.substr(0, 40)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  if (v.size() > 40) out += "...";
  return out;
}

}  // namespace

RequestTarget split_target(std::string_view target) {
  RequestTarget t;
  const size_t q = target.find('?');
  const std::string_view path = target.substr(0, q);
  t.path = percent_decode(path, false).value_or(std::string(path));
  if (q != std::string_view::npos) t.query = std::string(target.substr(q + 1));
  return t;
}

ProfileQuery parse_profile_query(std::string_view query) {
  ProfileQuery r;
  bool seen = false;
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    const auto key = percent_decode(pair.substr(0, eq), true);
    if (!key || *key != "seconds") continue;
    const std::string_view raw = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    if (seen) {
      r.error = "seconds is given more than once";
      return r;
    }
    seen = true;
    const auto value = percent_decode(raw, true);
    const std::string v = value.value_or(std::string(raw));
    int n = 0;
    const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (v.empty() || ec != std::errc() || end != v.data() + v.size()) {
      if (ec == std::errc::result_out_of_range) {
        r.error = fmt::format("seconds={} is out of range: give {} to {}", shown(v), kMinSeconds, kMaxSeconds);
      } else {
        r.error = fmt::format("seconds='{}' is not a whole number of seconds ({} to {})", shown(v), kMinSeconds,
                              kMaxSeconds);
      }
      return r;
    }
    if (n < kMinSeconds || n > kMaxSeconds) {
      r.error = fmt::format("seconds={} is out of range: give {} to {}", n, kMinSeconds, kMaxSeconds);
      return r;
    }
    r.seconds = n;
  }
  return r;
}

}  // namespace kperf::agent

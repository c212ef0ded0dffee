// The agent's request targets: the path, and the `seconds` of /debug/pprof/profile checked
// against its bounds (Go's convention: default 30), with a one-line reason for a 400.
#pragma once

#include <string>
#include <string_view>

namespace kperf::agent {

inline constexpr int kDefaultSeconds = 30;  // like Go's net/http/pprof
inline constexpr int kMinSeconds = 1;
inline constexpr int kMaxSeconds = 300;

struct RequestTarget {
  std::string path;   // percent-decoded, without the query
  std::string query;  // raw, without '?'
};
RequestTarget split_target(std::string_view target);

struct ProfileQuery {
  int seconds = kDefaultSeconds;
  std::string error;  // not empty: the request is refused (400) with this line
};
// The query of /debug/pprof/profile: `seconds=N`, an integer from 1 to 300 (absent: 30).
// Other parameters are ignored, as Go's handler does.
ProfileQuery parse_profile_query(std::string_view query);

}  // namespace kperf::agent

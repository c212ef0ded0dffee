// The one readiness poll of the gateways (lab nginx, local Kong, Docker Kong): GET a
// status URL on loopback until it answers 200, the server is found gone, or time is up.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace kperf {

struct ReadyPolling {
  std::chrono::milliseconds timeout;          // the whole wait
  std::chrono::milliseconds request_timeout;  // one GET
  std::chrono::milliseconds interval;         // between GETs
};

// The last failed GET of a poll that timed out.
struct NotReady {
  int status = 0;     // the answer's status (not 200); 0: no answer
  std::string error;  // without an answer: why (the client's error)
};

// Polls GET http://127.0.0.1:port/path: returns nullopt once it answers 200, the last
// failure once `timing.timeout` has passed. Before each GET, `check` (if any) runs: it
// throws to give up (the server exited; a GET could reach whatever took its port).
std::optional<NotReady> poll_http_ready(int port, std::string_view path, const ReadyPolling& timing,
                                        const std::function<void()>& check);

}  // namespace kperf

// poll_http_ready: the retry loop over the loopback HTTP client.
#include "kperf/gateway/http_ready.hpp"

#include <exception>
#include <thread>

#include "kperf/gateway/lab_http.hpp"

namespace kperf {

std::optional<NotReady> poll_http_ready(int port, std::string_view path, const ReadyPolling& timing,
                                        const std::function<void()>& check) {
  const auto deadline = std::chrono::steady_clock::now() + timing.timeout;
  while (true) {
    if (check) check();
    NotReady last;
    try {
      const HttpResponse r = http_get(port, path, {}, timing.request_timeout);
      if (r.status == 200) return std::nullopt;
      last.status = r.status;
    } catch (const std::exception& e) {
      last.error = e.what();
    }
    if (std::chrono::steady_clock::now() >= deadline) return last;
    std::this_thread::sleep_for(timing.interval);
  }
}

}  // namespace kperf

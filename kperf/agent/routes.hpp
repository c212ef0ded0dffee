// What the agent answers to each request, apart from the profile itself: the index page,
// /healthz, 404, 405, and the 400 for a bad `seconds` — a pure function of the request
// and the agent's state, so the HTTP layer only moves bytes.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "kperf/agent/followed_target.hpp"
#include "kperf/agent/scrape_session.hpp"

namespace kperf::agent {

inline constexpr std::string_view kProfilePath = "/debug/pprof/profile";

struct AgentView {
  std::string spec;       // "--prefix DIR" / "--pid N"
  std::string authority;  // where it listens: "127.0.0.1:6060"
  int frequency = 99;
  TargetStatus target;
  SessionStats stats;
};

struct Reply {
  unsigned status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

struct Routed {
  std::optional<Reply> reply;  // answer this now
  int scrape_seconds = 0;      // no reply: start a scrape of this many seconds
};

Routed route(std::string_view method, std::string_view target, const AgentView& view);

// The one-line text reply of an error: the reason and a newline.
Reply text_reply(unsigned status, std::string_view line);

}  // namespace kperf::agent

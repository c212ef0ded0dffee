// The agent's routes: /, /healthz, /debug/pprof/profile (query checked here), 404, 405.
#include "kperf/agent/routes.hpp"

#include <fmt/core.h>

#include "kperf/agent/profile_query.hpp"

namespace kperf::agent {

namespace {

std::string html_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

Reply index_page(const AgentView& v) {
  std::string events;
  for (auto it = v.target.events.rbegin(); it != v.target.events.rend(); ++it) {
    events += fmt::format("<li>{}</li>\n", html_escape(*it));
  }
  const std::string state =
      !v.stats.recording ? std::string("idle (nothing is sampled until a profile is asked for)")
      : v.stats.pending > 0
          ? fmt::format("sampling at {} Hz for {} pending scrape(s)", v.frequency, v.stats.pending)
          : fmt::format("sampling at {} Hz, kept warm for the next scrape (--keep-warm)", v.frequency);
  Reply r;
  r.content_type = "text/html; charset=utf-8";
  r.body = fmt::format(
      "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>kperf agent</title></head><body>\n"
      "<h1>kperf agent</h1>\n"
      "<p>Target ({spec}): <b>{status}</b> &mdash; {desc}</p>\n"
      "<p>State: {state}. Recordings started: {sessions}; profiles served: {served}; scrapes abandoned by "
      "their client: {cancelled}. Stack nodes held: {held}.</p>\n"
      "<ul>\n"
      "<li><a href=\"{path}?seconds=30\">{path}?seconds=30</a> &mdash; CPU profile of the next N seconds "
      "(1 to 300, default 30) as gzipped pprof, with plugin / phase / process labels</li>\n"
      "<li><a href=\"/healthz\">/healthz</a> &mdash; 200 while a target is followed, 503 with the reason "
      "otherwise</li>\n"
      "</ul>\n"
      "<p><code>go tool pprof -http=: http://{auth}{path}?seconds=30</code></p>\n"
      "<h2>Target history</h2>\n<ul>\n{events}</ul>\n</body></html>\n",
      fmt::arg("spec", html_escape(v.spec)), fmt::arg("status", v.target.ok ? "followed" : "not running"),
      fmt::arg("desc", html_escape(v.target.description)), fmt::arg("state", html_escape(state)),
      fmt::arg("sessions", v.stats.sessions), fmt::arg("served", v.stats.served),
      fmt::arg("cancelled", v.stats.cancelled), fmt::arg("held", v.stats.held_nodes), fmt::arg("path", kProfilePath),
      fmt::arg("auth", html_escape(v.authority)), fmt::arg("events", events.empty() ? "<li>none</li>\n" : events));
  return r;
}

Reply healthz(const AgentView& v) {
  if (!v.target.ok) return text_reply(503, fmt::format("no target: {}", v.target.description));
  std::string body = fmt::format("ok\nfollowing nginx master {}: {}\n", v.target.master, v.target.description);
  if (v.target.restarts > 0) {
    body += fmt::format("target restarted {} time(s); last: {}\n", v.target.restarts,
                        v.target.events.empty() ? std::string("?") : v.target.events.back());
  }
  Reply r;
  r.body = std::move(body);
  return r;
}

}  // namespace

Reply text_reply(unsigned status, std::string_view line) {
  Reply r;
  r.status = status;
  r.body = std::string(line) + "\n";
  return r;
}

Routed route(std::string_view method, std::string_view target, const AgentView& view) {
  if (method != "GET") {
    return Routed{text_reply(405, fmt::format("method {} is not allowed: only GET", method.substr(0, 20))), 0};
  }
  const RequestTarget t = split_target(target);
  if (t.path == "/") return Routed{index_page(view), 0};
  if (t.path == "/healthz") return Routed{healthz(view), 0};
  if (t.path == kProfilePath) {
    const ProfileQuery q = parse_profile_query(t.query);
    if (!q.error.empty()) return Routed{text_reply(400, q.error), 0};
    return Routed{std::nullopt, q.seconds};
  }
  return Routed{text_reply(404, fmt::format("no such page: the agent serves /, /healthz and {}", kProfilePath)), 0};
}

}  // namespace kperf::agent

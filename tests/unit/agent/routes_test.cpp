// The agent's routes: status codes and one-line reasons, the index page and /healthz.
#include <gtest/gtest.h>

#include "kperf/agent/routes.hpp"

namespace kperf::agent {
namespace {

AgentView followed() {
  AgentView v;
  v.spec = "--prefix /srv/kong";
  v.authority = "127.0.0.1:6060";
  v.target.ok = true;
  v.target.master = 123;
  v.target.description = "pid 123 from /srv/kong/pids/nginx.pid (nginx master: ...)";
  return v;
}

TEST(Routes, ProfileStartsAScrapeWithTheAskedSeconds) {
  const auto r = route("GET", "/debug/pprof/profile?seconds=7", followed());
  EXPECT_FALSE(r.reply);
  EXPECT_EQ(r.scrape_seconds, 7);
  EXPECT_EQ(route("GET", "/debug/pprof/profile", followed()).scrape_seconds, 30);
}

TEST(Routes, BadSecondsIs400WithOneLine) {
  const auto r = route("GET", "/debug/pprof/profile?seconds=0", followed());
  ASSERT_TRUE(r.reply);
  EXPECT_EQ(r.reply->status, 400u);
  EXPECT_EQ(r.reply->body, "seconds=0 is out of range: give 1 to 300\n");
}

TEST(Routes, OnlyGet) {
  for (const char* m : {"POST", "PUT", "DELETE", "HEAD"}) {
    const auto r = route(m, "/debug/pprof/profile", followed());
    ASSERT_TRUE(r.reply) << m;
    EXPECT_EQ(r.reply->status, 405u) << m;
  }
}

TEST(Routes, UnknownPathsAre404) {
  for (const char* p : {"/debug/pprof/heap", "/debug/pprof/profile/", "/x", "/healthz/"}) {
    const auto r = route("GET", p, followed());
    ASSERT_TRUE(r.reply) << p;
    EXPECT_EQ(r.reply->status, 404u) << p;
  }
}

TEST(Routes, HealthzSaysOkOrWhyNot) {
  auto v = followed();
  auto r = route("GET", "/healthz", v);
  EXPECT_EQ(r.reply->status, 200u);
  EXPECT_EQ(r.reply->body.rfind("ok\n", 0), 0u);
  v.target.restarts = 1;
  v.target.events = {"2026-12-06T03:00:00Z restarted: now following nginx master 456 (was 123)"};
  r = route("GET", "/healthz", v);
  EXPECT_NE(r.reply->body.find("restarted"), std::string::npos) << r.reply->body;
  v.target.ok = false;
  v.target.description = "--prefix /srv/kong: no nginx pid file";
  r = route("GET", "/healthz", v);
  EXPECT_EQ(r.reply->status, 503u);
  EXPECT_EQ(r.reply->body, "no target: --prefix /srv/kong: no nginx pid file\n");
}

TEST(Routes, IndexLinksTheEndpointsAndEscapesText) {
  auto v = followed();
  v.target.description = "<script>";
  const auto r = route("GET", "/", v);
  ASSERT_TRUE(r.reply);
  EXPECT_EQ(r.reply->status, 200u);
  EXPECT_EQ(r.reply->content_type, "text/html; charset=utf-8");
  EXPECT_NE(r.reply->body.find("href=\"/debug/pprof/profile?seconds=30\""), std::string::npos);
  EXPECT_NE(r.reply->body.find("href=\"/healthz\""), std::string::npos);
  EXPECT_NE(r.reply->body.find("&lt;script&gt;"), std::string::npos);
  EXPECT_EQ(r.reply->body.find("<script>"), std::string::npos);
}

}  // namespace
}  // namespace kperf::agent

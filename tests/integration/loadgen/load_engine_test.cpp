// Integration tests of the load generator library against a real nginx: request counts
// against nginx's access log, rate mode, slow responses and timeouts, refused and
// server-closed connections, chunked and Connection: close responses, HTTPS with SNI,
// URL templates and request options.
#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "loadgen/load.hpp"
#include "tests/support/nginx_server.hpp"
#include "tests/support/ports.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace kperf::loadgen {
namespace {

using namespace std::chrono_literals;
using test::Nginx;

LoadConfig config_for(const std::string& url, int threads, int conns, uint64_t n) {
  LoadConfig c;
  c.url = url;
  c.threads = threads;
  c.connections = conns;
  c.total_requests = n;
  c.duration = 20s;  // a bound only: -n ends the run
  return c;
}

size_t settled_lines(const Nginx& ngx, size_t expected) {
  ngx.wait_access_lines(expected);
  std::this_thread::sleep_for(100ms);  // would reveal extra requests
  return ngx.access_lines().size();
}

TEST(LoadEngine, RequestCountEqualsNginxAccessLog) {
  Nginx ngx("location / { return 200 'hello'; }");
  const LoadResult r = run_load(config_for(ngx.url("/"), 2, 8, 5000));
  EXPECT_EQ(r.requests, 5000u);
  EXPECT_EQ(r.errors.socket_total(), 0u);
  EXPECT_EQ(r.errors.status, 0u);
  EXPECT_EQ(r.latency.count(), 5000u);
  EXPECT_EQ(settled_lines(ngx, 5000), 5000u);
}

TEST(LoadEngine, DurationModeAccountsForEveryRequest) {
  Nginx ngx("location / { return 200 'hello'; }");
  LoadConfig c;
  c.url = ngx.url("/");
  c.threads = 2;
  c.connections = 6;
  c.duration = 1s;
  const LoadResult r = run_load(c);
  EXPECT_GT(r.requests, 100u);
  EXPECT_NEAR(r.runtime_s, 1.0, 0.2);
  // nginx answers every request sent, including those still in flight at the end.
  const size_t sent = r.requests + r.in_flight;
  EXPECT_EQ(settled_lines(ngx, sent), sent);
}

TEST(LoadEngine, RateModeHoldsTheRate) {
  Nginx ngx("location / { return 200 'hello'; }");
  LoadConfig c;
  c.url = ngx.url("/");
  c.threads = 2;
  c.connections = 20;
  c.duration = 5s;
  c.rate = 2000;
  c.uncorrected = true;
  const LoadResult r = run_load(c);
  EXPECT_NEAR(r.rps(), 2000.0, 2000.0 * 0.02) << "requests " << r.requests << " in " << r.runtime_s;
  ASSERT_TRUE(r.service.has_value());
  EXPECT_EQ(r.service->count(), r.requests);
  // Corrected latency (from the intended send time) is never below the service time.
  EXPECT_GE(r.latency.mean() + 1, r.service->mean());
}

TEST(LoadEngine, SlowLocationShowsInPercentilesAndTimeouts) {
  Nginx ngx(
      "location /slow { content_by_lua_block { ngx.sleep(0.2) ngx.say('slow') } }\n"
      "location /slower { content_by_lua_block { ngx.sleep(1.5) ngx.say('slower') } }");
  {
    LoadConfig c = config_for(ngx.url("/slow"), 1, 4, 12);
    const LoadResult r = run_load(c);
    EXPECT_EQ(r.requests, 12u);
    EXPECT_GE(r.latency.percentile(50), 200'000u);
    EXPECT_LT(r.latency.percentile(50), 400'000u);
    EXPECT_GE(r.latency.max(), 200'000u);
  }
  {
    LoadConfig c;
    c.url = ngx.url("/slower");
    c.threads = 1;
    c.connections = 2;
    c.duration = 1200ms;
    c.timeout = 300ms;
    const LoadResult r = run_load(c);
    EXPECT_EQ(r.requests, 0u);
    EXPECT_GE(r.errors.timeout, 2u);
    EXPECT_EQ(r.latency.count(), 0u);
  }
}

TEST(LoadEngine, RefusedConnectionsAreCountedNotFatal) {
  const int port = test::free_port();  // nothing listens there
  LoadConfig c;
  c.url = "http://127.0.0.1:" + std::to_string(port) + "/";
  c.threads = 1;
  c.connections = 2;
  c.duration = 500ms;
  const LoadResult r = run_load(c);
  EXPECT_EQ(r.requests, 0u);
  EXPECT_GT(r.errors.connect, 0u);
  EXPECT_NEAR(r.runtime_s, 0.5, 0.2);
}

TEST(LoadEngine, RequestCountModeEndsOnADeadTarget) {
  const int port = test::free_port();
  LoadConfig c = config_for("http://127.0.0.1:" + std::to_string(port) + "/", 1, 2, 10);
  c.duration = 0s;  // -n without -d: no time limit, but a dead target ends the run
  c.timeout = 300ms;
  const LoadResult r = run_load(c);
  EXPECT_EQ(r.requests, 0u);
  EXPECT_GT(r.errors.connect, 0u);
  EXPECT_LT(r.runtime_s, 2.0);
}

TEST(LoadEngine, ServerClosedConnectionsAreReopened) {
  Nginx ngx("keepalive_requests 3;\nlocation / { return 200 'hello'; }\n"
            "location /close { keepalive_timeout 0; return 200 'bye'; }");
  {
    const LoadResult r = run_load(config_for(ngx.url("/"), 1, 4, 300));
    EXPECT_EQ(r.requests, 300u);
    EXPECT_EQ(r.errors.socket_total(), 0u);
    EXPECT_GE(r.reconnects, 300u / 3 - 4);
  }
  {
    const LoadResult r = run_load(config_for(ngx.url("/close"), 1, 4, 200));
    EXPECT_EQ(r.requests, 200u);
    EXPECT_EQ(r.errors.socket_total(), 0u);
    EXPECT_GE(r.reconnects, 196u);
  }
  EXPECT_EQ(settled_lines(ngx, 500), 500u);
}

TEST(LoadEngine, ChunkedResponsesAndStatusErrors) {
  Nginx ngx(
      "location /chunked { content_by_lua_block {\n"
      "  for i = 1, 5 do ngx.print(string.rep('x', 100 * i)) ngx.flush(true) end } }\n"
      "location /missing { return 404; }");
  {
    const LoadResult r = run_load(config_for(ngx.url("/chunked"), 1, 2, 200));
    EXPECT_EQ(r.requests, 200u);
    EXPECT_EQ(r.errors.socket_total(), 0u);
    EXPECT_EQ(r.errors.status, 0u);
    EXPECT_GT(r.bytes, 200u * 1500u);  // bodies are read, not just headers
  }
  {
    const LoadResult r = run_load(config_for(ngx.url("/missing"), 1, 2, 100));
    EXPECT_EQ(r.requests, 100u);
    EXPECT_EQ(r.errors.status, 100u);
  }
}

TEST(LoadEngine, HttpsWithSelfSignedCertificateAndSni) {
  Nginx ngx("location / { return 200; }", "", "location / { return 200 'secure'; }");
  LoadConfig c = config_for("https://localhost:" + std::to_string(ngx.tls_port()) + "/tls", 2, 4, 400);
  const LoadResult r = run_load(c);
  EXPECT_EQ(r.requests, 400u);
  EXPECT_EQ(r.errors.socket_total(), 0u);
  const auto lines = ngx.access_lines();
  ASSERT_EQ(settled_lines(ngx, 400), 400u);
  for (const auto& l : ngx.access_lines()) {
    EXPECT_NE(l.find("GET /tls 200"), std::string::npos) << l;
    EXPECT_NE(l.find(" localhost"), std::string::npos) << "SNI missing: " << l;
  }
}

TEST(LoadEngine, UrlTemplatesCoverEveryValueAndAreDeterministic) {
  Nginx ngx("location / { return 200 'ok'; }");
  LoadConfig c = config_for(ngx.url("/s{1..3}-r{1..2}?apikey=consumer-{1..5}"), 1, 1, 1500);
  c.seed = 42;
  ASSERT_EQ(run_load(c).requests, 1500u);
  ASSERT_EQ(settled_lines(ngx, 1500), 1500u);
  const auto first = ngx.access_lines();
  const std::regex re(R"(GET /s([1-3])-r([1-2])\?apikey=consumer-([1-5]) 200 .*)");
  std::set<std::string> seen;
  for (const auto& l : first) {
    std::smatch m;
    ASSERT_TRUE(std::regex_match(l, m, re)) << l;
    seen.insert(m[1].str() + m[2].str() + m[3].str());
  }
  EXPECT_EQ(seen.size(), 3u * 2u * 5u);
  // The same seed (one thread, one connection) gives the same sequence.
  ASSERT_EQ(run_load(c).requests, 1500u);
  ASSERT_EQ(settled_lines(ngx, 3000), 3000u);
  const auto all = ngx.access_lines();
  EXPECT_TRUE(std::equal(first.begin(), first.end(), all.begin() + 1500));
}

TEST(LoadEngine, MethodHeadersBodyAndPaths) {
  Nginx ngx("location / { return 200 'ok'; }");
  LoadConfig c = config_for(ngx.url("/ignored"), 1, 2, 300);
  c.method = "POST";
  c.headers = {"X-Test: yes", "Content-Type: text/plain"};
  c.body = "0123456789";
  c.paths = {"/a", "/b{1..2}"};
  ASSERT_EQ(run_load(c).requests, 300u);
  ASSERT_EQ(settled_lines(ngx, 300), 300u);
  std::set<std::string> uris;
  for (const auto& l : ngx.access_lines()) {
    std::istringstream in(l);
    std::string method, uri, status, xtest, length;
    in >> method >> uri >> status >> xtest >> length;
    EXPECT_EQ(method, "POST");
    EXPECT_EQ(status, "200");
    EXPECT_EQ(xtest, "yes");
    EXPECT_EQ(length, "10");
    uris.insert(uri);
  }
  EXPECT_EQ(uris, (std::set<std::string>{"/a", "/b1", "/b2"}));
}

TEST(LoadEngine, StopFlagEndsTheRunEarly) {
  Nginx ngx("location / { return 200 'ok'; }");
  LoadConfig c;
  c.url = ngx.url("/");
  c.threads = 1;
  c.connections = 2;
  c.duration = 30s;
  std::atomic<bool> stop{false};
  int calls = 0;
  const LoadResult r = run_load(c, [&](const Progress& p) {
    ++calls;
    if (p.elapsed_s > 0.5) stop = true;
  }, &stop);
  EXPECT_TRUE(r.stopped_early);
  EXPECT_LT(r.runtime_s, 3.0);
  EXPECT_GT(r.requests, 0u);
  EXPECT_GE(calls, 2);
}

}  // namespace
}  // namespace kperf::loadgen

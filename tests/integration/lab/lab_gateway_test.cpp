// Integration tests of the lab gateway: real nginx + lua module on 127.0.0.1 started by
// kperf::Lab; requests through it check routing, plugins, metrics, logs, reload, stop.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "kperf/gateway/lab.hpp"
#include "kperf/gateway/lab_http.hpp"
#include "kperf/run/workload.hpp"

namespace {

using kperf::HttpResponse;
using kperf::Lab;
using kperf::LabOptions;
using kperf::Workload;
using ::testing::HasSubstr;
using nlohmann::json;
namespace fs = std::filesystem;

LabOptions small(int workers = 1) {
  LabOptions o;
  o.workers = workers;
  return o;
}

HttpResponse get(const Lab& lab, const std::string& target, const kperf::HttpHeaders& headers = {}) {
  return kperf::http_get(lab.gateway_port(), target, headers);
}

size_t line_count(const fs::path& p) {
  std::ifstream in(p);
  size_t n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}

// The first value of every {a..b} range of a load template: "/s{1..10}-r{2..3}" → "/s1-r2".
std::string first_of_template(const std::string& t) {
  static const std::regex range(R"(\{(\d+)\.\.\d+\})");
  return std::regex_replace(t, range, "$1");
}

// Sum of the samples of `family` (optionally only lines containing `filter`) in /metrics.
double metric_sum(const Lab& lab, const std::string& family, const std::string& filter = "") {
  HttpResponse r = get(lab, "/metrics");
  EXPECT_EQ(r.status, 200);
  std::istringstream in(r.body);
  double sum = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(family + "{", 0) != 0) continue;
    if (!filter.empty() && line.find(filter) == std::string::npos) continue;
    sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

bool process_exists(pid_t pid) { return fs::exists("/proc/" + std::to_string(pid)); }

// A workload made of the test's own YAML (kong: section body after _format_version).
Workload inline_workload(const std::string& kong_body) {
  return Workload::parse("name: inline\nload: {path: /}\nkong:\n  _format_version: \"3.0\"\n" + kong_body,
                         "inline.yaml");
}

const std::string kEchoService =
    "  services:\n"
    "    - name: echo\n"
    "      url: http://kperf-upstream/echo\n"
    "      routes:\n"
    "        - {name: echo, paths: [\"/echo\"]}\n"
    "    - name: plain\n"
    "      url: http://kperf-upstream/test\n"
    "      routes:\n"
    "        - {name: plain, paths: [\"/plain\"]}\n";

// Every bundled workload: the lab starts, the load's request (first value of each
// template range) answers 200, an unknown route 404 with Kong's JSON, one access log
// line per gateway request, and no error in the error logs.
TEST(LabGateway, EveryWorkloadStartsAndServes) {
  for (const auto& name : kperf::list_workloads()) {
    SCOPED_TRACE(name);
    Workload w = Workload::load(name);
    Lab lab(w, small());
    std::string target = first_of_template(w.load().path);
    size_t before = line_count(lab.access_log());
    HttpResponse r = w.load().target == kperf::LoadSpec::Target::Upstream
                         ? kperf::http_get(lab.upstream_port(), target)
                         : get(lab, target);
    EXPECT_EQ(r.status, 200) << target << "\n" << r.body;
    HttpResponse nf = get(lab, "/no-such-route-anywhere");
    EXPECT_EQ(nf.status, 404);
    auto body = json::parse(nf.body);
    EXPECT_EQ(body["message"], "no Route matched with those values");
    EXPECT_THAT(nf.header("Content-Type").value_or(""), HasSubstr("application/json"));
    size_t sent = w.load().target == kperf::LoadSpec::Target::Upstream ? 1 : 2;
    EXPECT_EQ(line_count(lab.access_log()), before + sent);
    EXPECT_THAT(lab.error_log_problems(), ::testing::IsEmpty());
  }
}

TEST(LabGateway, RoutesProxyToTheUpstream) {
  Lab lab(Workload::load("routes-10x10"), small());
  for (int s = 1; s <= 10; s += 3) {
    for (int r = 1; r <= 10; r += 4) {
      std::string path = "/s" + std::to_string(s) + "-r" + std::to_string(r);
      HttpResponse resp = get(lab, path);
      EXPECT_EQ(resp.status, 200) << path;
      EXPECT_EQ(resp.header("Via").value_or(""), "kong/0.1.0-lab");
      EXPECT_TRUE(resp.header("X-Kong-Upstream-Latency").has_value());
    }
  }
  EXPECT_EQ(get(lab, "/s11-r1").status, 404);
  EXPECT_EQ(get(lab, "/").status, 404);
}

TEST(LabGateway, StripPathAndQueryReachTheService) {
  Lab lab(inline_workload(kEchoService), small());
  HttpResponse r = get(lab, "/echo/deeper/path?a=1&b=two");
  ASSERT_EQ(r.status, 200) << r.body;
  json body = json::parse(r.body);
  EXPECT_EQ(body["uri"], "/echo/deeper/path");  // /echo stripped, service path /echo prepended
  EXPECT_EQ(body["args"], "a=1&b=two");
}

TEST(LabGateway, RoutesMatchHostsAndMethods) {
  Lab lab(inline_workload(
              "  services:\n"
              "    - name: echo\n"
              "      url: http://kperf-upstream/echo\n"
              "      routes:\n"
              "        - {name: by-host, hosts: [api.example], paths: [/h]}\n"
              "        - {name: by-method, methods: [POST], paths: [/m]}\n"
              "        - {name: longer, paths: [/m/longer], strip_path: false}\n"),
          small());
  EXPECT_EQ(get(lab, "/h", {{"Host", "api.example"}}).status, 200);
  EXPECT_EQ(get(lab, "/h", {{"Host", "other.example"}}).status, 404);
  EXPECT_EQ(kperf::http_request(lab.gateway_port(), "POST", "/m").status, 200);
  EXPECT_EQ(get(lab, "/m").status, 404);
  // the longest prefix wins; strip_path false keeps the request path
  HttpResponse r = get(lab, "/m/longer/x");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["uri"], "/echo/m/longer/x");
}

// Kong's precedence: consumer > route > service > global for the same plugin.
TEST(LabGateway, PluginsIteratorPrecedence) {
  auto scope = [](const char* where, const char* value) {
    return std::string("    - {name: response-transformer, ") + where +
           "config: {add: {headers: [\"X-Scope:" + value + "\"]}}}\n";
  };
  Lab lab(inline_workload(kEchoService +
                          "    - name: other\n"
                          "      url: http://kperf-upstream/test\n"
                          "      routes: [{name: other, paths: [/other]}]\n"
                          "  consumers: [{username: c7, keyauth_credentials: [{key: k7}]}, {username: c8, keyauth_credentials: [{key: k8}]}]\n"
                          "  plugins:\n" +
                          scope("", "global") + scope("service: echo, ", "service") + scope("route: plain, ", "route") +
                          scope("consumer: c7, ", "consumer") +
                          "    - {name: key-auth, service: echo}\n"),
          small());
  EXPECT_EQ(get(lab, "/other").header("X-Scope").value_or(""), "global");
  EXPECT_EQ(get(lab, "/plain").header("X-Scope").value_or(""), "route");
  EXPECT_EQ(get(lab, "/echo?apikey=k8").header("X-Scope").value_or(""), "service");
  EXPECT_EQ(get(lab, "/echo?apikey=k7").header("X-Scope").value_or(""), "consumer");
  EXPECT_EQ(get(lab, "/echo").status, 401);
}

TEST(LabGateway, KeyAuth) {
  Lab lab(Workload::load("key-auth"), small());
  HttpResponse none = get(lab, "/s1-r1");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(json::parse(none.body)["message"], "No API key found in request");
  HttpResponse wrong = get(lab, "/s1-r1?apikey=consumer-1000");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(json::parse(wrong.body)["message"], "Invalid authentication credentials");
  EXPECT_EQ(get(lab, "/s2-r3?apikey=consumer-7").status, 200);
  EXPECT_EQ(get(lab, "/s10-r10", {{"apikey", "consumer-100"}}).status, 200);
  EXPECT_EQ(get(lab, "/s10-r10", {{"apikey", "nope"}}).status, 401);
}

TEST(LabGateway, KeyAuthIdentifiesTheConsumerUpstream) {
  Lab lab(inline_workload(kEchoService +
                          "  plugins: [{name: key-auth, route: echo}]\n"
                          "  consumers: [{username: consumer-7, keyauth_credentials: [{key: secret-7}]}]\n"),
          small());
  HttpResponse r = get(lab, "/echo?apikey=secret-7");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["consumer"], "consumer-7");
  EXPECT_EQ(get(lab, "/echo").status, 401);
  EXPECT_EQ(get(lab, "/plain").status, 200);  // the plugin is on the echo route only
}

TEST(LabGateway, RateLimitingRejectsOverTheLimit) {
  // a day window: the counter cannot roll over during the test (except at midnight UTC)
  Lab lab(inline_workload(kEchoService +
                          "  plugins:\n"
                          "    - {name: rate-limiting, route: plain, config: {day: 5, limit_by: ip}}\n"),
          small(2));
  for (int i = 1; i <= 5; ++i) {
    HttpResponse r = get(lab, "/plain");
    ASSERT_EQ(r.status, 200) << "request " << i;
    EXPECT_EQ(r.header("X-RateLimit-Limit-Day").value_or(""), "5");
    EXPECT_EQ(r.header("X-RateLimit-Remaining-Day").value_or(""), std::to_string(5 - i));
  }
  HttpResponse over = get(lab, "/plain");
  EXPECT_EQ(over.status, 429);
  EXPECT_EQ(json::parse(over.body)["message"], "API rate limit exceeded");
  EXPECT_TRUE(over.header("Retry-After").has_value());
  EXPECT_EQ(get(lab, "/echo").status, 200);  // other route: not limited
}

TEST(LabGateway, RequestAndResponseTransformers) {
  Lab lab(inline_workload(kEchoService +
                          "  plugins:\n"
                          "    - name: request-transformer\n"
                          "      route: echo\n"
                          "      config:\n"
                          "        add: {headers: [\"X-Kperf-Added:yes\"], querystring: [\"lab:1\"]}\n"
                          "        remove: {headers: [X-Kperf-Removed]}\n"
                          "    - name: response-transformer\n"
                          "      route: echo\n"
                          "      config:\n"
                          "        add: {headers: [\"X-Resp-Added:1\"], json: [\"added:field\"]}\n"
                          "        remove: {headers: [X-Echo-Added]}\n"),
          small());
  HttpResponse r = get(lab, "/echo?a=1", {{"X-Kperf-Removed", "gone"}});
  ASSERT_EQ(r.status, 200) << r.body;
  json body = json::parse(r.body);
  EXPECT_EQ(body["x_kperf_added"], "yes");       // the upstream saw the added header
  EXPECT_EQ(body["x_kperf_removed"], "");        // and not the removed one
  EXPECT_THAT(body["args"].get<std::string>(), HasSubstr("lab=1"));
  EXPECT_THAT(body["args"].get<std::string>(), HasSubstr("a=1"));
  EXPECT_EQ(body["added"], "field");             // JSON body field added
  EXPECT_EQ(r.header("X-Resp-Added").value_or(""), "1");
  EXPECT_FALSE(r.header("X-Echo-Added").has_value());
  HttpResponse plain = get(lab, "/plain");
  EXPECT_FALSE(plain.header("X-Resp-Added").has_value());
}

TEST(LabGateway, CorrelationIdIsPresentAndUnique) {
  Lab lab(Workload::load("global-plugins"), small(2));
  std::set<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    HttpResponse r = get(lab, "/s1-r1");
    ASSERT_EQ(r.status, 200);
    auto id = r.header("Kong-Request-ID");
    ASSERT_TRUE(id.has_value());
    EXPECT_THAT(*id, ::testing::MatchesRegex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}#[0-9]+"));
    ids.insert(*id);
    EXPECT_EQ(r.header("X-Kperf-Lab").value_or(""), "global");  // global response-transformer
  }
  EXPECT_EQ(ids.size(), 20u);
  // global plugins also run for requests that match no route
  EXPECT_TRUE(get(lab, "/nowhere").header("X-Kperf-Lab").has_value());
}

TEST(LabGateway, CorsPreflightAndHeaders) {
  Lab lab(inline_workload(kEchoService +
                          "  plugins:\n"
                          "    - {name: cors, config: {origins: [\"http://a.example\"], max_age: 60}}\n"),
          small());
  HttpResponse pre = kperf::http_request(lab.gateway_port(), "OPTIONS", "/plain",
                                         {{"Origin", "http://a.example"}, {"Access-Control-Request-Method", "GET"}});
  EXPECT_EQ(pre.status, 200);
  EXPECT_EQ(pre.header("Access-Control-Allow-Origin").value_or(""), "http://a.example");
  EXPECT_THAT(pre.header("Access-Control-Allow-Methods").value_or(""), HasSubstr("GET"));
  EXPECT_EQ(pre.header("Access-Control-Max-Age").value_or(""), "60");
  HttpResponse simple = get(lab, "/plain", {{"Origin", "http://a.example"}});
  EXPECT_EQ(simple.status, 200);
  EXPECT_EQ(simple.header("Access-Control-Allow-Origin").value_or(""), "http://a.example");
  HttpResponse other = get(lab, "/plain", {{"Origin", "http://evil.example"}});
  EXPECT_FALSE(other.header("Access-Control-Allow-Origin").has_value());
}

TEST(LabGateway, MetricsCountEveryRequest) {
  Lab lab(Workload::load("prometheus"), small(2));
  double requests = metric_sum(lab, "kong_http_requests_total");
  double latencies = metric_sum(lab, "kong_request_latency_ms_count");
  size_t log_lines = line_count(lab.access_log());
  const int n = 30;
  for (int i = 0; i < n; ++i) {
    std::string path = i % 5 == 4 ? "/unknown" : "/s" + std::to_string(i % 10 + 1) + "-r" + std::to_string(i % 7 + 1);
    get(lab, path);
  }
  EXPECT_EQ(metric_sum(lab, "kong_http_requests_total"), requests + n);
  EXPECT_EQ(metric_sum(lab, "kong_http_requests_total", "code=\"404\""), n / 5);
  EXPECT_EQ(metric_sum(lab, "kong_request_latency_ms_count"), latencies + n);
  EXPECT_GT(metric_sum(lab, "kong_bandwidth_bytes"), 0);
  EXPECT_EQ(line_count(lab.access_log()), log_lines + n);  // /metrics itself is not logged
  HttpResponse m = get(lab, "/metrics");
  EXPECT_THAT(m.body, HasSubstr("# TYPE kong_http_requests_total counter"));
  EXPECT_THAT(m.body, HasSubstr("# TYPE kong_request_latency_ms histogram"));
  EXPECT_THAT(m.body, HasSubstr("le=\"+Inf\""));
}

TEST(LabGateway, AccessLogHasOneLinePerRequest) {
  Lab lab(Workload::load("single-route"), small(2));
  size_t before = line_count(lab.access_log());
  for (int i = 0; i < 25; ++i) get(lab, i % 2 ? "/x" : "/s1-r1");  // ends with /s1-r1
  EXPECT_EQ(line_count(lab.access_log()), before + 25);
  std::ifstream in(lab.access_log());
  std::string last;
  for (std::string line; std::getline(in, line);) last = line;
  EXPECT_THAT(last, HasSubstr("\"GET /s1-r1 HTTP/1.1\" 200"));
}

TEST(LabGateway, ReloadKeepsMasterAndReplacesWorkers) {
  Lab lab(Workload::load("single-route"), small(2));
  pid_t master = lab.gateway_master_pid();
  auto old_workers = lab.gateway_worker_pids();
  ASSERT_EQ(old_workers.size(), 2u);
  lab.reload();
  EXPECT_EQ(lab.gateway_master_pid(), master);
  auto new_workers = lab.gateway_worker_pids();
  ASSERT_EQ(new_workers.size(), 2u);
  for (pid_t p : new_workers) {
    EXPECT_EQ(std::count(old_workers.begin(), old_workers.end(), p), 0) << p;
  }
  EXPECT_EQ(get(lab, "/s1-r1").status, 200);

  // a new workload over the same master: key-auth now guards /s1-r1
  lab.reload(Workload::load("key-auth"));
  EXPECT_EQ(lab.gateway_master_pid(), master);
  EXPECT_EQ(get(lab, "/s1-r1").status, 401);
  EXPECT_EQ(get(lab, "/s1-r1?apikey=consumer-7").status, 200);
}

TEST(LabGateway, ReloadWithARejectedConfigKeepsServing) {
  Lab lab(Workload::load("single-route"), small(1));
  auto workers = lab.gateway_worker_pids();
  // valid for kperf's checks, rejected by the gateway's plugin schema
  Workload bad = inline_workload(kEchoService + "  plugins: [{name: cors, config: {bogus_field: 1}}]\n");
  try {
    lab.reload(bad);
    FAIL() << "reload accepted a bad config";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("bogus_field"));
  }
  EXPECT_EQ(lab.gateway_worker_pids(), workers);
  EXPECT_EQ(get(lab, "/s1-r1").status, 200);
  lab.reload();  // the previous config was put back
  EXPECT_EQ(get(lab, "/s1-r1").status, 200);
}

TEST(LabGateway, StartFailureIsOneClearErrorAndLeavesNothing) {
  Workload bad = inline_workload(kEchoService + "  plugins: [{name: rate-limiting, config: {second: 5, policy: redis}}]\n");
  try {
    Lab lab(bad, small());
    FAIL() << "started";
  } catch (const std::runtime_error& e) {
    std::string msg = e.what();
    EXPECT_THAT(msg, HasSubstr("only policy 'local' is supported"));
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
  EXPECT_THAT(kperf::child_processes(::getpid(), "nginx"), ::testing::IsEmpty());
}

TEST(LabGateway, StopLeavesNoProcessAndNoRunDir) {
  std::vector<pid_t> pids;
  fs::path run_dir;
  {
    Lab lab(Workload::load("key-auth"), small(2));
    pids = lab.gateway_worker_pids();
    pids.push_back(lab.gateway_master_pid());
    pids.push_back(lab.upstream_master_pid());
    run_dir = lab.run_dir();
    for (pid_t p : pids) EXPECT_TRUE(process_exists(p)) << p;
    // an open keep-alive client must not hold the stop up
    EXPECT_EQ(get(lab, "/s1-r1?apikey=consumer-1").status, 200);
    lab.stop();
    for (pid_t p : pids) EXPECT_FALSE(process_exists(p)) << p;
    lab.stop();  // idempotent
  }
  EXPECT_FALSE(fs::exists(run_dir));
  EXPECT_THAT(kperf::child_processes(::getpid(), "nginx"), ::testing::IsEmpty());
}

// Kong runs (and the baseline) start only the upstream: one nginx master, the upstream,
// serving; the lab's limits do not apply to a workload the lab gateway could not run.
TEST(LabGateway, UpstreamOnlyStartsNoGateway) {
  Workload kong_only = inline_workload(kEchoService + "  plugins: [{name: ip-restriction, config: {allow: [127.0.0.1]}}]\n");
  EXPECT_THROW(Lab(kong_only, small()), std::runtime_error);  // the lab gateway lacks ip-restriction
  LabOptions o = small();
  o.with_gateway = false;
  Lab lab(kong_only, o);
  EXPECT_EQ(kperf::http_get(lab.upstream_port(), "/test").status, 200);
  EXPECT_EQ(lab.gateway_master_pid(), -1);
  EXPECT_THAT(kperf::child_processes(::getpid(), "nginx"), ::testing::ElementsAre(lab.upstream_master_pid()));
  EXPECT_FALSE(fs::exists(lab.run_dir() / "gateway.conf"));
}

TEST(LabGateway, KeptRunDirHasConfsAndLogs) {
  fs::path dir = fs::temp_directory_path() / ("kperf-lab-test-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  {
    LabOptions o = small();
    o.run_dir = dir;
    Lab lab(Workload::load("single-route"), o);
    EXPECT_EQ(lab.run_dir(), dir);
    EXPECT_TRUE(fs::exists(lab.config_json()));
    json conf = json::parse(std::ifstream(lab.config_json()));
    EXPECT_EQ(conf["services"][0]["port"], lab.upstream_port());
    EXPECT_TRUE(fs::exists(dir / "gateway.conf"));
    EXPECT_TRUE(fs::exists(lab.error_log()));
  }
  EXPECT_TRUE(fs::exists(dir / "logs" / "gateway-error.log"));  // a given run dir is kept
  fs::remove_all(dir);
}

TEST(LabGateway, MissingNginxSaysHowToInstall) {
  LabOptions o = small();
  o.nginx = "/nonexistent/sbin/nginx";
  try {
    Lab lab(Workload::load("single-route"), o);
    FAIL() << "started";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("install nginx libnginx-mod-http-lua"));
  }
  o = small();
  o.modules_dir = "/nonexistent/modules";
  EXPECT_THROW(kperf::check_lab_prerequisites(o), std::runtime_error);
}

}  // namespace

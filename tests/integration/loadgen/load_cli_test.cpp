// Integration tests of `kperf load` (the real binary): bad input ends in one clear line
// and exit status 2; the text report satisfies the patterns Kong's perf framework uses
// to parse wrk; --json and --runs; --paths files.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <set>

#include <nlohmann/json.hpp>

#include "tests/support/nginx_server.hpp"
#include "tests/support/ports.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace kperf::loadgen {
namespace {

using test::Nginx;
using test::run_command;

std::string binary() {
  const char* env = std::getenv("KPERF_TEST_BINARY");  // a different build, for local runs
  return env ? env : KPERF_BINARY;
}

struct CmdResult {
  int status;
  std::string out;
};

CmdResult kperf(const std::string& args) {
  CmdResult r;
  r.status = run_command(binary() + " load " + args + " </dev/null", &r.out);
  return r;
}

size_t settled_count(const Nginx& ngx, size_t expected) {
  ngx.wait_access_lines(expected);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // would reveal extra requests
  return ngx.access_lines().size();
}

void expect_usage_error(const std::string& args, const std::string& fragment) {
  const CmdResult r = kperf(args);
  EXPECT_EQ(r.status, 2) << args << "\n" << r.out;
  // One line, prefixed, naming the problem; nothing on stdout before it.
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << args << "\n" << r.out;
  EXPECT_EQ(r.out.rfind("kperf: ", 0), 0u) << r.out;
  EXPECT_NE(r.out.find(fragment), std::string::npos) << args << "\n" << r.out;
}

TEST(LoadCli, BadInputIsOneClearErrorAndExit2) {
  expect_usage_error("-d 1s 127.0.0.1:1/", "invalid URL");
  expect_usage_error("-d 1s http//127.0.0.1/", "invalid URL");
  expect_usage_error("-d 1s http://127.0.0.1:99999/", "invalid port");
  expect_usage_error("-d 1s ftp://127.0.0.1/", "unsupported URL scheme 'ftp'");
  expect_usage_error("-d 1s http://no-such-host.invalid/", "cannot resolve host 'no-such-host.invalid'");
  expect_usage_error("-c 0 -t 1 -d 1s http://127.0.0.1:1/", "number of connections must be >= 1");
  expect_usage_error("-c 1x -d 1s http://127.0.0.1:1/", "invalid number of connections '1x'");
  expect_usage_error("-R -5 -d 1s http://127.0.0.1:1/", "invalid rate");
  expect_usage_error("--duration=-5s http://127.0.0.1:1/", "negative");
  expect_usage_error("-d 10x http://127.0.0.1:1/", "invalid duration");
  expect_usage_error("-t 4 -c 2 -d 1s http://127.0.0.1:1/", "must be >= threads");
  expect_usage_error("-d 1s -H nocolon http://127.0.0.1:1/", "invalid header");
  expect_usage_error("-d 1s --paths /nonexistent/paths.txt http://127.0.0.1:1/", "cannot read paths file");
  expect_usage_error("-d 1s 'http://127.0.0.1:1/{5..1}'", "invalid range");
}

// Lua patterns of Kong's spec/helpers/perf/utils.lua (parse_wrk_result), as regexes:
//   "Requests/sec:%s+([%d%.]+)"            "([%d]+)%s+requests in"
//   "Latency%s+([%d%.]+)([mu]?)s%s+[%d%.]+[mu]?s%s+([%d%.]+)([mu]?)s"
//   "90%%%s+([%d%.]+)([mu]?)s"             "99%%%s+([%d%.]+)([mu]?)s"
double to_ms(const std::string& v, const std::string& unit) {
  const double x = std::stod(v);
  return unit == "u" ? x * 0.001 : unit == "m" ? x : x * 1000;
}

TEST(LoadCli, TextReportParsesWithKongsPatternsAndMatchesJson) {
  Nginx ngx("location / { return 200 'hello'; }");
  char json_path[] = "/tmp/kperf-load-json-XXXXXX";
  const int fd = ::mkstemp(json_path);
  ASSERT_GE(fd, 0);
  ::close(fd);
  const CmdResult r = kperf("-t 1 -c 4 -d 1s --latency --json " + std::string(json_path) + " " + ngx.url("/"));
  ASSERT_EQ(r.status, 0) << r.out;
  const std::string& s = r.out;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(s, m, std::regex(R"(Requests/sec:\s+([\d.]+))"))) << s;
  const double rps = std::stod(m[1]);
  ASSERT_TRUE(std::regex_search(s, m, std::regex(R"((\d+)\s+requests in)"))) << s;
  const uint64_t count = std::stoull(m[1]);
  ASSERT_TRUE(std::regex_search(
      s, m, std::regex(R"(Latency\s+([\d.]+)([mu]?)s\s+[\d.]+[mu]?s\s+([\d.]+)([mu]?)s)")))
      << s;
  const double avg_ms = to_ms(m[1], m[2]), max_ms = to_ms(m[3], m[4]);
  ASSERT_TRUE(std::regex_search(s, m, std::regex(R"(90%\s+([\d.]+)([mu]?)s)"))) << s;
  const double p90_ms = to_ms(m[1], m[2]);
  ASSERT_TRUE(std::regex_search(s, m, std::regex(R"(99%\s+([\d.]+)([mu]?)s)"))) << s;
  const double p99_ms = to_ms(m[1], m[2]);
  EXPECT_NE(s.find("Running 1s test @ " + ngx.url("/")), std::string::npos) << s;
  EXPECT_NE(s.find("  1 threads and 4 connections\n"), std::string::npos) << s;
  EXPECT_NE(s.find("  Thread Stats   Avg      Stdev     Max   +/- Stdev\n"), std::string::npos) << s;

  const auto j = nlohmann::json::parse(test::read_file(json_path));
  std::remove(json_path);
  const auto& run = j["runs"][0];
  EXPECT_EQ(run["requests"].get<uint64_t>(), count);
  EXPECT_GT(count, 100u);
  EXPECT_NEAR(run["requests_per_sec"].get<double>(), rps, 0.01);
  const auto& lat = run["latency_us"];
  // The text rounds to 2 decimals of its unit.
  EXPECT_NEAR(lat["mean"].get<double>() / 1000, avg_ms, avg_ms * 0.01 + 0.005);
  EXPECT_NEAR(lat["max"].get<double>() / 1000, max_ms, max_ms * 0.01 + 0.005);
  EXPECT_NEAR(lat["p90"].get<double>() / 1000, p90_ms, p90_ms * 0.01 + 0.005);
  EXPECT_NEAR(lat["p99"].get<double>() / 1000, p99_ms, p99_ms * 0.01 + 0.005);
  for (const char* k : {"p50", "p75", "p99_9", "p99_99", "stdev"}) EXPECT_TRUE(lat.contains(k)) << k;
  EXPECT_EQ(settled_count(ngx, count + run["in_flight_at_end"].get<uint64_t>()),
            count + run["in_flight_at_end"].get<uint64_t>());
}

TEST(LoadCli, RunsAreCombinedAndJsonGoesToStdout) {
  Nginx ngx("location / { return 200 'hello'; }");
  const CmdResult r = kperf("-t 1 -c 2 -d 300ms --runs 3 --json - " + ngx.url("/"));
  ASSERT_EQ(r.status, 0) << r.out;
  // stdout (JSON) and stderr (text) are merged here: the JSON starts at the first '{'
  // at the beginning of a line.
  const size_t at = r.out.find("\n{");
  ASSERT_NE(at, std::string::npos) << r.out;
  const size_t end = r.out.rfind('}');
  const auto j = nlohmann::json::parse(r.out.substr(at + 1, end - at));
  ASSERT_EQ(j["runs"].size(), 3u);
  uint64_t total = 0;
  double mn = 1e300, mx = 0, sum = 0;
  for (const auto& run : j["runs"]) {
    total += run["requests"].get<uint64_t>();
    const double rps = run["requests_per_sec"];
    mn = std::min(mn, rps), mx = std::max(mx, rps), sum += rps;
  }
  const auto& c = j["combined"];
  EXPECT_EQ(c["requests"].get<uint64_t>(), total);
  EXPECT_EQ(c["latency_us"]["count"].get<uint64_t>(), total);
  EXPECT_DOUBLE_EQ(c["requests_per_sec"]["min"].get<double>(), mn);
  EXPECT_DOUBLE_EQ(c["requests_per_sec"]["max"].get<double>(), mx);
  EXPECT_NEAR(c["requests_per_sec"]["mean"].get<double>(), sum / 3, 1e-6);
  EXPECT_NE(r.out.find("Combined over 3 runs:"), std::string::npos) << r.out;
}

TEST(LoadCli, PathsFileAndRequestCount) {
  Nginx ngx("location / { return 200 'hello'; }");
  char paths[] = "/tmp/kperf-load-paths-XXXXXX";
  const int fd = ::mkstemp(paths);
  ASSERT_GE(fd, 0);
  ::close(fd);
  std::ofstream(paths) << "# comment\n/one\n\n/two{1..2}\n";
  const CmdResult r = kperf("-t 1 -c 2 -n 400 --seed 7 --paths " + std::string(paths) + " " + ngx.url("/"));
  std::remove(paths);
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("  400 requests in "), std::string::npos) << r.out;
  ASSERT_EQ(settled_count(ngx, 400), 400u);
  std::set<std::string> uris;
  for (const auto& l : ngx.access_lines()) uris.insert(l.substr(4, l.find(' ', 4) - 4));
  EXPECT_EQ(uris, (std::set<std::string>{"/one", "/two1", "/two2"}));
}

}  // namespace
}  // namespace kperf::loadgen

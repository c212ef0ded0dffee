// wrk-compatible text: units (wrk's 0.85 rule), layout, and Kong's parse patterns on
// results with microsecond, millisecond and second latencies; run combination.
#include <gtest/gtest.h>

#include <regex>

#include "loadgen/duration.hpp"
#include "loadgen/report.hpp"

namespace kperf::loadgen {
namespace {

TEST(Units, FollowWrk) {
  EXPECT_EQ(format_time_us(812), "812.00us");
  EXPECT_EQ(format_time_us(849), "849.00us");
  EXPECT_EQ(format_time_us(850), "0.85ms");
  EXPECT_EQ(format_time_us(1234), "1.23ms");
  EXPECT_EQ(format_time_us(4.56e6), "4.56s");
  EXPECT_EQ(format_time_us(120e6), "2.00m");
  EXPECT_EQ(format_time_s(10), "10s");
  EXPECT_EQ(format_time_s(120), "2m");
  EXPECT_EQ(format_metric(56200), "56.20k");
  EXPECT_EQ(format_metric(12), "12.00");
  EXPECT_EQ(format_binary(1.33 * 1024 * 1024 * 1024), "1.33G");
  EXPECT_EQ(parse_duration("500ms").count(), 500000);
  EXPECT_THROW(parse_duration("-1s"), std::invalid_argument);
  EXPECT_THROW(parse_duration("nan"), std::invalid_argument);
  EXPECT_THROW(parse_duration("infs"), std::invalid_argument);
  EXPECT_EQ(parse_count("100", "x"), 100u);
  EXPECT_EQ(parse_count("2k", "x"), 2000u);
  EXPECT_EQ(parse_count("1M", "x"), 1000000u);
  EXPECT_THROW(parse_count("-1", "x"), std::invalid_argument);
  EXPECT_THROW(parse_count("1x", "x"), std::invalid_argument);
  EXPECT_THROW(parse_count("99999999999999999999", "x"), std::invalid_argument);
}

LoadResult synthetic(uint64_t base_us) {
  LoadResult r;
  r.runtime_s = 10.0;
  r.requests = 1000;
  r.bytes = 123456;
  for (uint64_t i = 0; i < 1000; ++i) r.latency.record(base_us + i * base_us / 100);
  for (double v : {1000.0, 1100.0, 900.0}) r.thread_rps.add(v);
  r.errors.read = 2;
  r.errors.status = 3;
  return r;
}

double to_ms(const std::string& v, const std::string& unit) {
  const double x = std::stod(v);
  return unit == "u" ? x * 0.001 : unit == "m" ? x : x * 1000;
}

TEST(Report, KongPatternsParseEveryUnit) {
  LoadConfig c;
  c.url = "http://127.0.0.1:8000/";
  for (uint64_t base : {100u, 5000u, 2'000'000u}) {
    const LoadResult r = synthetic(base);
    const std::string s = format_text_header(c) + format_text_result(c, r, true);
    std::smatch m;
    ASSERT_TRUE(std::regex_search(s, m, std::regex(R"(Requests/sec:\s+([\d.]+))"))) << s;
    EXPECT_DOUBLE_EQ(std::stod(m[1]), 100.0);
    ASSERT_TRUE(std::regex_search(s, m, std::regex(R"((\d+)\s+requests in)"))) << s;
    EXPECT_EQ(m[1], "1000");
    ASSERT_TRUE(std::regex_search(
        s, m, std::regex(R"(Latency\s+([\d.]+)([mu]?)s\s+[\d.]+[mu]?s\s+([\d.]+)([mu]?)s)")))
        << s;
    EXPECT_NEAR(to_ms(m[1], m[2]), r.latency.mean() / 1000, r.latency.mean() / 1000 * 0.01);
    EXPECT_NEAR(to_ms(m[3], m[4]), static_cast<double>(r.latency.max()) / 1000,
                static_cast<double>(r.latency.max()) / 1000 * 0.01);
    ASSERT_TRUE(std::regex_search(s, m, std::regex(R"(90%\s+([\d.]+)([mu]?)s)"))) << s;
    EXPECT_NEAR(to_ms(m[1], m[2]), static_cast<double>(r.latency.percentile(90)) / 1000,
                static_cast<double>(r.latency.percentile(90)) / 1000 * 0.01);
    ASSERT_TRUE(std::regex_search(s, m, std::regex(R"(99%\s+([\d.]+)([mu]?)s)"))) << s;
    EXPECT_NE(s.find("  Socket errors: connect 0, read 2, write 0, timeout 0\n"), std::string::npos);
    EXPECT_NE(s.find("  Non-2xx or 3xx responses: 3\n"), std::string::npos);
    EXPECT_NE(s.find("Running 10s test @ http://127.0.0.1:8000/\n  2 threads and 10 connections\n"),
              std::string::npos);
  }
}

TEST(Report, WrkLayoutLineForLine) {
  LoadConfig c;
  LoadResult r;
  r.runtime_s = 10.1;
  r.requests = 1120435;
  r.bytes = static_cast<uint64_t>(1.33 * 1024 * 1024 * 1024);
  r.latency.record(250);
  for (double v : {56200.0, 62000.0}) r.thread_rps.add(v);
  const std::string s = format_text_result(c, r, true);
  EXPECT_NE(s.find("  Thread Stats   Avg      Stdev     Max   +/- Stdev\n"), std::string::npos) << s;
  EXPECT_NE(s.find("    Latency   250.00us    0.00us 250.00us  100.00%\n"), std::string::npos) << s;
  EXPECT_NE(s.find("    Req/Sec    59.10k     4.10k   62.00k   100.00%\n"), std::string::npos) << s;
  EXPECT_NE(s.find("  Latency Distribution\n     50%  250.00us\n"), std::string::npos) << s;
  EXPECT_NE(s.find("  1120435 requests in 10.10s, 1.33GB read\n"), std::string::npos) << s;
  EXPECT_NE(s.find("Requests/sec: 110934.16\n"), std::string::npos) << s;
  EXPECT_EQ(s.find("Socket errors"), std::string::npos);
}

TEST(Report, CombineWeightsLatencyByRequests) {
  LoadResult a, b;
  a.runtime_s = b.runtime_s = 1.0;
  a.requests = 3;
  b.requests = 1;
  for (int i = 0; i < 3; ++i) a.latency.record(100);
  b.latency.record(500);
  const CombinedResult c = combine({a, b});
  EXPECT_EQ(c.runs, 2u);
  EXPECT_DOUBLE_EQ(c.rps_mean, 2.0);
  EXPECT_DOUBLE_EQ(c.rps_min, 1.0);
  EXPECT_DOUBLE_EQ(c.rps_max, 3.0);
  EXPECT_DOUBLE_EQ(c.latency.mean(), 200.0);  // (3*100 + 500) / 4
  EXPECT_EQ(c.latency.max(), 500u);
  EXPECT_EQ(c.latency.percentile(50), 100u);
  EXPECT_EQ(combined_json(c)["requests"], 4);
}

}  // namespace
}  // namespace kperf::loadgen

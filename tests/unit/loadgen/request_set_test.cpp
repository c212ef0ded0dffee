// URL parsing, {a..b} templates and the pre-built request bytes.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "loadgen/request_set.hpp"
#include "loadgen/url.hpp"

namespace kperf::loadgen {
namespace {

TEST(Url, ParsesSchemesHostsPortsAndTargets) {
  Url u = parse_url("http://127.0.0.1:8000/s1?apikey=x");
  EXPECT_FALSE(u.tls);
  EXPECT_EQ(u.host, "127.0.0.1");
  EXPECT_EQ(u.port, 8000);
  EXPECT_EQ(u.target, "/s1?apikey=x");
  EXPECT_EQ(u.host_header, "127.0.0.1:8000");
  u = parse_url("HTTPS://example.com");
  EXPECT_TRUE(u.tls);
  EXPECT_EQ(u.port, 443);
  EXPECT_EQ(u.target, "/");
  EXPECT_EQ(u.host_header, "example.com");
  u = parse_url("http://[::1]:81/x");
  EXPECT_EQ(u.host, "::1");
  EXPECT_EQ(u.host_header, "[::1]:81");
  u = parse_url("http://h?q=1");
  EXPECT_EQ(u.target, "/?q=1");
}

TEST(Url, RejectsMalformedUrls) {
  for (const char* bad : {"127.0.0.1/", "ftp://h/", "http://", "http://:80/", "http://h:0/",
                          "http://h:70000/", "http://h:x/", "http://[::1/", "http://u@h/",
                          "http://h/a b"}) {
    EXPECT_THROW(parse_url(bad), std::invalid_argument) << bad;
  }
}

TEST(Template, SplitsLiteralsAndRanges) {
  const auto parts = parse_target_template("/s{1..10}-r{0..9}?k={x}&c={3..3}");
  ASSERT_EQ(parts.size(), 6u);
  EXPECT_EQ(parts[0].literal, "/s");
  EXPECT_TRUE(parts[1].is_range());
  EXPECT_EQ(parts[1].lo, 1u);
  EXPECT_EQ(parts[1].hi, 10u);
  EXPECT_EQ(parts[2].literal, "-r");
  EXPECT_EQ(parts[3].lo, 0u);
  EXPECT_EQ(parts[4].literal, "?k={x}&c=");  // not a range: kept literally
  EXPECT_EQ(parts[5].lo, 3u);
  EXPECT_THROW(parse_target_template("/{9..1}"), std::invalid_argument);
  EXPECT_THROW(parse_target_template("/{1..9999999}"), std::invalid_argument);
}

TEST(RequestSet, BuildsWrkStyleRequests) {
  RequestSpec spec;
  spec.host_header = "127.0.0.1:8000";
  spec.targets = {"/a"};
  RequestSet set(spec);
  std::string scratch;
  Rng rng(1);
  EXPECT_TRUE(set.is_static());
  EXPECT_EQ(set.next(scratch, rng), "GET /a HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n\r\n");

  spec.method = "POST";
  spec.headers = {"X-A: 1", "host: other"};
  spec.body = "abc";
  RequestSet post(spec);
  EXPECT_EQ(post.next(scratch, rng), "POST /a HTTP/1.1\r\nX-A: 1\r\nhost: other\r\nContent-Length: 3\r\n\r\nabc");

  spec.headers = {"bad header"};
  EXPECT_THROW(RequestSet{spec}, std::invalid_argument);
}

TEST(RequestSet, TemplatesPickUniformValuesDeterministically) {
  RequestSpec spec;
  spec.host_header = "h";
  spec.targets = {"/s{1..10}-r{1..10}?apikey=consumer-{1..100}"};
  RequestSet set(spec);
  EXPECT_FALSE(set.is_static());
  std::string scratch;
  Rng a(7), b(7);
  std::map<std::string, int> s_counts;
  std::set<std::string> consumers;
  for (int i = 0; i < 20000; ++i) {
    const std::string req(set.next(scratch, a));
    std::string again;
    ASSERT_EQ(req, std::string(set.next(again, b)));  // same seed, same sequence
    ASSERT_LE(req.size(), set.max_size());
    const size_t s = req.find("/s") + 2, dash = req.find("-r"), q = req.find("?apikey=consumer-");
    ASSERT_NE(q, std::string::npos) << req;
    s_counts[req.substr(s, dash - s)]++;
    consumers.insert(req.substr(q + 17, req.find(' ', q) - q - 17));
  }
  EXPECT_EQ(s_counts.size(), 10u);
  for (const auto& [k, n] : s_counts) EXPECT_NEAR(n, 2000, 250) << k;
  EXPECT_EQ(consumers.size(), 100u);
  EXPECT_TRUE(consumers.count("1") && consumers.count("100"));
}

}  // namespace
}  // namespace kperf::loadgen

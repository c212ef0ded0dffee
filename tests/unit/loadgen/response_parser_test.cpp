// ResponseParser: framing by Content-Length, chunked, close; keep-alive rules; interim
// responses; every split point of the input; malformed input.
#include <gtest/gtest.h>

#include <string>

#include "loadgen/response_parser.hpp"

namespace kperf::loadgen {
namespace {

using R = ResponseParser::Result;

struct Outcome {
  R result;
  size_t consumed;
  int status;
  bool keep_alive;
};

Outcome parse_whole(const std::string& s, bool head = false) {
  ResponseParser p;
  p.reset(head);
  size_t consumed = 0;
  R r = p.feed(s.data(), s.size(), consumed);
  return {r, consumed, p.status(), p.keep_alive()};
}

// Feeds the message in two pieces split at every position: same outcome.
void expect_split_invariant(const std::string& s, R expected, size_t expected_consumed) {
  for (size_t cut = 0; cut <= s.size(); ++cut) {
    ResponseParser p;
    p.reset();
    size_t c1 = 0, c2 = 0;
    R r = p.feed(s.data(), cut, c1);
    if (r == R::kNeedMore) {
      ASSERT_EQ(c1, cut);
      r = p.feed(s.data() + cut, s.size() - cut, c2);
      c1 += c2;
    }
    ASSERT_EQ(r, expected) << "cut at " << cut;
    if (expected == R::kComplete) {
      ASSERT_EQ(c1, expected_consumed) << "cut at " << cut;
    }
  }
}

TEST(ResponseParser, ContentLength) {
  const std::string s = "HTTP/1.1 200 OK\r\nServer: x\r\nContent-Length: 5\r\n\r\nhello";
  const auto o = parse_whole(s + "HTTP/1.1");
  EXPECT_EQ(o.result, R::kComplete);
  EXPECT_EQ(o.consumed, s.size());
  EXPECT_EQ(o.status, 200);
  EXPECT_TRUE(o.keep_alive);
  expect_split_invariant(s, R::kComplete, s.size());
}

TEST(ResponseParser, ChunkedWithExtensionsAndTrailers) {
  const std::string s =
      "HTTP/1.1 201 Created\r\ntransfer-encoding: gzip, Chunked\r\n\r\n"
      "5;ext=1\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Trailer: y\r\n\r\n";
  const auto o = parse_whole(s);
  EXPECT_EQ(o.result, R::kComplete);
  EXPECT_EQ(o.status, 201);
  expect_split_invariant(s, R::kComplete, s.size());
  EXPECT_EQ(parse_whole("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n").result, R::kError);
  EXPECT_EQ(parse_whole("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX\r\n").result,
            R::kError);
}

TEST(ResponseParser, ConnectionCloseAndHttp10) {
  auto o = parse_whole("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(o.result, R::kComplete);
  EXPECT_FALSE(o.keep_alive);
  o = parse_whole("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok");
  EXPECT_EQ(o.result, R::kComplete);
  EXPECT_FALSE(o.keep_alive);
  o = parse_whole("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok");
  EXPECT_TRUE(o.keep_alive);
}

TEST(ResponseParser, BodyDelimitedByClose) {
  ResponseParser p;
  p.reset();
  const std::string s = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nsome body";
  size_t consumed = 0;
  EXPECT_EQ(p.feed(s.data(), s.size(), consumed), R::kNeedMore);
  EXPECT_EQ(consumed, s.size());
  EXPECT_EQ(p.finish_eof(), R::kComplete);
  EXPECT_FALSE(p.keep_alive());
}

TEST(ResponseParser, EofRules) {
  ResponseParser p;
  p.reset();
  EXPECT_EQ(p.finish_eof(), R::kNeedMore);  // nothing started: just a closed connection
  const std::string s = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc";
  size_t consumed = 0;
  EXPECT_EQ(p.feed(s.data(), s.size(), consumed), R::kNeedMore);
  EXPECT_EQ(p.finish_eof(), R::kError);  // truncated body
}

TEST(ResponseParser, NoBodyStatusesAndHead) {
  EXPECT_EQ(parse_whole("HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n").result, R::kComplete);
  EXPECT_EQ(parse_whole("HTTP/1.1 304 Not Modified\r\n\r\n").result, R::kComplete);
  EXPECT_EQ(parse_whole("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", true).result, R::kComplete);
}

TEST(ResponseParser, InterimResponsesAreSkipped) {
  const std::string s = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx";
  const auto o = parse_whole(s);
  EXPECT_EQ(o.result, R::kComplete);
  EXPECT_EQ(o.status, 200);
  expect_split_invariant(s, R::kComplete, s.size());
}

TEST(ResponseParser, BareLfAndStatusWithoutReason) {
  const auto o = parse_whole("HTTP/1.1 404\nContent-Length: 3\n\nabc");
  EXPECT_EQ(o.result, R::kComplete);
  EXPECT_EQ(o.status, 404);
}

TEST(ResponseParser, MalformedInputIsAnError) {
  for (const char* bad : {"HTTX/1.1 200 OK\r\n", "HTTP/1.1 2x0 OK\r\n", "HTTP/2.0 200 OK\r\n",
                          "HTTP/1.1 200 OK\r\nno colon here\r\n",
                          "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
                          "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                          "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n"}) {
    EXPECT_EQ(parse_whole(bad).result, R::kError) << bad;
  }
  ResponseParser p;
  p.reset();
  const std::string long_line = "HTTP/1.1 200 OK\r\nX: " + std::string(ResponseParser::kMaxLineLength, 'a');
  size_t consumed = 0;
  EXPECT_EQ(p.feed(long_line.data(), long_line.size(), consumed), R::kError);
}

}  // namespace
}  // namespace kperf::loadgen

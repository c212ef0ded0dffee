// --listen: loopback unless told otherwise, numeric addresses only, one-line errors.
#include <gtest/gtest.h>

#include <stdexcept>

#include "kperf/agent/listen_address.hpp"

namespace kperf::agent {
namespace {

TEST(ListenAddress, ParsesAddressAndPort) {
  auto a = parse_listen_address("127.0.0.1:6060");
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.port, 6060);
  a = parse_listen_address("0.0.0.0:0");
  EXPECT_EQ(a.host, "0.0.0.0");
  EXPECT_EQ(a.port, 0);
  a = parse_listen_address("[::1]:7000");
  EXPECT_EQ(a.host, "::1");
  EXPECT_EQ(a.authority(), "[::1]:7000");
}

TEST(ListenAddress, BarePortIsLoopback) {
  const auto a = parse_listen_address("6061");
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.port, 6061);
  EXPECT_EQ(a.authority(), "127.0.0.1:6061");
}

TEST(ListenAddress, RefusesTheRest) {
  for (const char* s : {"", ":6060", "localhost:6060", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:x", "::1:80",
                        "[::1]", "[::1]6060", "1.2.3:80"}) {
    try {
      parse_listen_address(s);
      ADD_FAILURE() << "accepted '" << s << "'";
    } catch (const std::invalid_argument& e) {
      const std::string what = e.what();
      EXPECT_EQ(what.find('\n'), std::string::npos);
      EXPECT_EQ(what.rfind("--listen", 0), 0u) << what;
    }
  }
}

}  // namespace
}  // namespace kperf::agent

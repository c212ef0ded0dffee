// The profile endpoint's query: Go's default and bounds, one-line reasons for the rest.
#include <gtest/gtest.h>

#include "kperf/agent/profile_query.hpp"

namespace kperf::agent {
namespace {

TEST(ProfileQuery, DefaultsToThirtySecondsLikeGo) {
  const auto q = parse_profile_query("");
  EXPECT_EQ(q.error, "");
  EXPECT_EQ(q.seconds, 30);
}

TEST(ProfileQuery, TakesSecondsAndIgnoresOtherParameters) {
  EXPECT_EQ(parse_profile_query("seconds=2").seconds, 2);
  EXPECT_EQ(parse_profile_query("debug=1&seconds=300&x").seconds, 300);
  EXPECT_EQ(parse_profile_query("seconds=%31%30").seconds, 10);
  EXPECT_EQ(parse_profile_query("&&seconds=1&").seconds, 1);
}

TEST(ProfileQuery, RefusesValuesOutOfBoundsOrNotNumbers) {
  for (const char* q : {"seconds=0", "seconds=301", "seconds=-1", "seconds=", "seconds", "seconds=abc",
                        "seconds=1.5", "seconds=10s", "seconds=99999999999999999999", "seconds=%zz",
                        "seconds=1&seconds=2", "seconds= 5"}) {
    const auto r = parse_profile_query(q);
    EXPECT_NE(r.error, "") << q;
    EXPECT_EQ(r.error.find('\n'), std::string::npos) << q;
    EXPECT_NE(r.error.find("seconds"), std::string::npos) << q;
  }
  EXPECT_EQ(parse_profile_query("seconds=0").error, "seconds=0 is out of range: give 1 to 300");
  EXPECT_EQ(parse_profile_query("seconds=abc").error, "seconds='abc' is not a whole number of seconds (1 to 300)");
}

TEST(ProfileQuery, QuotesOnlyPrintableBoundedValues) {
  const auto r = parse_profile_query("seconds=%0a" + std::string(100, 'x'));
  EXPECT_EQ(r.error.find('\n'), std::string::npos);
  EXPECT_LT(r.error.size(), 120u);
}

TEST(RequestTarget, SplitsPathAndQuery) {
  const auto t = split_target("/debug/pprof/profile?seconds=5");
  EXPECT_EQ(t.path, "/debug/pprof/profile");
  EXPECT_EQ(t.query, "seconds=5");
  EXPECT_EQ(split_target("/healthz").query, "");
  EXPECT_EQ(split_target("/debug%2Fpprof").path, "/debug/pprof");
}

}  // namespace
}  // namespace kperf::agent

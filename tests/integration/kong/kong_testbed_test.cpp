// The Kong test bed helper (tests/support/kong_testbed): a real Kong 2.4.0 answers on its
// proxy port with Kong's Via header and key-auth, and leaves no process behind.
#include <gtest/gtest.h>

#include "tests/support/kong_testbed.hpp"
#include "tests/support/process.hpp"

namespace kperf::test {
namespace {

TEST(KongTestbed, RealKongAnswersAndStopsClean) {
  if (const std::string why = kong_testbed_unavailable(); !why.empty()) GTEST_SKIP() << why;
  pid_t master = -1;
  {
    KongTestbed tb;
    master = tb.master_pid();
    ASSERT_GT(master, 0);
    EXPECT_TRUE(process_alive(master));
    std::string out;
    ASSERT_EQ(run_command("curl -si --max-time 5 " + tb.proxy_url() + "/open", &out), 0) << out;
    EXPECT_NE(out.find("Via: kong/2.4.0"), std::string::npos) << out;
    out.clear();
    ASSERT_EQ(run_command("curl -s -o /dev/null -w '%{http_code}' --max-time 5 " + tb.proxy_url() + "/key", &out), 0);
    EXPECT_EQ(out, "401");
    out.clear();
    ASSERT_EQ(run_command("curl -s -o /dev/null -w '%{http_code}' --max-time 5 '" + tb.proxy_url() +
                              "/key?apikey=alice-key'",
                          &out),
              0);
    EXPECT_EQ(out, "200");
  }
  EXPECT_FALSE(process_alive(master)) << "Kong's master " << master << " still runs after stop";
}

}  // namespace
}  // namespace kperf::test

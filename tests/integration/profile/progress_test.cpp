// `kperf profile`'s progress display: the terminal bar (fill, percentage, ETA) and the
// plain lines written when stderr is not a terminal.
#include <cstdio>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kperf/run/progress.hpp"

namespace {

using kperf::ProgressDisplay;
using ::testing::HasSubstr;

TEST(ProfileProgress, ClockFormat) {
  EXPECT_EQ(ProgressDisplay::format_clock(0), "0:00");
  EXPECT_EQ(ProgressDisplay::format_clock(7.4), "0:07");
  EXPECT_EQ(ProgressDisplay::format_clock(65), "1:05");
  EXPECT_EQ(ProgressDisplay::format_clock(3723), "1:02:03");
  EXPECT_EQ(ProgressDisplay::format_clock(-3), "0:00");
}

TEST(ProfileProgress, BarShowsThePlanFractionAndEta) {
  // Run 2 of 3 x 10 s, 5 s into it: 15 of 30 s done, 15 s left.
  const std::string line = ProgressDisplay::bar_line("run 2/3", 5, 10, 10, 30, 12345.6, 10);
  EXPECT_EQ(line.substr(0, 12), "[#####.....]");
  EXPECT_THAT(line, HasSubstr(" 50% run 2/3 5.0s/10.0s 12346 req/s ETA 0:15"));
  // Past the planned time (the load ends a little late): clamped, never negative.
  const std::string late = ProgressDisplay::bar_line("run 3/3", 10.4, 10, 20, 30, 1, 10);
  EXPECT_EQ(late.substr(0, 12), "[##########]");
  EXPECT_THAT(late, HasSubstr("100% run 3/3 10.0s/10.0s"));
  EXPECT_THAT(late, HasSubstr("ETA 0:00"));
}

std::string captured(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string s;
  char buf[512];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
  return s;
}

TEST(ProfileProgress, PlainLinesWithoutATerminal) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  {
    ProgressDisplay p(20, false, f);
    p.begin("run 1/2", 10);
    p.update(5, 100, 500, 0);  // nothing drawn without a terminal
    p.end("10.0s, 1000 requests");
    p.message("done");
  }
  EXPECT_EQ(captured(f), "run 1/2: 10.0s ...\nrun 1/2: 10.0s, 1000 requests\ndone\n");
  std::fclose(f);
}

TEST(ProfileProgress, TerminalBarIsRedrawnInPlaceAndCleared) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  {
    ProgressDisplay p(10, true, f);
    p.begin("run 1/1", 10);
    p.update(5, 100, 500, 0);
    p.end("10.0s");
  }
  const std::string s = captured(f);
  EXPECT_THAT(s, HasSubstr("\r\x1b[K["));
  EXPECT_THAT(s, HasSubstr(" 50% run 1/1 5.0s/10.0s 100 req/s ETA 0:05"));
  EXPECT_THAT(s, HasSubstr("\r\x1b[Krun 1/1: 10.0s\n"));  // the bar cleared before the line
  std::fclose(f);
}

}  // namespace

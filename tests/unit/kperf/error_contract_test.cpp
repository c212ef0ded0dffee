// The error contract of the kperf binary: a bad flag, a bad value, a missing file or a
// missing command ends in exactly one line "kperf: ..." on stderr and exit status 2.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/support/process.hpp"

namespace kperf::test {
namespace {

void expect_one_line_error(const std::vector<std::string>& args, const std::string& fragment) {
  std::vector<std::string> argv = {KPERF_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  const RunResult r = run(argv, 30);
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_TRUE(r.err.starts_with("kperf: ")) << r.err;
  ASSERT_FALSE(r.err.empty());
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "more than one line: " << r.err;
  EXPECT_NE(r.err.find(fragment), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST(ErrorContract, UnknownFlag) { expect_one_line_error({"flamegraph", "--no-such-flag", "x"}, "--no-such-flag"); }

TEST(ErrorContract, BadValueNamesTheCommandsHelp) {
  expect_one_line_error({"record", "-F", "abc", "-d", "1", "-p", "1"}, "kperf record --help");
}

TEST(ErrorContract, BadDurations) {
  expect_one_line_error({"record", "-d", "nan", "--", "true"}, "invalid duration 'nan'");
  expect_one_line_error({"record", "-d", "0", "--", "true"}, "more than 0");
  expect_one_line_error({"load", "-d", "2x", "http://127.0.0.1:9/"}, "unknown unit 'x'");
}

// A value outside an option's choices names them (parsed into its enum by CLI11).
TEST(ErrorContract, UnknownDriverNamesTheDrivers) {
  expect_one_line_error({"profile", "--driver", "kubernetes"}, "kubernetes not in {docker,lab,local}");
}

TEST(ErrorContract, NoCommand) { expect_one_line_error({}, "kperf --help"); }

TEST(ErrorContract, UnknownCommand) { expect_one_line_error({"no-such-command"}, "no-such-command"); }

TEST(ErrorContract, MissingInputFile) {
  expect_one_line_error({"flamegraph", "/nonexistent/kperf-test.folded"}, "/nonexistent/kperf-test.folded");
}

}  // namespace
}  // namespace kperf::test

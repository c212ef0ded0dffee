// The numeric flags several commands share (-t, -c, -R, --runs, -d, --timeout, -F) take
// the same value forms in every command that has them (`-c 1k`, `-d 1500ms`), and a bad
// value ends in the same one line "kperf: --FLAG: ..." and exit status 2 in all of them.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "tests/support/process.hpp"

namespace kperf::test {
namespace {

// A command line that parses and then fails at a known later point, touching nothing:
// so a status 2 naming that point shows the flags before it were accepted.
struct Command {
  std::string name;
  std::vector<std::string> base;
  std::string later_failure;  // in the error line when the flags were accepted
};

const std::vector<Command>& commands() {
  static const std::vector<Command> all = {
      {"load", {"load", "http://127.0.0.1:1/{5..1}"}, "invalid range"},
      {"attach",
       {"attach", "--pid", "2147483646", "--url", "http://127.0.0.1:1/"},
       "--pid 2147483646: no such process"},
      {"profile", {"profile", "--workload", "/nonexistent/kperf-flags.yaml"}, "/nonexistent/kperf-flags.yaml"},
      {"record", {"record"}, "give exactly one of -p"},
      {"agent", {"agent"}, "give exactly one of --pid"},
  };
  return all;
}

// Each shared flag, a value in its units' forms, and the commands that have it.
struct SharedFlag {
  std::string flag;
  std::string good;
  std::vector<std::string> commands;
};

const std::vector<SharedFlag> kShared = {
    {"-t", "1k", {"load", "attach", "profile"}},
    {"-c", "1k", {"load", "attach", "profile"}},
    {"-R", "2k", {"load", "attach", "profile"}},
    {"--runs", "1k", {"load", "profile"}},
    {"-d", "1500ms", {"load", "attach", "profile", "record"}},
    {"--timeout", "1500ms", {"load", "attach"}},
    {"-F", "1k", {"attach", "profile", "record", "agent"}},
};

RunResult kperf(const Command& c, const std::vector<std::string>& flags) {
  std::vector<std::string> argv = {KPERF_BINARY};
  argv.insert(argv.end(), c.base.begin(), c.base.end());
  argv.insert(argv.end(), flags.begin(), flags.end());
  return run(argv, 30);
}

// The one error line without its pointer to the command's help.
std::string error_line(const RunResult& r, const std::string& command) {
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_TRUE(r.err.starts_with("kperf: ")) << r.err;
  EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "not one line: " << r.err;
  EXPECT_EQ(r.out, "");
  std::string line = r.err.substr(0, r.err.find('\n'));
  const std::string help = " (see kperf " + command + " --help)";
  if (line.ends_with(help)) line.resize(line.size() - help.size());
  return line;
}

TEST(SharedFlags, EveryCommandAcceptsTheSameValueForms) {
  for (const Command& c : commands()) {
    std::vector<std::string> flags;
    for (const SharedFlag& f : kShared) {
      if (std::find(f.commands.begin(), f.commands.end(), c.name) == f.commands.end()) continue;
      flags.insert(flags.end(), {f.flag, f.good});
    }
    ASSERT_FALSE(flags.empty()) << c.name;
    const RunResult r = kperf(c, flags);
    const std::string line = error_line(r, c.name);
    EXPECT_NE(line.find(c.later_failure), std::string::npos) << c.name << ": flags refused: " << line;
  }
}

TEST(SharedFlags, ABadValueIsTheSameOneLineErrorInEveryCommand) {
  for (const SharedFlag& f : kShared) {
    for (const std::string bad : {"1x", "0", "-3"}) {
      std::map<std::string, std::string> lines;  // command -> its error line
      for (const Command& c : commands()) {
        if (std::find(f.commands.begin(), f.commands.end(), c.name) == f.commands.end()) continue;
        const RunResult r = kperf(c, {f.flag, bad});
        const std::string line = error_line(r, c.name);
        EXPECT_EQ(line.find(c.later_failure), std::string::npos) << c.name << " " << f.flag << " " << bad;
        EXPECT_NE(line.find("'" + bad + "'"), std::string::npos) << line;
        lines[c.name] = line;
      }
      ASSERT_EQ(lines.size(), f.commands.size());
      for (const auto& [command, line] : lines) {
        EXPECT_EQ(line, lines.begin()->second) << f.flag << " " << bad << ": " << command << " vs "
                                               << lines.begin()->first;
      }
    }
  }
}

}  // namespace
}  // namespace kperf::test

// Unit tests of kperf/gateway/kong_select: `--version V` without --driver picks a local
// Kong of that version (--kong-prefix, PATH, usual prefixes), else Docker when an engine
// answers, else one line naming both ways and what was looked at.
#include "kperf/gateway/kong_select.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

namespace kperf {
namespace {

namespace fs = std::filesystem;

class KongSelect : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("kperf-select-test-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  // A fake Kong install prefix whose `kong version` prints `version`.
  fs::path kong(const std::string& name, const std::string& version) {
    const fs::path bin = dir_ / name / "bin";
    fs::create_directories(bin);
    std::ofstream(bin / "kong") << "#!/bin/sh\necho " << version << "\n";
    ::chmod((bin / "kong").c_str(), 0755);
    return dir_ / name;
  }
  LocalOptions options() {
    LocalOptions o;
    o.path_env = (dir_ / "nothing-on-path").string();
    o.usual_prefixes = {};
    return o;
  }
  // Runs commands for real, except docker: answers as an engine would (or would not).
  CommandRunner runner(bool engine) {
    return [this, engine](const Command& c) {
      calls_.push_back(c.argv.front());
      if (c.argv.front() == "docker") {
        return engine ? CommandResult{0, "24.0.7\n", ""}
                      : CommandResult{1, "", "Cannot connect to the Docker daemon at unix:///var/run/docker.sock.\n"};
      }
      return run_command(c);
    };
  }
  fs::path dir_;
  std::vector<std::string> calls_;
};

TEST_F(KongSelect, LocalKongOfThatVersionFirst) {
  LocalOptions o = options();
  o.usual_prefixes = {kong("old", "3.4.2"), kong("mine", "Kong 2.4.0")};
  EXPECT_EQ(choose_kong_driver(parse_version_spec("2.4.0"), o, runner(true)), DriverKind::local);
  EXPECT_EQ(std::count(calls_.begin(), calls_.end(), "docker"), 0);  // Docker is not even asked
  const auto m = match_local_kong(o, parse_version_spec("2.4.0"), runner(true));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->kong.kong, dir_ / "mine" / "bin" / "kong");
  EXPECT_EQ(m->version, "2.4.0");
  // --kong-prefix alone is looked at when given
  o.kong_prefix = dir_ / "old";
  EXPECT_FALSE(match_local_kong(o, parse_version_spec("2.4.0"), runner(true)));
}

TEST_F(KongSelect, DockerWhenNoLocalKongMatches) {
  LocalOptions o = options();
  o.usual_prefixes = {kong("old", "3.4.2")};
  EXPECT_EQ(choose_kong_driver(parse_version_spec("2.4.0"), o, runner(true)), DriverKind::docker);
  EXPECT_EQ(choose_kong_driver(parse_version_spec("git:master"), o, runner(true)), DriverKind::docker);
}

TEST_F(KongSelect, OneLineNamingBothWaysWhenNeither) {
  LocalOptions o = options();
  o.usual_prefixes = {kong("old", "3.4.2"), dir_ / "absent"};
  try {
    choose_kong_driver(parse_version_spec("2.4.0"), o, runner(false));
    FAIL();
  } catch (const std::runtime_error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    EXPECT_EQ(msg.rfind("--version 2.4.0: no local Kong 2.4.0 (found " + (dir_ / "old" / "bin" / "kong").string() +
                            " (Kong 3.4.2); looked at `kong` on the PATH, " + (dir_ / "old/bin/kong").string() +
                            ", " + (dir_ / "absent/bin/kong").string() + "), and no Docker engine for kong:2.4.0 "
                            "(docker info: Cannot connect to the Docker daemon",
                        0),
              0u)
        << msg;
    EXPECT_NE(msg.find("--kong-prefix DIR"), std::string::npos) << msg;
    EXPECT_NE(msg.find("start Docker"), std::string::npos) << msg;
  }
}

}  // namespace
}  // namespace kperf

// Unit tests of the local Kong driver (kperf/gateway/local_kong_gateway): finding Kong, version checks,
// the generated kong.conf and commands, pid files, and the errors without Kong.
#include "kperf/gateway/local_kong_gateway.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include <nlohmann/json.hpp>

namespace kperf {
namespace {

KongGatewaySpec spec_for(const std::string& version) {
  KongGatewaySpec s;
  s.version = parse_version_spec(version);
  s.declarative_config = "/tmp/kperf-run/kong.json";
  s.proxy_port = 18000;
  s.status_port = 18001;
  s.worker_processes = 4;
  s.work_dir = "/tmp/kperf-run";
  return s;
}

class DriverLocalFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("kperf-local-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void make_kong(const std::filesystem::path& bin_dir) {
    std::filesystem::create_directories(bin_dir);
    std::ofstream(bin_dir / "kong") << "#!/bin/sh\necho 2.4.0\n";
    ::chmod((bin_dir / "kong").c_str(), 0755);
  }
  std::filesystem::path dir_;
};

TEST(DriverLocal, KongConf) {
  EXPECT_EQ(local_kong_conf(spec_for("2.4.0")),
            "# kong.conf written by kperf for one profile run (DB-less, loopback only)\n"
            "prefix = /tmp/kperf-run/kong-prefix\n"
            "database = off\n"
            "declarative_config = /tmp/kperf-run/kong.json\n"
            "proxy_listen = 127.0.0.1:18000\n"
            "status_listen = 127.0.0.1:18001\n"
            "admin_listen = off\n"
            "nginx_worker_processes = 4\n"
            "proxy_access_log = off\n"
            "anonymous_reports = off\n");
}

// The workload's plugins are enabled besides the bundled ones: a custom plugin runs.
TEST(DriverLocal, KongConfEnablesTheWorkloadsPlugins) {
  KongGatewaySpec s = spec_for("2.4.0");
  s.config = nlohmann::json::parse(R"({"_format_version": "3.0",
      "services": [{"name": "a", "url": "http://x/", "plugins": [{"name": "my-custom"}],
                    "routes": [{"paths": ["/"], "plugins": [{"name": "key-auth"}]}]}],
      "plugins": [{"name": "key-auth"}]})");
  const std::string conf = local_kong_conf(s);
  EXPECT_NE(conf.find("\nplugins = bundled,key-auth,my-custom\n"), std::string::npos) << conf;
}

TEST(DriverLocal, Commands) {
  const LocalKong install{"/usr/local/bin/kong", {}};
  const auto s = spec_for("2.4.0");
  EXPECT_EQ(local_version_command(install), (Command{{"/usr/local/bin/kong", "version"}, {}}));
  EXPECT_EQ(local_start_command(install, s),
            (Command{{"/usr/local/bin/kong", "start", "-c", "/tmp/kperf-run/kong.conf", "--prefix",
                      "/tmp/kperf-run/kong-prefix"},
                     {}}));
  EXPECT_EQ(local_stop_command(install, s),
            (Command{{"/usr/local/bin/kong", "stop", "--prefix", "/tmp/kperf-run/kong-prefix"}, {}}));
  EXPECT_EQ(local_pid_file(s), "/tmp/kperf-run/kong-prefix/pids/nginx.pid");
  // A source tree: commands run in the tree (bin/kong puts ./?.lua first).
  const LocalKong tree{"/src/kong/bin/kong", "/src/kong"};
  EXPECT_EQ(local_start_command(tree, s).cwd, "/src/kong");
  EXPECT_EQ(local_rev_parse_command(tree, "master").argv,
            (Argv{"git", "-C", "/src/kong", "rev-parse", "--verify", "--quiet", "master^{commit}"}));
}

TEST(DriverLocal, VersionChecks) {
  EXPECT_NO_THROW(check_local_version(parse_version_spec("2.4.0"), "Kong 2.4.0\n"));
  EXPECT_NO_THROW(check_local_version(parse_version_spec("2.4.0"), "2.4.0"));
  EXPECT_NO_THROW(check_local_version(parse_version_spec("3.4.3"), "Kong Enterprise 3.4.3.1"));
  try {
    check_local_version(parse_version_spec("2.4.0"), "3.4.2\n");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(),
                 "--driver local: the local Kong is 3.4.2, not the requested 2.4.0; install that release, point "
                 "--kong-prefix at it, or use --driver docker");
  }
  try {
    check_local_version(parse_version_spec("git:master"), "3.4.2");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(),
                 "--driver local: --version git:master needs a Kong source tree (--kong-prefix DIR with "
                 "kong/meta.lua), or --driver docker");
  }
  EXPECT_THROW(check_local_version(parse_version_spec("2.4.0"), "resty: not found"), std::runtime_error);
}

TEST(DriverLocal, GitRefOfASourceTree) {
  const LocalKong tree{"/src/kong/bin/kong", "/src/kong"};
  auto runner = [](std::string want, std::string head) {
    return [want, head](const Command& c) {
      const std::string rev = c.argv.back();
      if (rev == "HEAD^{commit}") return CommandResult{0, head + "\n", ""};
      if (want.empty()) return CommandResult{1, "", ""};
      return CommandResult{0, want + "\n", ""};
    };
  };
  EXPECT_NO_THROW(check_local_git_ref(tree, parse_version_spec("git:master"), runner("abc123", "abc123")));
  try {
    check_local_git_ref(tree, parse_version_spec("git:master"), runner("abc123", "def456"));
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "--driver local: /src/kong is not checked out at master (HEAD is def456)");
  }
  EXPECT_THROW(check_local_git_ref(tree, parse_version_spec("git:nope"), runner("", "abc")), std::runtime_error);
  EXPECT_THROW(check_local_git_ref({"/usr/bin/kong", {}}, parse_version_spec("git:master"), runner("a", "a")),
               std::runtime_error);
}

TEST_F(DriverLocalFiles, FindsKongOnPathAndUnderPrefix) {
  make_kong(dir_ / "bin");
  LocalOptions on_path;
  on_path.path_env = "/nonexistent-kperf:" + (dir_ / "bin").string();
  EXPECT_EQ(find_local_kong(on_path).kong, dir_ / "bin" / "kong");
  EXPECT_TRUE(find_local_kong(on_path).source_tree.empty());

  LocalOptions prefix;
  prefix.kong_prefix = dir_;
  EXPECT_EQ(find_local_kong(prefix).kong, dir_ / "bin" / "kong");
  EXPECT_TRUE(find_local_kong(prefix).source_tree.empty());  // an install prefix
  std::filesystem::create_directories(dir_ / "kong");
  std::ofstream(dir_ / "kong" / "meta.lua") << "major = 3,\n";
  EXPECT_EQ(find_local_kong(prefix).source_tree, dir_);  // a source tree
}

TEST_F(DriverLocalFiles, MissingKongErrors) {
  LocalOptions none;
  none.path_env = (dir_ / "empty").string();
  try {
    find_local_kong(none);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(),
                 "--driver local: no `kong` on the PATH; give --kong-prefix DIR (a Kong install prefix or source "
                 "tree), or use --driver docker (Kong's image) or --driver lab (the built-in lab gateway)");
  }
  LocalOptions prefix;
  prefix.kong_prefix = dir_;
  try {
    find_local_kong(prefix);
    FAIL();
  } catch (const std::runtime_error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.rfind("--driver local: no executable bin/kong under --kong-prefix " + dir_.string() + "; ", 0), 0u)
        << msg;
  }
  // A non-executable file named kong does not count.
  std::filesystem::create_directories(dir_ / "bin");
  std::ofstream(dir_ / "bin" / "kong") << "x";
  EXPECT_THROW(find_local_kong(prefix), std::runtime_error);
}

TEST(DriverLocal, RealPathOnThisMachine) {
  // No Kong is installed here: the real PATH search must fail with the clear error.
  try {
    const LocalKong k = find_local_kong({});
    GTEST_SKIP() << "a kong is on the PATH here (" << k.kong << ")";
  } catch (const std::runtime_error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("no `kong` on the PATH"), std::string::npos) << msg;
    EXPECT_NE(msg.find("--driver docker"), std::string::npos) << msg;
    EXPECT_NE(msg.find("--driver lab"), std::string::npos) << msg;
  }
}

TEST_F(DriverLocalFiles, PidFile) {
  std::ofstream(dir_ / "nginx.pid") << "4242\n";
  EXPECT_EQ(read_pid_file(dir_ / "nginx.pid"), 4242);
  std::ofstream(dir_ / "bad.pid") << "x\n";
  EXPECT_THROW(read_pid_file(dir_ / "bad.pid"), std::runtime_error);
  EXPECT_THROW(read_pid_file(dir_ / "missing.pid"), std::runtime_error);
}

TEST_F(DriverLocalFiles, StartRefusesAWrongVersionBeforeStarting) {
  make_kong(dir_ / "bin");
  KongGatewaySpec s = spec_for("3.4.2");
  s.work_dir = dir_ / "run";
  LocalOptions o;
  o.kong_prefix = dir_;
  std::vector<Argv> calls;
  {
    LocalKongGateway g(s, o, [&](const Command& c) {
      calls.push_back(c.argv);
      return run_command(c);  // the fake kong script prints 2.4.0
    });
    try {
      g.start();
      FAIL();
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find("no local Kong 3.4.2 (found " + (dir_ / "bin" / "kong").string() +
                                           " (Kong 2.4.0); looked at --kong-prefix " + dir_.string() + ")"),
                std::string::npos)
          << e.what();
    }
  }
  ASSERT_EQ(calls.size(), 1u);  // only `kong version`: no start, so no stop either
  EXPECT_EQ(calls[0], (Argv{(dir_ / "bin" / "kong").string(), "version"}));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "run" / "kong.conf"));
}

}  // namespace
}  // namespace kperf

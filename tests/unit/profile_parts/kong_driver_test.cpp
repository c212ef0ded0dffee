// Unit tests of the Kong drivers' shared pieces (kperf/kong_driver): running argv
// vectors, version specs and outputs, kong/meta.lua, the nginx master of a process tree.
#include "kperf/gateway/kong_driver.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

namespace kperf {
namespace {

using namespace std::string_literals;

TEST(KongDriver, RunCommandCapturesOutputAndStatus) {
  const auto r = run_command({{"sh", "-c", "echo out; echo err >&2; exit 3"}, {}});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
  // Arguments are passed as they are: no shell splitting or expansion.
  const auto e = run_command({{"printf", "%s|", "a b", "$HOME", "'q'"}, {}});
  EXPECT_TRUE(e.ok());
  EXPECT_EQ(e.out, "a b|$HOME|'q'|");
}

TEST(KongDriver, RunCommandCwdMissingAndTimeout) {
  const auto d = std::filesystem::temp_directory_path();
  const auto r = run_command({{"pwd"}, d});
  EXPECT_EQ(r.out, std::filesystem::canonical(d).string() + "\n");
  const auto missing = run_command({{"kperf-no-such-program-xyz"}, {}});
  EXPECT_EQ(missing.exit_code, 127);
  EXPECT_NE(missing.err.find("kperf-no-such-program-xyz"), std::string::npos);
  const auto t0 = std::chrono::steady_clock::now();
  const auto slow = run_command({{"sleep", "20"}, {}}, std::chrono::milliseconds(300));
  EXPECT_EQ(slow.exit_code, -1);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
}

TEST(KongDriver, VersionSpecs) {
  auto v = parse_version_spec("2.4.0");
  EXPECT_EQ(v.release, "2.4.0");
  EXPECT_FALSE(v.is_git());
  v = parse_version_spec("3.0.0-rc.1");
  EXPECT_EQ(v.release, "3.0.0-rc.1");
  v = parse_version_spec("git:master");
  EXPECT_TRUE(v.is_git());
  EXPECT_EQ(v.git_ref, "master");
  EXPECT_EQ(v.text, "git:master");
  EXPECT_EQ(parse_version_spec("git:1a2b3c4").git_ref, "1a2b3c4");
  for (const char* bad : {"", "latest", "2.4", "v2.4.0", "git:", "git:-x", "git:a b", "git:a..b", "2.4.0;rm"}) {
    EXPECT_THROW(parse_version_spec(bad), std::runtime_error) << bad;
  }
  try {
    parse_version_spec("latest");
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "--version latest: expected a Kong release like 3.4.2 (or 3.0.0-rc.1) or git:REF");
  }
}

TEST(KongDriver, VersionOutput) {
  EXPECT_EQ(parse_kong_version_output("3.4.2\n"), "3.4.2");
  EXPECT_EQ(parse_kong_version_output("Kong 2.4.0"), "2.4.0");
  EXPECT_EQ(parse_kong_version_output("Kong: 2.4.0\nngx_lua: 10019\nnginx: 1019003\nLua: LuaJIT 2.1.0-beta3\n"),
            "2.4.0");
  EXPECT_EQ(parse_kong_version_output("Kong Enterprise 3.4.3.1\n"), "3.4.3.1");
  EXPECT_EQ(parse_kong_version_output("WARNING: something at 1.2.3 is old\r\n3.0.0-alpha.1\r\n"), "3.0.0-alpha.1");
  EXPECT_EQ(parse_kong_version_output("command not found"), std::nullopt);
  EXPECT_EQ(parse_kong_version_output(""), std::nullopt);
}

TEST(KongDriver, VersionMatches) {
  EXPECT_TRUE(version_matches("2.4.0", "2.4.0"));
  EXPECT_FALSE(version_matches("2.4.0", "2.4.1"));
  EXPECT_FALSE(version_matches("2.4.0", "2.4.01"));
  EXPECT_FALSE(version_matches("2.4.0", "12.4.0"));
  EXPECT_TRUE(version_matches("3.4.3", "3.4.3.1"));
  EXPECT_FALSE(version_matches("3.4.3.1", "3.4.3"));
}

TEST(KongDriver, KongMeta) {
  const char* current = R"(local version = setmetatable({
  major = 3,
  minor = 10,
  patch = 0,
  --suffix = "-alpha.13"
}, {
  __tostring = function(t)
    return string.format("%d.%d.%d%s", t.major, t.minor, t.patch,
                         t.suffix or "")
  end
}))";
  EXPECT_EQ(parse_kong_meta(current), "3.10.0");
  EXPECT_EQ(parse_kong_meta("major = 3,\nminor = 0,\npatch = 0,\nsuffix = \"-alpha.1\"\n"), "3.0.0-alpha.1");
  EXPECT_EQ(parse_kong_meta("  _MAJOR = 0,\n  _MINOR = 14,\n  _PATCH = 1,\n"), "0.14.1");
  EXPECT_EQ(parse_kong_meta("return {}"), std::nullopt);
}

class FakeProc : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() / ("kperf-fakeproc-" + std::to_string(::getpid()));
    std::filesystem::remove_all(root_);
    add(100, 1, "sh", "/bin/sh\0/docker-entrypoint.sh\0"s);
    add(101, 100, "nginx", "nginx: master process /usr/local/openresty/nginx/sbin/nginx -p /kong\0"s);
    add(102, 101, "nginx", "nginx: worker process\0"s);
    add(103, 101, "nginx", "nginx: worker process\0"s);
    add(200, 1, "tini (x) y", "tini\0"s);  // comm with spaces and ')'
    add(201, 200, "bash", "bash\0"s);
    add(202, 201, "nginx", "nginx: master process nginx -g daemon off;\0"s);
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  void add(int pid, int ppid, const std::string& comm, const std::string& cmdline) {
    const auto d = root_ / std::to_string(pid);
    std::filesystem::create_directories(d);
    std::ofstream(d / "stat") << pid << " (" << comm << ") S " << ppid << " 1 1 0 -1 4194560\n";
    std::ofstream(d / "cmdline") << cmdline;
  }
  std::filesystem::path root_;
};

TEST_F(FakeProc, FindsTheNginxMaster) {
  EXPECT_EQ(find_nginx_master(100, root_), 101);  // the container's init runs nginx
  EXPECT_EQ(find_nginx_master(101, root_), 101);  // init is nginx itself
  EXPECT_EQ(find_nginx_master(200, root_), 202);  // a grandchild
  EXPECT_EQ(find_nginx_master(102, root_), std::nullopt);  // a worker has none below
  EXPECT_EQ(find_nginx_master(999, root_), std::nullopt);
}

// What `kong start` of the real Kong 2.4.0 test bed prints for a config it rejects
// (stderr, as captured), and its error log: the line names Kong's error, not the
// harmless keepalive warning printed first, and not the stack traceback.
TEST(KongFailure, NamesKongsOwnError) {
  const std::string err =
      "Error: ...ong/cmd/start.lua:64: nginx: [warn] [lua] init.lua:117: missing method "
      "'ngx_balancer.enable_keepalive()' (was the dyn_upstream_keepalive patch applied?) set the "
      "'nginx_upstream_keepalive' configuration property instead of 'upstream_keepalive_pool_size'\n"
      "nginx: [error] init_by_lua error: .../kong/init.lua:495: error parsing declarative config file /t/kong.yml:\n"
      "in '_format_version': expected one of: 1.1, 2.1\n"
      "stack traceback:\n"
      "\t[C]: in function 'error'\n"
      "\t.../kong/init.lua:495: in function 'init'\n"
      "\n"
      "  Run with --v (verbose) or --vv (debug) for more details\n";
  const std::string log =
      "2026/12/04 14:41:54 [warn] 14243#14243: [lua] init.lua:117: missing method 'ngx_balancer.enable_keepalive()'\n"
      "2026/12/04 14:41:54 [error] 14243#14243: init_by_lua error: .../kong/init.lua:495: error parsing "
      "declarative config file /t/kong.yml:\n"
      "in '_format_version': expected one of: 1.1, 2.1\n"
      "stack traceback:\n"
      "\t[C]: in function 'error'\n";
  EXPECT_EQ(kong_failure(err, log),
            "Error: error parsing declarative config file /t/kong.yml: in '_format_version': expected one of: 1.1, 2.1");
  // The log says something else: both, in one line.
  const std::string other = "2026/12/04 14:41:55 [crit] 1#1: *3 connect() failed (111: Connection refused)\n";
  EXPECT_EQ(kong_failure(err, other),
            "Error: error parsing declarative config file /t/kong.yml: in '_format_version': expected one of: 1.1, "
            "2.1; error.log: connect() failed (111: Connection refused)");
  // No Error: text (a container's log): the log alone; nothing at all: "".
  EXPECT_EQ(kong_failure("", "nginx: [emerg] bind() to 127.0.0.1:8000 failed (98: Address already in use)\n"),
            "error.log: bind() to 127.0.0.1:8000 failed (98: Address already in use)");
  EXPECT_EQ(kong_failure("some noise\n", "2026/12/04 14:41:54 [warn] 1#1: only a warning\n"), "");
  EXPECT_EQ(kong_error_log_problems(log + other).size(), 2u);
}

}  // namespace
}  // namespace kperf

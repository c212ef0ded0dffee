// kperf on real Kong (the Kong 2.4.0 test bed, or the user's own Kong named by
// KPERF_TEST_KONG_PREFIX): `kperf profile --version V` through the local driver (Kong
// found on the PATH, or --kong-prefix), with key-auth, rate-limiting and a plugin the lab
// gateway does not have, every bundled workload, Kong's own error for a workload it
// rejects, and `kperf attach` on Kong under load. Nothing is left running.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kperf/run/workload.hpp"
#include "tests/support/folded_stacks.hpp"
#include "tests/support/kong_testbed.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace kperf::test {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

// The Kong these tests run: KPERF_TEST_KONG_PREFIX (an install prefix or source tree
// holding bin/kong, any version), else the test bed's Kong 2.4.0 (built once).
struct TestKong {
  std::string prefix;   // for --kong-prefix
  std::string version;  // what `kong version` says
  std::string skip;     // why these tests cannot run here ("" if they can)
};

const TestKong& test_kong() {
  static const TestKong k = [] {
    TestKong t;
    if (const char* own = std::getenv("KPERF_TEST_KONG_PREFIX"); own && *own) {
      t.prefix = own;
      std::string out;
      if (run_command("'" + t.prefix + "/bin/kong' version 2>&1", &out) != 0) {
        t.skip = "KPERF_TEST_KONG_PREFIX=" + t.prefix + ": `bin/kong version` failed: " + out;
        return t;
      }
      std::smatch m;
      if (std::regex_search(out, m, std::regex(R"((\d+\.\d+\.\d+(\.\d+)?))"))) t.version = m[1].str();
      if (::geteuid() != 0) t.skip = "the Kong tests need root (BPF sampling)";
      return t;
    }
    t.skip = kong_testbed_unavailable();
    if (!t.skip.empty()) {
      t.skip += " (or set KPERF_TEST_KONG_PREFIX to your own Kong's install prefix)";
      return t;
    }
    t.prefix = kong_testbed_build() + "/install";
    t.version = "2.4.0";
    return t;
  }();
  return k;
}

#define REQUIRE_KONG()                                      \
  do {                                                      \
    if (!test_kong().skip.empty()) GTEST_SKIP() << test_kong().skip; \
  } while (0)

nlohmann::json summary(const fs::path& out) { return nlohmann::json::parse(read_file((out / "summary.json").string())); }

// The master pid kperf reports sampling ("sampling master pid N").
pid_t sampled_master(const std::string& err) {
  std::smatch m;
  if (std::regex_search(err, m, std::regex(R"(sampling master pid (\d+))"))) return std::stoi(m[1].str());
  return -1;
}

bool any_frame_with(const std::vector<Stack>& stacks, const std::string& needle) {
  for (const auto& s : stacks) {
    for (const auto& f : s.frames) {
      if (f.find(needle) != std::string::npos) return true;
    }
  }
  return false;
}

// `kperf profile ARGS --runs 1 --duration 2s --out OUT`, with PATH = path_first:PATH.
RunResult profile(const std::vector<std::string>& args, const fs::path& out, const std::string& path_first = "") {
  std::vector<std::string> argv = {"env"};
  if (!path_first.empty()) argv.push_back("PATH=" + path_first + ":" + std::getenv("PATH"));
  argv.push_back(KPERF_BINARY);
  argv.push_back("profile");
  argv.insert(argv.end(), args.begin(), args.end());
  for (const char* a : {"--runs", "1", "--duration", "2s", "--out"}) argv.emplace_back(a);
  argv.push_back(out.string());
  return run(argv, 120);
}

// `kperf profile --version V --kong-prefix P --workload WORKLOAD` on the test Kong.
RunResult profile_on_kong(const std::string& workload, const fs::path& out) {
  return profile({"--version", test_kong().version, "--kong-prefix", test_kong().prefix, "--workload", workload}, out);
}

// The command users run: `kperf profile --version V` with Kong on the PATH and no
// --driver. The local driver runs the bundled key-auth workload (written as 3.0, run as
// Kong 2.x's 2.1): every request answered 200 through key-auth, Lua frames of Kong's
// own files, and Kong is gone afterwards.
TEST(KongProfile, VersionAloneRunsTheLocalKong) {
  REQUIRE_KONG();
  TempDir t;
  const fs::path out = fs::path(t.path()) / "out";
  const RunResult r = profile({"--version", test_kong().version, "--workload", "key-auth"}, out,
                              test_kong().prefix + "/bin");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_THAT(r.err, Not(HasSubstr("lab gateway starting")));
  const auto j = summary(out);
  EXPECT_EQ(j["driver"], "local (Kong " + test_kong().version + ")");
  EXPECT_GT(j["combined"]["requests"].get<uint64_t>(), 100u);
  EXPECT_EQ(j["combined"]["errors"]["status"].get<uint64_t>(), 0u) << "non-2xx answers: key-auth refused a key?";
  const auto stacks = parse_folded(read_file((out / "profile.folded").string()));
  EXPECT_TRUE(any_frame_with(stacks, "kong/init.lua:")) << "no Lua frame of kong/init.lua";
  EXPECT_TRUE(any_frame_with(stacks, "kong/plugins/key-auth/handler.lua:"));
  EXPECT_TRUE(fs::is_regular_file(out / "error.log"));
  EXPECT_THAT(read_file((out / "summary.txt").string()), HasSubstr("key-auth"));
  const pid_t master = sampled_master(r.err);
  ASSERT_GT(master, 0) << r.err;
  EXPECT_FALSE(process_alive(master)) << "Kong's master " << master << " still runs";
}

// `--version V` where no Kong is V and no Docker engine answers (no docker command on
// this PATH): one line naming what was looked at and both ways out, status 2, nothing
// written or started.
TEST(KongProfile, VersionWithoutKongOrDockerIsOneLine) {
  if (::geteuid() != 0) GTEST_SKIP() << "kperf profile checks BPF privileges first: needs root";
  TempDir t;
  const fs::path out = fs::path(t.path()) / "out";
  const RunResult r = run({"env", "PATH=" + t.path(), KPERF_BINARY, "profile", "--version", "9.9.9", "--out",
                           out.string()},
                          60);
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("--version 9.9.9: no local Kong 9.9.9"));
  EXPECT_THAT(r.err, HasSubstr("`kong` on the PATH, /usr/local/bin/kong"));
  EXPECT_THAT(r.err, HasSubstr("no Docker engine for kong:9.9.9"));
  EXPECT_THAT(r.err, HasSubstr("--kong-prefix DIR"));
  EXPECT_FALSE(fs::exists(out));
}

// A workload the lab cannot run (ip-restriction, a regex route in 3.0 format) runs on
// Kong with rate-limiting and key-auth; the lab refuses it in one line.
TEST(KongProfile, RateLimitingAndAPluginTheLabLacks) {
  REQUIRE_KONG();
  TempDir t;
  const std::string file = t.file("kong-only.yaml");
  write_file(file,
             "name: kong-only\n"
             "load: {threads: 1, connections: 8, path: \"/re/{1..9}?apikey=k1\"}\n"
             "kong:\n"
             "  _format_version: \"3.0\"\n"
             "  services:\n"
             "    - name: s1\n"
             "      url: http://kperf-upstream/test\n"
             "      routes:\n"
             "        - {name: r1, paths: [\"~/re/\\\\d+$\"], strip_path: true}\n"
             "      plugins:\n"
             "        - {name: key-auth}\n"
             "        - {name: ip-restriction, config: {allow: [127.0.0.1]}}\n"
             "        - {name: rate-limiting, config: {second: 1000000, policy: local}}\n"
             "  consumers:\n"
             "    - {username: c1, keyauth_credentials: [{key: k1}]}\n");
  const fs::path out = fs::path(t.path()) / "out";
  const RunResult r = profile_on_kong(file, out);
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = summary(out);
  EXPECT_GT(j["combined"]["requests"].get<uint64_t>(), 50u);
  EXPECT_EQ(j["combined"]["errors"]["status"].get<uint64_t>(), 0u) << "the regex route or a plugin refused requests";
  const auto stacks = parse_folded(read_file((out / "profile.folded").string()));
  EXPECT_TRUE(any_frame_with(stacks, "kong/plugins/rate-limiting/")) << "no rate-limiting frame";
  EXPECT_TRUE(any_frame_with(stacks, "kong/plugins/key-auth/handler.lua:"));

  // The lab gateway: one line naming the plugin it lacks, nothing written.
  const fs::path lab_out = fs::path(t.path()) / "lab-out";
  const RunResult lab = profile({"--workload", file}, lab_out);
  EXPECT_EQ(lab.status, 2) << lab.err;
  EXPECT_THAT(lab.err, HasSubstr("unknown plugin 'ip-restriction'"));
  EXPECT_EQ(std::count(lab.err.begin(), lab.err.end(), '\n'), 1) << lab.err;
  EXPECT_FALSE(fs::exists(lab_out));
}

// A custom plugin (not bundled with Kong, not in the lab) installed on Kong's Lua path
// runs: kperf enables the workload's plugins besides the bundled ones, and the profile
// shows its handler. The plugin goes on the test bed's Lua path (KONG_LUA_PACKAGE_PATH
// replaces the test bed's own list, so the test gives the whole list).
TEST(KongProfile, CustomPluginRuns) {
  REQUIRE_KONG();
  if (std::getenv("KPERF_TEST_KONG_PREFIX")) GTEST_SKIP() << "puts its plugin on the Kong test bed's Lua path only";
  TempDir t;
  fs::create_directories(t.file("lua/kong/plugins/kperf-hello"));
  write_file(t.file("lua/kong/plugins/kperf-hello/handler.lua"),
             "local Hello = { PRIORITY = 900, VERSION = \"1.0\" }\n"
             "function Hello:access(conf)\n"
             "  local s = 0\n"
             "  for i = 1, conf.spin do s = s + i % 7 end\n"
             "  kong.ctx.plugin.s = s\n"
             "end\n"
             "return Hello\n");
  write_file(t.file("lua/kong/plugins/kperf-hello/schema.lua"),
             "return { name = \"kperf-hello\", fields = { { config = { type = \"record\", fields = {\n"
             "  { spin = { type = \"integer\", default = 20000 } } } } } } }\n");
  const std::string file = t.file("custom.yaml");
  write_file(file,
             "name: custom\n"
             "load: {threads: 1, connections: 8, path: /c}\n"
             "kong:\n"
             "  _format_version: \"3.0\"\n"
             "  services:\n"
             "    - {name: s1, url: http://kperf-upstream/test, routes: [{paths: [/c]}], plugins: [{name: kperf-hello}]}\n");
  const std::string build = fs::path(test_kong().prefix).parent_path().string();
  std::string lua_path = t.file("lua") + "/?.lua";
  for (const std::string& dir : {build + "/kong", build + "/lua/share", std::string("/usr/share/lua/5.1")}) {
    lua_path += ";" + dir + "/?.lua;" + dir + "/?/init.lua";
  }
  const fs::path out = fs::path(t.path()) / "out";
  const RunResult r = run({"env", "KONG_LUA_PACKAGE_PATH=" + lua_path, KPERF_BINARY, "profile", "--version",
                           test_kong().version, "--kong-prefix", test_kong().prefix, "--workload", file, "--runs",
                           "1", "--duration", "2s", "--out", out.string()},
                          120);
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = summary(out);
  EXPECT_GT(j["combined"]["requests"].get<uint64_t>(), 20u);
  EXPECT_EQ(j["combined"]["errors"]["status"].get<uint64_t>(), 0u);
  EXPECT_TRUE(any_frame_with(parse_folded(read_file((out / "profile.folded").string())),
                             "kong/plugins/kperf-hello/handler.lua:"))
      << "no frame of the custom plugin";
}

// A workload Kong rejects: Kong's own message in one line (not its first stderr line,
// the harmless keepalive warning), status 2, no output directory, no Kong left.
TEST(KongProfile, RejectedWorkloadGivesKongsOwnError) {
  REQUIRE_KONG();
  TempDir t;
  const std::string file = t.file("bad.yaml");
  write_file(file,
             "name: bad\n"
             "load: {path: /x}\n"
             "kong:\n"
             "  _format_version: \"3.0\"\n"
             "  services:\n"
             "    - {name: s1, url: http://kperf-upstream/test, routes: [{paths: [/x]}],\n"
             "       plugins: [{name: rate-limiting, config: {policy: local}}]}\n");
  const fs::path out = fs::path(t.path()) / "out";
  const RunResult r = profile_on_kong(file, out);
  EXPECT_EQ(r.status, 2) << r.err;
  // The last line is the error (progress lines come before it).
  std::string last = r.err.substr(0, r.err.size() - 1);
  last = last.substr(last.rfind('\n') + 1);
  EXPECT_THAT(last, HasSubstr("kong start failed"));
  EXPECT_THAT(last, HasSubstr("Error: "));
  EXPECT_THAT(last, HasSubstr("at least one of these fields must be non-empty"));  // Kong's schema message
  EXPECT_THAT(last, Not(HasSubstr("dyn_upstream_keepalive")));
  EXPECT_THAT(last, Not(HasSubstr("stack traceback")));
  EXPECT_FALSE(fs::exists(out));
}

// Every bundled workload runs on Kong (written in the format its version accepts).
TEST(KongProfile, EveryBundledWorkloadRunsOnKong) {
  REQUIRE_KONG();
  for (const auto& name : list_workloads()) {
    SCOPED_TRACE(name);
    TempDir t;
    const fs::path out = fs::path(t.path()) / "out";
    const RunResult r = profile_on_kong(name, out);
    ASSERT_EQ(r.status, 0) << r.err;
    const auto j = summary(out);
    const uint64_t requests = j["combined"]["requests"].get<uint64_t>();
    const uint64_t refused = j["combined"]["errors"]["status"].get<uint64_t>();
    EXPECT_GT(requests, 50u);
    if (name == "rate-limiting-reject") {
      EXPECT_GT(refused, requests / 2) << "the 100/s limit should answer most requests with 429";
    } else {
      EXPECT_EQ(refused, 0u) << "non-2xx answers";
    }
    if (name != "baseline") {  // the baseline's load goes to the upstream, not to Kong
      EXPECT_TRUE(any_frame_with(parse_folded(read_file((out / "profile.folded").string())), "kong/init.lua:"));
    }
    const pid_t master = sampled_master(r.err);
    EXPECT_GT(master, 0) << r.err;
    EXPECT_FALSE(process_alive(master));
  }
}

// `kperf attach` on a running Kong under load: Lua frames with file:line of Kong's runloop
// and the plugin's handler on nearly every LuaJIT sample; Kong keeps running; the part
// of its error log written meanwhile is copied.
TEST(KongAttach, UnderLoadLuaFramesOfKongItself) {
  if (const std::string why = kong_testbed_unavailable(); !why.empty()) GTEST_SKIP() << why;
  KongTestbed tb;
  TempDir t;
  const fs::path out = fs::path(t.path()) / "out";
  const RunResult r = run({KPERF_BINARY, "attach", "--prefix", tb.prefix(), "--duration", "5s", "--url",
                           tb.proxy_url() + "/key?apikey=alice-key", "-c", "16", "-t", "1", "--out", out.string()},
                          60);
  ASSERT_EQ(r.status, 0) << r.err;
  const auto stacks = parse_folded(read_file((out / "profile.folded").string()));
  for (const char* chunk : {"kong/init.lua:", "kong/runloop/handler.lua:", "kong/router.lua:",
                            "kong/plugins/key-auth/handler.lua:"}) {
    EXPECT_TRUE(any_frame_with(stacks, chunk)) << chunk;
  }
  uint64_t luajit = 0, with_lua = 0;
  for (const auto& s : stacks) {
    bool vm = false, lua = false;
    for (const auto& f : s.frames) {
      vm = vm || f.find("libluajit") != std::string::npos || f.find(".lua:") != std::string::npos ||
           f.starts_with("[lua:");
      lua = lua || f.find(".lua:") != std::string::npos;
    }
    if (vm) luajit += s.count;
    if (vm && lua) with_lua += s.count;
  }
  ASSERT_GT(luajit, 20u) << "too few samples in Kong's VM to judge (a busy machine?)";
  EXPECT_GE(with_lua * 10, luajit * 9) << with_lua << " of " << luajit << " LuaJIT samples have Lua frames";
  EXPECT_EQ(summary(out)["combined"]["errors"]["status"].get<uint64_t>(), 0u);
  EXPECT_TRUE(fs::is_regular_file(out / "error.log"));
  EXPECT_TRUE(process_alive(tb.master_pid())) << "attach must leave Kong running";
}

}  // namespace
}  // namespace kperf::test

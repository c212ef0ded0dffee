// Kong and nginx in containers, on the tests' private Docker engine (tests/support/
// docker_engine, scripts/docker/): `kperf profile --driver docker` runs the local
// kong:2.4.0 image (the shared Kong test bed built inside) and removes its container on
// every exit path (Ctrl-C included); `kperf attach --container` / `--pid` sample an nginx
// whose libluajit exists only inside its container (/opt/lj-inside, absent on the host),
// by engine name, by cgroup container id without an engine, and by host pid.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/docker_engine.hpp"
#include "tests/support/folded_stacks.hpp"
#include "tests/support/ports.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace kperf::test {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

#define REQUIRE_DOCKER()                                                   \
  do {                                                                     \
    static const std::string why = docker_engine_unavailable();            \
    if (!why.empty()) GTEST_SKIP() << why;                                 \
  } while (0)

nlohmann::json summary(const fs::path& out) { return nlohmann::json::parse(read_file((out / "summary.json").string())); }

bool any_frame_with(const std::vector<Stack>& stacks, const std::string& needle) {
  for (const auto& s : stacks) {
    for (const auto& f : s.frames) {
      if (f.find(needle) != std::string::npos) return true;
    }
  }
  return false;
}

pid_t sampled_master(const std::string& err) {
  std::smatch m;
  if (std::regex_search(err, m, std::regex(R"(sampling master pid (\d+))"))) return std::stoi(m[1].str());
  return -1;
}

std::string containers_text() {
  std::string all;
  for (const auto& id : docker_containers()) all += id + " ";
  return all;
}

// `kperf profile --version 2.4.0 [--driver docker] --workload key-auth --runs 1`.
std::vector<std::string> profile_argv(bool driver, const std::string& duration, const fs::path& out) {
  std::vector<std::string> argv = {KPERF_BINARY, "profile", "--version", "2.4.0"};
  if (driver) {
    argv.emplace_back("--driver");
    argv.emplace_back("docker");
  }
  for (const char* a : {"--workload", "key-auth", "--runs", "1", "--duration"}) argv.emplace_back(a);
  argv.push_back(duration);
  argv.emplace_back("--out");
  argv.push_back(out.string());
  return argv;
}

void expect_kong_profile(const RunResult& r, const fs::path& out) {
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = summary(out);
  EXPECT_EQ(j["driver"], "docker (Kong 2.4.0)");
  EXPECT_GT(j["combined"]["requests"].get<uint64_t>(), 100u);
  EXPECT_EQ(j["combined"]["errors"]["status"].get<uint64_t>(), 0u) << "non-2xx answers: key-auth refused a key?";
  const auto stacks = parse_folded(read_file((out / "profile.folded").string()));
  EXPECT_GT(total_samples(stacks), 20u);
  EXPECT_TRUE(any_frame_with(stacks, "kong/init.lua:")) << "no Lua frame of kong/init.lua";
  EXPECT_TRUE(any_frame_with(stacks, "kong/plugins/key-auth/handler.lua:"));
  for (const char* f : {"flamegraph.svg", "summary.txt", "report.md", "error.log"}) {
    EXPECT_TRUE(fs::is_regular_file(out / f)) << f;
  }
  EXPECT_THAT(read_file((out / "summary.txt").string()), HasSubstr("key-auth"));
  const pid_t master = sampled_master(r.err);
  ASSERT_GT(master, 0) << r.err;
  EXPECT_FALSE(process_alive(master)) << "Kong's master " << master << " still runs";
  EXPECT_EQ(containers_text(), "") << "containers left on the engine";
}

// The driver on the local image: Kong 2.4.0 in a container, key-auth answered 200,
// Lua frames of Kong's files read through the container's root, container removed.
TEST(DockerKongGateway, DriverProfilesKongInAContainer) {
  REQUIRE_DOCKER();
  docker_build_images("kong");
  TempDir t;
  const fs::path out = fs::path(t.path()) / "out";
  const RunResult r = run(profile_argv(true, "3s", out), 240);
  expect_kong_profile(r, out);
  EXPECT_THAT(r.err, Not(HasSubstr("docker pull"))) << "the local image was there: no pull";
}

// `--version 2.4.0` alone with no local Kong 2.4.0 (PATH without kong) picks the engine.
TEST(DockerKongGateway, VersionAloneFallsBackToDocker) {
  REQUIRE_DOCKER();
  for (const char* p : {"/usr/local/bin/kong", "/usr/local/kong/bin/kong", "/opt/kong/bin/kong", "/usr/bin/kong"}) {
    if (fs::exists(p)) GTEST_SKIP() << p << " exists: the local driver may be chosen";
  }
  docker_build_images("kong");
  TempDir t;
  const fs::path out = fs::path(t.path()) / "out";
  std::vector<std::string> argv = {"env", "PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
  for (auto& a : profile_argv(false, "2s", out)) argv.push_back(a);
  const RunResult r = run(argv, 240);
  expect_kong_profile(r, out);
}

// Ctrl-C while Kong's container serves the load: kperf stops, writes its partial
// report (exit 130) and removes the container.
TEST(DockerKongGateway, SigintMidRunRemovesTheContainer) {
  REQUIRE_DOCKER();
  docker_build_images("kong");
  TempDir t;
  const fs::path out = fs::path(t.path()) / "out";
  Process p(profile_argv(true, "60s", out), t.file("stdout"), t.file("stderr"));
  bool running = false;
  for (int i = 0; i < 600 && !running; ++i) {  // up to 60 s for Kong to come up and sampling to start
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    running = read_file(t.file("stderr")).find("sampling master pid") != std::string::npos;
  }
  ASSERT_TRUE(running) << read_file(t.file("stderr"));
  ASSERT_NE(containers_text(), "") << "no container while kperf samples";
  std::this_thread::sleep_for(std::chrono::seconds(2));
  p.signal(SIGINT);
  const int status = p.wait(60);
  EXPECT_EQ(status, 130) << read_file(t.file("stderr"));
  EXPECT_EQ(containers_text(), "") << "the container outlived Ctrl-C";
  const pid_t master = sampled_master(read_file(t.file("stderr")));
  EXPECT_FALSE(process_alive(master));
}

// An nginx container (kperf-nginx-luajit:test) on a free port, removed at the end.
class NginxContainer {
 public:
  NginxContainer() : port_(free_port()), name_("kperf-test-nginx-" + std::to_string(port_)) {
    docker({"rm", "-f", name_});
    const RunResult r = docker({"run", "--detach", "--name", name_, "--network", "host", "--env",
                                "PORT=" + std::to_string(port_), "kperf-nginx-luajit:test"});
    if (r.status != 0) throw std::runtime_error("docker run failed: " + r.err);
    for (int i = 0; i < 100; ++i) {
      if (run_command("curl -sf -o /dev/null http://127.0.0.1:" + std::to_string(port_) + "/status") == 0) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    throw std::runtime_error("nginx in the container did not answer: " + docker({"logs", name_}).err);
  }
  ~NginxContainer() { docker({"rm", "-f", name_}); }
  NginxContainer(const NginxContainer&) = delete;
  NginxContainer& operator=(const NginxContainer&) = delete;

  const std::string& name() const { return name_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/work"; }
  std::string inspect(const std::string& format) const {
    std::string s = docker({"inspect", "--format", format, name_}).out;
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
  }

 private:
  int port_;
  std::string name_;
};

// Samples in LuaJIT (a frame of libluajit, a Lua frame or a VM pseudo frame) and how
// many of them carry a Lua frame of the handler.
struct LuaShare {
  uint64_t luajit = 0, with_lua = 0;
};
LuaShare lua_share(const std::vector<Stack>& stacks) {
  LuaShare s;
  for (const auto& st : stacks) {
    bool lj = false, lua = false;
    for (const auto& f : st.frames) {
      if (f.find("work.lua:") != std::string::npos) lua = true;
      if (lua || f.find("libluajit") != std::string::npos || f.starts_with("lj_") || f.starts_with("[lua:")) lj = true;
    }
    if (lj) s.luajit += st.count;
    if (lua) s.with_lua += st.count;
  }
  return s;
}

void expect_lua_stacks(const RunResult& r, const fs::path& out) {
  ASSERT_EQ(r.status, 0) << r.err;
  const auto stacks = parse_folded(read_file((out / "profile.folded").string()));
  const LuaShare s = lua_share(stacks);
  EXPECT_GT(s.luajit, 30u) << r.err;
  EXPECT_GE(static_cast<double>(s.with_lua), 0.9 * static_cast<double>(s.luajit))
      << s.with_lua << " of " << s.luajit << " LuaJIT samples with Lua frames";
  EXPECT_TRUE(any_frame_with(stacks, "fib /srv/lua/work.lua:")) << "no fib frame";
}

std::vector<std::string> attach_argv(const std::vector<std::string>& target, const std::string& url,
                                     const fs::path& out) {
  std::vector<std::string> argv = {KPERF_BINARY, "attach"};
  argv.insert(argv.end(), target.begin(), target.end());
  for (const char* a : {"--duration", "3s", "-F", "299", "-c", "4", "-t", "1", "--url"}) argv.emplace_back(a);
  argv.push_back(url);
  argv.emplace_back("--out");
  argv.push_back(out.string());
  return argv;
}

// attach by container name (docker inspect), by cgroup container id with no engine
// reachable, and by the host pid of a worker: full Lua stacks from the container's own
// libluajit each time.
TEST(DockerAttach, ContainerAndPidOnOwnLibluajit) {
  REQUIRE_DOCKER();
  docker_build_images("nginx-luajit");
  ASSERT_FALSE(fs::exists("/opt/lj-inside")) << "the host has /opt/lj-inside: the test would prove nothing";
  NginxContainer c;
  TempDir t;
  {
    const fs::path out = fs::path(t.path()) / "by-name";
    const RunResult r = run(attach_argv({"--container", c.name()}, c.url(), out), 90);
    expect_lua_stacks(r, out);
    EXPECT_THAT(r.err, HasSubstr("docker inspect"));
  }
  {
    // No engine answers: the id is found in /proc/PID/cgroup.
    const std::string id = c.inspect("{{.Id}}");
    ASSERT_EQ(id.size(), 64u);
    const fs::path out = fs::path(t.path()) / "by-id";
    std::vector<std::string> argv = {"env", "DOCKER_HOST=unix:///nonexistent/docker.sock"};
    for (auto& a : attach_argv({"--container", id.substr(0, 12)}, c.url(), out)) argv.push_back(a);
    const RunResult r = run(argv, 90);
    expect_lua_stacks(r, out);
    EXPECT_THAT(r.err, HasSubstr("found by cgroup"));
  }
  {
    // A worker's host pid: its master is found, the pid inside the container named.
    const pid_t init = std::stoi(c.inspect("{{.State.Pid}}"));
    std::string kids = read_file("/proc/" + std::to_string(init) + "/task/" + std::to_string(init) + "/children");
    ASSERT_FALSE(kids.empty()) << "nginx master " << init << " has no workers";
    const std::string worker = kids.substr(0, kids.find(' '));
    const fs::path out = fs::path(t.path()) / "by-pid";
    const RunResult r = run(attach_argv({"--pid", worker}, c.url(), out), 90);
    expect_lua_stacks(r, out);
    EXPECT_THAT(r.err, HasSubstr("in its container's pid namespace"));
  }
}

// A name no engine or cgroup knows: one line, exit 2.
TEST(DockerAttach, UnknownContainerIsOneLine) {
  REQUIRE_DOCKER();
  TempDir t;
  const RunResult r = run({KPERF_BINARY, "attach", "--container", "kperf-no-such-container", "--duration", "1s",
                           "--out", t.file("out")},
                          30);
  EXPECT_EQ(r.status, 2);
  EXPECT_THAT(r.err, HasSubstr("kperf: --container kperf-no-such-container: not found"));
  EXPECT_FALSE(fs::exists(t.file("out")));
}

}  // namespace
}  // namespace kperf::test

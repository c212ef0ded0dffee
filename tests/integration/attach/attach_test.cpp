// `kperf attach` on a real nginx with the lua module: by prefix under load, by worker
// pid, through a reload (new workers sampled, change reported), and bad input.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/nginx_server.hpp"
#include "tests/support/process.hpp"
#include "tests/support/root.hpp"
#include "tests/support/temp_dir.hpp"

namespace fs = std::filesystem;
using kperf::test::Nginx;
using kperf::test::run_command;

namespace {

const char* kServer = R"(
    location / {
      content_by_lua_block {
        local s = 0
        for i = 1, 20000 do s = s + math.sin(i) end
        ngx.say(s)
      }
    })";

std::string kperf_cmd() { return std::string(KPERF_BINARY) + " attach"; }

using kperf::test::TempDir;

std::set<pid_t> children(pid_t master) {
  std::set<pid_t> out;
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(e.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 1));
    std::string state;
    long ppid = 0;
    rest >> state >> ppid;
    if (ppid == master) out.insert(static_cast<pid_t>(std::stol(name)));
  }
  return out;
}

// The master's pid once it has written its pid file and forked a worker (the fixture
// returns as soon as the port accepts, which is earlier); 0 after 5 s.
pid_t wait_ready(const Nginx& n) {
  const pid_t master = n.master_pid();
  for (int i = 0; master > 0 && i < 500; ++i) {
    if (!children(master).empty()) return master;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return 0;
}

// Pids of the nginx-PID root frames in a --per-pid folded file, with their sample counts.
std::map<pid_t, long> samples_by_pid(const fs::path& folded) {
  std::map<pid_t, long> out;
  std::istringstream in(kperf::test::read_file(folded.string()));
  std::string line;
  while (std::getline(in, line)) {
    const size_t semi = line.find(';');
    const size_t space = line.rfind(' ');
    const std::string root = line.substr(0, std::min(semi, space));
    const size_t dash = root.rfind('-');
    if (dash == std::string::npos) continue;
    try {
      out[static_cast<pid_t>(std::stol(root.substr(dash + 1)))] += std::stol(line.substr(space + 1));
    } catch (...) {
    }
  }
  return out;
}

}  // namespace

TEST(Attach, PrefixUnderLoadWritesEveryOutput) {
  REQUIRE_ROOT();
  Nginx nginx(kServer);
  ASSERT_GT(wait_ready(nginx), 0);
  TempDir tmp;
  const fs::path out = fs::path(tmp.path()) / "out";
  std::string text;
  const int rc = run_command(kperf_cmd() + " --prefix " + nginx.dir() + " --duration 3s --url " + nginx.url() +
                                 " -c 4 -t 1 --out " + out.string(),
                             &text);
  ASSERT_EQ(rc, 0) << text;
  for (const char* f : {"profile.folded", "flamegraph.svg", "summary.txt", "summary.json", "report.md", "rps.svg",
                        "latency.svg", "error.log"}) {
    EXPECT_TRUE(fs::is_regular_file(out / f)) << f << "\n" << text;
  }
  const auto j = nlohmann::json::parse(kperf::test::read_file((out / "summary.json").string()));
  const std::string dump = j.dump();
  const std::string folded = kperf::test::read_file((out / "profile.folded").string());
  EXPECT_NE(folded.find("ngx_process_events_and_timers"), std::string::npos);
  EXPECT_GT(nginx.access_lines().size(), 0u);
  // Figures from the JSON: samples and requests.
  long samples = 0, requests = 0;
  std::function<void(const nlohmann::json&, const std::string&)> walk = [&](const nlohmann::json& v,
                                                                           const std::string& key) {
    if (v.is_object()) {
      for (auto it = v.begin(); it != v.end(); ++it) walk(it.value(), it.key());
    } else if (v.is_array()) {
      for (const auto& e : v) walk(e, key);
    } else if (v.is_number_integer()) {
      if (key == "samples") samples = std::max<long>(samples, v.get<long>());
      if (key == "requests") requests = std::max<long>(requests, v.get<long>());
    }
  };
  walk(j, "");
  EXPECT_GT(samples, 0) << dump.substr(0, 2000);
  EXPECT_GT(requests, 0) << dump.substr(0, 2000);
}

TEST(Attach, ByWorkerPid) {
  REQUIRE_ROOT();
  Nginx nginx(kServer);
  const pid_t master = wait_ready(nginx);
  ASSERT_GT(master, 0);
  std::set<pid_t> workers;
  for (int i = 0; i < 100 && workers.empty(); ++i) {
    workers = children(master);
    if (workers.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_FALSE(workers.empty());
  TempDir tmp;
  const fs::path out = fs::path(tmp.path()) / "out";
  std::string text;
  const int rc = run_command(kperf_cmd() + " --pid " + std::to_string(*workers.begin()) + " --duration 2s --url " +
                                 nginx.url() + " -c 2 -t 1 --per-pid --out " + out.string(),
                             &text);
  ASSERT_EQ(rc, 0) << text;
  EXPECT_NE(text.find("worker of nginx master " + std::to_string(master)), std::string::npos) << text;
  const auto by_pid = samples_by_pid(out / "profile.folded");
  ASSERT_FALSE(by_pid.empty()) << text;
  for (const auto& [pid, n] : by_pid) EXPECT_TRUE(workers.count(pid)) << "pid " << pid << " is not a worker";
}

TEST(Attach, FollowsReload) {
  REQUIRE_ROOT();
  Nginx nginx(kServer);
  const pid_t master = wait_ready(nginx);
  ASSERT_GT(master, 0);
  const std::set<pid_t> before = children(master);
  ASSERT_FALSE(before.empty());
  TempDir tmp;
  const fs::path out = fs::path(tmp.path()) / "out";
  std::string text;
  std::thread reload([&] {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    ::kill(master, SIGHUP);
  });
  const int rc = run_command(kperf_cmd() + " --pid " + std::to_string(master) + " --duration 4s --url " +
                                 nginx.url() + " -c 2 -t 1 --per-pid --out " + out.string(),
                             &text);
  reload.join();
  ASSERT_EQ(rc, 0) << text;
  EXPECT_NE(text.find("workers changed:"), std::string::npos) << text;
  EXPECT_NE(kperf::test::read_file((out / "summary.txt").string()).find("workers changed:"), std::string::npos);
  const auto by_pid = samples_by_pid(out / "profile.folded");
  bool new_worker = false;
  for (const auto& [pid, n] : by_pid) {
    if (!before.count(pid) && pid != master && n > 0) new_worker = true;
  }
  EXPECT_TRUE(new_worker) << "no samples from a worker started by the reload\n" << text;
}

TEST(Attach, BadInput) {
  REQUIRE_ROOT();
  TempDir tmp;
  const fs::path out = fs::path(tmp.path()) / "out";
  // A pid that is gone: a child that has exited and been reaped.
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  int st = 0;
  ::waitpid(child, &st, 0);
  for (const std::string& args : {" --pid " + std::to_string(child), " --prefix " + (fs::path(tmp.path()) / "no-such-prefix").string(),
                                  " --pid " + std::to_string(::getpid()) + " -c 2"}) {
    std::string text;
    const int rc = run_command(kperf_cmd() + args + " --duration 1s --out " + out.string(), &text);
    EXPECT_EQ(rc, 2) << args << ": " << text;
    EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
    EXPECT_EQ(text.rfind("kperf: ", 0), 0u) << text;
    EXPECT_FALSE(fs::exists(out)) << args;
  }
}

TEST(Attach, WithoutLoadOnlySamples) {
  REQUIRE_ROOT();
  Nginx nginx(kServer);
  const pid_t master = wait_ready(nginx);
  ASSERT_GT(master, 0);
  TempDir tmp;
  const fs::path out = fs::path(tmp.path()) / "out";
  std::string text;
  const int rc =
      run_command(kperf_cmd() + " --pid " + std::to_string(master) + " --duration 1s --out " + out.string(), &text);
  ASSERT_EQ(rc, 0) << text;
  for (const char* f : {"profile.folded", "summary.txt", "summary.json", "report.md"}) {
    EXPECT_TRUE(fs::is_regular_file(out / f)) << f << "\n" << text;
  }
  EXPECT_FALSE(fs::exists(out / "rps.svg"));     // no load: no charts
  EXPECT_FALSE(fs::exists(out / "error.log"));   // --pid: no prefix to take it from
  EXPECT_EQ(nginx.access_lines().size(), 0u);    // and no request was sent
}

// Fault tests of `kperf attach` on a real nginx (+ lua module) under load: SIGINT and
// SIGTERM mid-recording and while the outputs are written (exit 130 / 143, complete
// outputs, nothing left), and a worker crashing (SIGSEGV: nginx respawns it) followed by
// 20 reloads during one attach: every new worker is reported and sampled, exit 0.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/integration/faults/fault_helpers.hpp"
#include "tests/support/nginx_server.hpp"

namespace {

using namespace fault_test;
using json = nlohmann::json;
using kperf::test::Nginx;
using profile_test::TempDir;

const char* kServer = R"(
    location / {
      content_by_lua_block {
        local s = 0
        for i = 1, 20000 do s = s + math.sin(i) end
        ngx.say(s)
      }
    })";

std::set<pid_t> children(pid_t master) {
  std::set<pid_t> out;
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const std::string stat = read_file(e.path() / "stat");
    const size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 1));
    std::string state;
    long ppid = 0;
    rest >> state >> ppid;
    if (ppid == master && state != "Z") out.insert(static_cast<pid_t>(std::stol(name)));
  }
  return out;
}

// Children of `master` not in `known`, waited for up to 10 s.
std::set<pid_t> wait_new_children(pid_t master, const std::set<pid_t>& known) {
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (Clock::now() < deadline) {
    std::set<pid_t> fresh;
    for (pid_t p : children(master)) {
      if (!known.count(p)) fresh.insert(p);
    }
    if (!fresh.empty()) return fresh;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return {};
}

// Sample counts per pid from the nginx-PID root frames of a --per-pid folded file.
std::map<pid_t, long> samples_by_pid(const fs::path& folded) {
  std::map<pid_t, long> out;
  std::istringstream in(read_file(folded));
  std::string line;
  while (std::getline(in, line)) {
    const size_t semi = line.find(';');
    const size_t space = line.rfind(' ');
    if (space == std::string::npos) continue;
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

// "+PID" and "-PID" of every "workers changed:" line.
std::pair<std::set<pid_t>, std::set<pid_t>> reported_changes(const std::string& err) {
  std::set<pid_t> added, removed;
  std::istringstream in(err);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("workers changed:", 0) != 0) continue;
    std::istringstream words(line.substr(16));
    std::string w;
    while (words >> w) {
      if (w.size() > 1 && w[0] == '+') added.insert(std::stoi(w.substr(1)));
      if (w.size() > 1 && w[0] == '-') removed.insert(std::stoi(w.substr(1)));
    }
  }
  return {added, removed};
}

bool reported_added(const std::string& err, pid_t p) { return reported_changes(err).first.count(p) > 0; }

struct Case {
  bool writing;  // false: mid-recording
  int signal;
};

class AttachSignal : public ::testing::TestWithParam<Case> {};

TEST_P(AttachSignal, ExitsWithTheSignalAndCompleteOutputs) {
  REQUIRE_ROOT();
  const Case c = GetParam();
  Nginx nginx(kServer);
  const pid_t master = nginx.master_pid();
  ASSERT_FALSE(wait_new_children(master, {}).empty());
  const std::set<pid_t> workers = children(master);
  TempDir t;
  const fs::path out = t.path / "out";
  KperfChild k({"attach", "--pid", std::to_string(master), "--duration", c.writing ? "2s" : "20s", "--url",
                nginx.url(), "-c", "2", "-t", "1", "-F", "99", "--out", out.string()},
               t.path, {{"TMPDIR", t.path.string()}, {"KPERF_STOP_AT", c.writing ? "writing outputs to " : "run 1/1: "}});
  ASSERT_TRUE(k.wait_stopped(60)) << k.err();
  std::pair<std::set<int>, std::set<int>> bpf = bpf_ids_of(k.pid());
  if (c.writing) {
    ASSERT_EQ(::kill(k.pid(), c.signal), 0);  // pending: delivered as it writes
    ASSERT_EQ(::kill(k.pid(), SIGCONT), 0);
  } else {
    ASSERT_EQ(::kill(k.pid(), SIGCONT), 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    bpf = bpf_ids_of(k.pid());
    EXPECT_FALSE(bpf.first.empty()) << "kperf holds its sampler program while recording";
    ASSERT_EQ(::kill(k.pid(), c.signal), 0);
  }
  const auto signalled = Clock::now();
  EXPECT_EQ(k.wait(60), 128 + c.signal) << k.err();
  EXPECT_LT(Clock::now() - signalled, std::chrono::seconds(20));

  const json s = expect_consistent_report(out);
  ASSERT_TRUE(s.is_object());
  for (const char* f : {"profile.folded", "flamegraph.svg", "summary.txt", "summary.json", "report.md", "rps.svg",
                        "latency.svg"}) {
    EXPECT_TRUE(fs::is_regular_file(out / f)) << f << "\n" << k.err();
  }
  EXPECT_EQ(s["interrupted"], !c.writing);
  EXPECT_NE(k.err().find(c.writing ? "complete report in " : "interrupted: partial report in "), std::string::npos)
      << k.err();
  ASSERT_EQ(s["runs"].size(), 1u);
  EXPECT_GT(s["runs"][0]["load"]["requests"].get<uint64_t>(), 0u);
  if (!c.writing) EXPECT_LT(s["runs"][0]["load"]["runtime_s"].get<double>(), 20.0);
  // The target is untouched: the same master and workers, still serving.
  EXPECT_EQ(children(master), workers);
  EXPECT_EQ(::kill(master, 0), 0);
  EXPECT_TRUE(kperf_temp_entries(t.path).empty());
  expect_bpf_released(bpf, t.path);
}

INSTANTIATE_TEST_SUITE_P(Phases, AttachSignal,
                         ::testing::Values(Case{false, SIGINT}, Case{false, SIGTERM}, Case{true, SIGINT},
                                           Case{true, SIGTERM}),
                         [](const ::testing::TestParamInfo<Case>& i) {
                           return std::string(i.param.writing ? "WritingOutputs" : "MidRecording") +
                                  (i.param.signal == SIGINT ? "Sigint" : "Sigterm");
                         });

// One attach under load while a worker crashes (SIGSEGV: the master respawns it) and the
// master reloads 20 times: each new worker is reported ("workers changed: +PID") before the
// next event, every worker that went is reported gone, the workers of the last reload
// are sampled, and the attach ends normally (exit 0).
TEST(AttachFaults, WorkerCrashAndTwentyReloadsAreFollowed) {
  REQUIRE_ROOT();
  Nginx nginx(kServer);
  const pid_t master = nginx.master_pid();
  ASSERT_FALSE(wait_new_children(master, {}).empty());
  std::set<pid_t> seen = children(master);  // every worker so far
  const std::set<pid_t> initial = seen;
  TempDir t;
  const fs::path out = t.path / "out";
  KperfChild k({"attach", "--pid", std::to_string(master), "--duration", "50s", "--url", nginx.url(), "-c", "2",
                "-t", "1", "-F", "99", "--per-pid", "--out", out.string()},
               t.path, {{"TMPDIR", t.path.string()}});
  ASSERT_TRUE(k.wait_err("run 1/1: ", 60)) << k.err();
  std::this_thread::sleep_for(std::chrono::seconds(1));

  // A worker crashes.
  const pid_t crashed = *initial.begin();
  ASSERT_EQ(::kill(crashed, SIGSEGV), 0);
  std::set<pid_t> respawned = wait_new_children(master, seen);
  ASSERT_FALSE(respawned.empty()) << "nginx did not respawn the crashed worker";
  seen.insert(respawned.begin(), respawned.end());
  for (pid_t p : respawned) {
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (Clock::now() < deadline && !reported_added(k.err(), p) && !k.exited()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_TRUE(reported_added(k.err(), p)) << "respawned worker " << p << " not reported\n" << k.err();
  }
  // 20 reloads, each once kperf has reported the previous generation.
  std::set<pid_t> last = respawned;
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(::kill(master, SIGHUP), 0);
    const std::set<pid_t> fresh = wait_new_children(master, seen);
    ASSERT_FALSE(fresh.empty()) << "reload " << i + 1 << " started no worker";
    seen.insert(fresh.begin(), fresh.end());
    for (pid_t p : fresh) {
      const auto deadline = Clock::now() + std::chrono::seconds(10);
      while (Clock::now() < deadline && !reported_added(k.err(), p) && !k.exited()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      ASSERT_TRUE(reported_added(k.err(), p)) << "reload " << i + 1 << ": worker " << p << " not reported\n"
                                              << k.err();
    }
    last = fresh;
  }
  EXPECT_EQ(k.wait(90), 0) << k.err();

  const auto [added, removed] = reported_changes(k.err());
  for (pid_t p : seen) {
    if (!initial.count(p)) EXPECT_TRUE(added.count(p)) << "new worker " << p << " not reported";
    if (!last.count(p)) EXPECT_TRUE(removed.count(p)) << "gone worker " << p << " not reported gone";
  }
  for (pid_t p : last) EXPECT_FALSE(removed.count(p)) << "a live worker reported gone: " << p;
  EXPECT_NE(read_file(out / "summary.txt").find("workers changed:"), std::string::npos);

  // Sampling continued on the new workers: the last generation and the respawned one.
  const auto by_pid = samples_by_pid(out / "profile.folded");
  long last_samples = 0, new_samples = 0;
  for (const auto& [pid, n] : by_pid) {
    if (last.count(pid)) last_samples += n;
    if (!initial.count(pid)) new_samples += n;
    EXPECT_TRUE(seen.count(pid) || pid == master) << "samples from pid " << pid << ", not a worker";
  }
  EXPECT_GT(last_samples, 0) << "no samples from the workers of the last reload\n" << k.err();
  EXPECT_GT(new_samples, last_samples) << "samples only from the last generation";
  const json s = expect_consistent_report(out);
  ASSERT_TRUE(s.is_object());
  EXPECT_EQ(s["interrupted"], false);
  EXPECT_EQ(::kill(master, 0), 0) << "the target survives";
  EXPECT_TRUE(kperf_temp_entries(t.path).empty());
}

}  // namespace

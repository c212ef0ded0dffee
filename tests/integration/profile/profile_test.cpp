// Integration tests of `kperf profile`: runs the kperf binary on the lab gateway and
// checks its outputs, request counts against the gateway's access log, the output
// directory guard, and Ctrl-C (SIGINT) mid-run.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "profile_helpers.hpp"

namespace {

using namespace profile_test;
namespace fs = std::filesystem;
using json = nlohmann::json;
using ::testing::HasSubstr;

bool lua_frames_present(const Folded& f) {
  return any_stack(f, [](const std::string& s) { return s.find(".lua:") != std::string::npos; });
}

constexpr const char* kKeyAuthChunk = "kong/plugins/key-auth/handler.lua";

// Two runs on the default workload (key-auth): every output is written, consistent with
// each other, the stacks show the nginx event loop running the lua module, and the
// requests the summary counts are the requests the gateway logged.
TEST(Profile, WritesEveryOutputAndCountsMatchTheAccessLog) {
  REQUIRE_ROOT();
  TempDir t;
  const fs::path out = t.path / "out";
  const fs::path lab = t.path / "lab";
  KperfChild k({"profile", "--runs", "2", "--duration", "3s", "-F", "199", "--out", out, "--lab-dir", lab}, t.path);
  ASSERT_EQ(k.wait(90), 0) << k.err();
  EXPECT_THAT(k.out(), HasSubstr("kperf: flame graph: " + (out / "flamegraph.svg").string()));

  for (const char* name : {"profile.folded", "flamegraph.svg", "run-1.folded", "run-1.svg", "run-2.folded",
                           "run-2.svg", "summary.txt", "summary.json", "report.md", "rps.svg", "latency.svg"}) {
    EXPECT_GT(fs::exists(out / name) ? fs::file_size(out / name) : 0u, 0u) << name;
  }
  EXPECT_TRUE(fs::exists(out / "error.log"));
  EXPECT_FALSE(fs::exists(out / "run-3.folded"));

  const json s = json::parse(read_file(out / "summary.json"));
  EXPECT_EQ(s["workload"]["name"], "key-auth");
  EXPECT_EQ(s["interrupted"], false);
  EXPECT_EQ(s["runs_completed"], 2);
  ASSERT_EQ(s["runs"].size(), 2u);
  uint64_t requests = 0, in_flight = 0;
  for (const auto& r : s["runs"]) {
    EXPECT_GT(r["load"]["requests"].get<uint64_t>(), 100u);
    EXPECT_EQ(r["load"]["errors"]["status"], 0);
    EXPECT_GT(r["sampler"]["samples"].get<uint64_t>(), 0u);
    requests += r["load"]["requests"].get<uint64_t>();
    in_flight += r["load"]["in_flight_at_end"].get<uint64_t>();
  }
  EXPECT_EQ(s["combined"]["requests"].get<uint64_t>(), requests);

  // Every completed request was logged; requests still in flight when a run ended may
  // have been logged too (as the gateway finished them), nothing else.
  const size_t logged = line_count(lab / "logs" / "gateway-access.log");
  EXPECT_GE(logged, requests);
  EXPECT_LE(logged, requests + in_flight);

  // The combined folded stacks are the sum of the runs'.
  const Folded all = read_folded(out / "profile.folded");
  const Folded r1 = read_folded(out / "run-1.folded");
  const Folded r2 = read_folded(out / "run-2.folded");
  EXPECT_GT(r1.total, 0);
  EXPECT_GT(r2.total, 0);
  EXPECT_DOUBLE_EQ(all.total, r1.total + r2.total);
  EXPECT_EQ(all.total, s["sampler"]["samples"].get<double>());

  // nginx's event loop running the lua module's handlers.
  EXPECT_TRUE(any_stack(all, [](const std::string& st) {
    auto ev = st.find("ngx_process_events_and_timers");
    return ev != std::string::npos && st.find(";ngx_http_lua_", ev) != std::string::npos;
  }));
  // Lua frames are spliced in: the key-auth plugin's handler runs on the sampled stacks,
  // and the plugin table attributes samples to it.
  ASSERT_TRUE(lua_frames_present(all));
  EXPECT_TRUE(any_stack(all, [](const std::string& st) { return st.find(kKeyAuthChunk) != std::string::npos; }));
  bool key_auth_row = false;
  for (const auto& row : s["plugins"]["plugins"]) {
    if (row["name"] == "key-auth") key_auth_row = row["samples"].get<double>() > 0;
  }
  EXPECT_TRUE(key_auth_row) << s["plugins"].dump();

  const std::string txt = read_file(out / "summary.txt");
  EXPECT_THAT(txt, HasSubstr("### Run 1/2"));
  EXPECT_THAT(txt, HasSubstr("### Run 2/2"));
  EXPECT_THAT(txt, HasSubstr("### Combined result (2 runs)"));
  EXPECT_THAT(txt, HasSubstr("RPS     Avg: "));
  EXPECT_THAT(txt, HasSubstr("Latency Avg: "));
  EXPECT_THAT(txt, HasSubstr(std::to_string(requests) + " requests"));
  const std::string md = read_file(out / "report.md");
  EXPECT_THAT(md, HasSubstr("| `key-auth` | lab | 2 x 3s |"));
  const std::string svg = read_file(out / "flamegraph.svg");
  EXPECT_THAT(svg, HasSubstr("kperf profile: key-auth"));
  EXPECT_THAT(svg, HasSubstr("ngx_process_events_and_timers"));
  // The lab was stopped.
  EXPECT_THAT(processes_using(lab), ::testing::IsEmpty());
}

// Without plugins no key-auth frame can appear (checked when Lua frames are in stacks).
TEST(Profile, SingleRouteHasNoKeyAuthFrames) {
  REQUIRE_ROOT();
  TempDir t;
  const fs::path out = t.path / "out";
  KperfChild k({"profile", "--workload", "single-route", "--runs", "1", "--duration", "2s", "-F", "199", "--out", out},
          t.path);
  ASSERT_EQ(k.wait(60), 0) << k.err();
  const Folded all = read_folded(out / "profile.folded");
  EXPECT_GT(all.total, 0);
  EXPECT_TRUE(lua_frames_present(all));  // the gateway's Lua code runs here too
  EXPECT_FALSE(any_stack(all, [](const std::string& st) { return st.find(kKeyAuthChunk) != std::string::npos; }));
  EXPECT_EQ(json::parse(read_file(out / "summary.json"))["workload"]["name"], "single-route");
}

// The BPF program ids kperf holds now (its bpf-prog fds' fdinfo "prog_id").
std::set<std::string> bpf_prog_ids(pid_t pid) {
  std::set<std::string> ids;
  std::error_code ec;
  const fs::path fds = fs::path("/proc") / std::to_string(pid) / "fd";
  for (const auto& e : fs::directory_iterator(fds, ec)) {
    std::error_code lec;
    if (fs::read_symlink(e.path(), lec).string() != "anon_inode:bpf-prog") continue;
    std::ifstream info(fs::path("/proc") / std::to_string(pid) / "fdinfo" / e.path().filename());
    for (std::string line; std::getline(info, line);) {
      if (line.starts_with("prog_id:")) ids.insert(line.substr(8));
    }
  }
  return ids;
}

// One sampling session for the warm-up and all runs: the same BPF program all along (it
// was loaded anew for every run), and each run's stacks are its own (the trie is cut
// between runs; the warm-up's samples are dropped).
TEST(Profile, OneSamplingSessionAcrossTheRuns) {
  REQUIRE_ROOT();
  TempDir t;
  const fs::path out = t.path / "out";
  KperfChild k({"profile", "--workload", "single-route", "--runs", "3", "--duration", "2s", "--warmup", "2s", "-F",
                "199", "-c", "4", "-t", "1", "--out", out},
               t.path);
  std::set<std::string> ids;
  int polls_with_prog = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!k.exited() && std::chrono::steady_clock::now() < deadline) {
    const auto now = bpf_prog_ids(k.pid());
    if (!now.empty()) ++polls_with_prog;
    ids.insert(now.begin(), now.end());
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(k.wait(30), 0) << k.err();
  EXPECT_GT(polls_with_prog, 20) << "kperf's BPF program was seen in too few polls";
  EXPECT_EQ(ids.size(), 1u) << "BPF programs loaded: " << ids.size();

  const json s = json::parse(read_file(out / "summary.json"));
  ASSERT_EQ(s["runs"].size(), 3u);
  double sum = 0;
  for (int i = 1; i <= 3; ++i) {
    const Folded run = read_folded(out / ("run-" + std::to_string(i) + ".folded"));
    const auto samples = s["runs"][i - 1]["sampler"]["samples"].get<double>();
    EXPECT_GT(run.total, 0) << "run " << i;
    EXPECT_EQ(run.total, samples) << "run " << i << ": its folded stacks are its own samples";
    // 2 s at 199 Hz of (at most) 2 CPUs: a run holding the warm-up's or another run's
    // samples would be over.
    EXPECT_LE(samples, 2 * 199 * 2.5) << "run " << i;
    sum += run.total;
  }
  EXPECT_DOUBLE_EQ(read_folded(out / "profile.folded").total, sum);
}

// An existing non-empty output directory is refused (one line, status 2, before the
// lab starts); --force writes into it and keeps what was there.
TEST(Profile, NonEmptyOutputDirectoryNeedsForce) {
  REQUIRE_ROOT();
  TempDir t;
  const fs::path out = t.path / "out";
  fs::create_directories(out);
  { std::ofstream(out / "keep.txt") << "mine\n"; }
  {
    KperfChild k({"profile", "--runs", "1", "--duration", "1s", "--out", out}, t.path);
    EXPECT_EQ(k.wait(30), 2);
    const std::string err = k.err();
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
    EXPECT_THAT(err, HasSubstr("--force"));
    EXPECT_THAT(err, HasSubstr(out.string()));
    EXPECT_FALSE(fs::exists(out / "summary.json"));
  }
  KperfChild k({"profile", "--runs", "1", "--duration", "1s", "--out", out, "--force"}, t.path);
  ASSERT_EQ(k.wait(60), 0) << k.err();
  EXPECT_EQ(read_file(out / "keep.txt"), "mine\n");
  const json s = json::parse(read_file(out / "summary.json"));
  EXPECT_EQ(s["runs_completed"], 1);
  EXPECT_TRUE(fs::exists(out / "flamegraph.svg"));
}

// Without the privileges to sample: one clear line, status 2, nothing started or written
// (run as `nobody` through setpriv).
TEST(Profile, WithoutPrivilegesOneErrorBeforeStartingAnything) {
  REQUIRE_ROOT();
  if (!fs::exists("/usr/bin/setpriv")) GTEST_SKIP() << "needs /usr/bin/setpriv to drop privileges";
  TempDir t;
  fs::permissions(t.path, fs::perms::all);  // nobody writes its stdout/stderr files here
  const fs::path out = t.path / "out";
  std::vector<std::string> args{"--reuid=65534", "--regid=65534", "--clear-groups", KPERF_BINARY,
                                "profile", "--runs", "1", "--duration", "1s", "--out", out.string()};
  // (KperfChild starts KPERF_BINARY itself; here setpriv starts it as nobody.)
  const fs::path out_file = t.path / "stdout", err_file = t.path / "stderr";
  pid_t pid = ::fork();
  if (pid == 0) {
    int e = ::open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int o = ::open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(o, 1);
    ::dup2(e, 2);
    std::vector<char*> argv{const_cast<char*>("/usr/bin/setpriv")};
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  int st = 0;
  ASSERT_EQ(::waitpid(pid, &st, 0), pid);
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 2);
  const std::string err = read_file(err_file);
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  EXPECT_THAT(err, HasSubstr("eBPF"));
  EXPECT_THAT(err, HasSubstr("CAP_BPF"));
  EXPECT_EQ(read_file(out_file), "");
  EXPECT_FALSE(fs::exists(out));
}

// --driver docker / local where there is no Docker CLI / no Kong: one line naming the
// alternatives, status 2, nothing started or written.
TEST(Profile, KongDriversWithoutDockerOrKongFailNamingTheAlternatives) {
  REQUIRE_ROOT();
  TempDir t;
  const fs::path out = t.path / "out";
  {
    // No docker CLI on this PATH.
    KperfChild k({"profile", "--driver", "docker", "--version", "3.4.2", "--out", out}, t.path,
                 {{"PATH", "/nonexistent-kperf-test"}});
    EXPECT_EQ(k.wait(30), 2);
    const std::string err = k.err();
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
    EXPECT_THAT(err, HasSubstr("--driver docker"));
    EXPECT_THAT(err, HasSubstr("--driver lab"));
    EXPECT_THAT(err, HasSubstr("--driver local"));
  }
  {
    const fs::path empty_prefix = t.path / "no-kong-here";
    fs::create_directories(empty_prefix);
    KperfChild k({"profile", "--driver", "local", "--version", "3.4.2", "--kong-prefix", empty_prefix, "--out", out},
            t.path);
    EXPECT_EQ(k.wait(30), 2);
    const std::string err = k.err();
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
    EXPECT_THAT(err, HasSubstr(empty_prefix.string()));
    EXPECT_THAT(err, HasSubstr("--driver docker"));
    EXPECT_THAT(err, HasSubstr("--driver lab"));
  }
  {
    KperfChild k({"profile", "--driver", "docker", "--out", out}, t.path);
    EXPECT_EQ(k.wait(30), 2);
    EXPECT_THAT(k.err(), HasSubstr("--version"));
  }
  EXPECT_FALSE(fs::exists(out));
}

// Ctrl-C in the middle of the first run: load and sampling stop, a consistent partial
// report marked interrupted is written, the lab's nginx processes are gone, status 130.
TEST(Profile, SigintWritesAPartialReportAndStopsTheLab) {
  REQUIRE_ROOT();
  TempDir t;
  const fs::path out = t.path / "out";
  const fs::path lab = t.path / "lab";
  KperfChild k({"profile", "--runs", "3", "--duration", "30s", "--out", out, "--lab-dir", lab}, t.path);
  const fs::path access = lab / "logs" / "gateway-access.log";
  // Wait until the first run is under way: it started and the gateway logged requests.
  const auto deadline = Clock::now() + std::chrono::seconds(40);
  while (Clock::now() < deadline &&
         !(k.err().find("run 1/3") != std::string::npos && fs::exists(access) && line_count(access) > 500)) {
    ASSERT_EQ(::waitpid(k.pid(), nullptr, WNOHANG), 0) << "kperf exited early: " << k.err();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_GT(line_count(access), 500u) << k.err();
  const auto lab_processes = processes_using(lab);
  ASSERT_GE(lab_processes.size(), 4u);  // kperf, 2 masters, their workers
  const auto signalled = Clock::now();
  ASSERT_EQ(::kill(k.pid(), SIGINT), 0);
  EXPECT_EQ(k.wait(30), 130) << k.err();
  EXPECT_LT(Clock::now() - signalled, std::chrono::seconds(20));  // well before the runs' 90 s
  EXPECT_THAT(k.err(), HasSubstr("interrupted"));

  const json s = json::parse(read_file(out / "summary.json"));
  EXPECT_EQ(s["interrupted"], true);
  EXPECT_EQ(s["runs_planned"], 3);
  EXPECT_EQ(s["runs_completed"], 0);
  ASSERT_EQ(s["runs"].size(), 1u);
  EXPECT_EQ(s["runs"][0]["interrupted"], true);
  EXPECT_EQ(s["runs"][0]["load"]["stopped_early"], true);
  EXPECT_LT(s["runs"][0]["load"]["runtime_s"].get<double>(), 30.0);
  EXPECT_EQ(s["combined"]["requests"], s["runs"][0]["load"]["requests"]);
  EXPECT_THAT(read_file(out / "summary.txt"), HasSubstr("INTERRUPTED: 0 of 3 runs completed"));
  EXPECT_THAT(read_file(out / "report.md"), HasSubstr("**Interrupted**"));
  EXPECT_TRUE(fs::exists(out / "run-1.folded"));
  EXPECT_FALSE(fs::exists(out / "run-2.folded"));
  EXPECT_THAT(processes_using(lab), ::testing::IsEmpty());
}

// SIGKILL cannot be handled: the lab's nginx processes must still go (they die with
// their parent), and the run folder kperf could not remove is removed by the next kperf
// that makes one, since its owner is gone.
TEST(Profile, SigkillLeavesNoGatewayAndTheNextStartSweepsItsFolder) {
  REQUIRE_ROOT();
  TempDir t;
  const fs::path tmp = t.path / "tmp";
  fs::create_directories(tmp);
  const char* old_tmpdir = std::getenv("TMPDIR");
  const std::string saved = old_tmpdir ? old_tmpdir : "";
  ::setenv("TMPDIR", tmp.c_str(), 1);  // inherited by the kperf children below
  struct Restore {
    std::string v;
    bool had;
    ~Restore() { had ? ::setenv("TMPDIR", v.c_str(), 1) : ::unsetenv("TMPDIR"); }
  } restore{saved, old_tmpdir != nullptr};

  auto lab_dirs = [&] {
    std::vector<fs::path> dirs;
    for (const auto& e : fs::directory_iterator(tmp)) {
      if (e.path().filename().string().rfind("kperf-lab-", 0) == 0) dirs.push_back(e.path());
    }
    return dirs;
  };
  fs::path lab;
  {
    KperfChild k({"profile", "--runs", "1", "--duration", "30s", "--out", t.path / "out1"}, t.path);
    const auto deadline = Clock::now() + std::chrono::seconds(40);
    while (Clock::now() < deadline && k.err().find("run 1/1") == std::string::npos) {
      ASSERT_EQ(::waitpid(k.pid(), nullptr, WNOHANG), 0) << "kperf exited early: " << k.err();
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_EQ(lab_dirs().size(), 1u) << k.err();
    lab = lab_dirs()[0];
    ASSERT_GE(processes_using(lab).size(), 4u);  // kperf, 2 masters, their workers
    ASSERT_EQ(::kill(k.pid(), SIGKILL), 0);
    EXPECT_EQ(k.wait(10), 128 + SIGKILL);
  }
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (Clock::now() < deadline && !processes_using(lab).empty()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_THAT(processes_using(lab), ::testing::IsEmpty()) << "no gateway process outlives a SIGKILLed kperf";
  ASSERT_TRUE(fs::exists(lab)) << "SIGKILL leaves the folder (nothing can run on SIGKILL)";

  KperfChild next({"profile", "--runs", "1", "--duration", "1s", "--warmup", "0s", "--out", t.path / "out2"}, t.path);
  ASSERT_EQ(next.wait(120), 0) << next.err();
  EXPECT_FALSE(fs::exists(lab)) << "the next kperf removes the folder of the dead one";
  EXPECT_THAT(lab_dirs(), ::testing::IsEmpty()) << "and its own";
}

// Names users write (the workload file's name, service and route names) reach nginx,
// Lua and kperf's own outputs; none of them may reach a shell.
TEST(Profile, ShellMetacharactersInNamesAreJustText) {
  REQUIRE_ROOT();
  TempDir t;
  const fs::path mark = t.path / "PWNED";
  const std::string inject = "$(touch " + mark.string() + ");`touch " + mark.string() + "`&|>x";
  const fs::path wl = t.path / ("we ird;$(touch PWNED)&.yaml");
  std::ofstream(wl) << "name: meta\n"  // workload names are checked (letters, digits, -_.)
                    << "load: {target: gateway, threads: 1, connections: 4, duration: 1s, runs: 1, path: /s1-r1}\n"
                    << "kong:\n  _format_version: \"3.0\"\n  services:\n"
                    << "    - name: \"svc " << inject << "\"\n      url: http://kperf-upstream/test\n"
                    << "      routes:\n        - name: \"route " << inject << "\"\n"
                    << "          paths: [\"/s1-r1\"]\n";
  KperfChild k({"profile", "--workload", wl.string(), "--runs", "1", "--duration", "1s", "--warmup", "0s", "--out",
           t.path / "out"},
          t.path);
  const int status = k.wait(120);
  EXPECT_FALSE(fs::exists(mark)) << "a name reached a shell";
  EXPECT_FALSE(fs::exists(t.path / "PWNED"));
  if (status == 0) {
    EXPECT_TRUE(fs::exists(t.path / "out" / "summary.json"));
    EXPECT_THAT(read_file(t.path / "out" / "summary.json"), HasSubstr("touch"));  // the name, as text
  } else {
    // A refusal is fine when it is the one-line error, not a crash.
    EXPECT_EQ(status, 2) << k.err();
    EXPECT_EQ(std::count(k.err().begin(), k.err().end(), '\n'), 1) << k.err();
  }
}

}  // namespace

// `kperf record -p <nginx master>` on a real nginx (Debian's, stripped to .dynsym) under
// wrk load: worker stacks run from main through ngx_process_events_and_timers, syscall
// time shows kernel frames `_[k]` of the network path, and a reload's new workers are
// followed.
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include <fmt/core.h>

#include "tests/support/folded_stacks.hpp"
#include "tests/support/nginx_conf.hpp"
#include "tests/support/nginx_recording.hpp"
#include "tests/support/ports.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace kperf::test {
namespace {

bool is_kernel(const std::string& f) { return f.size() > 4 && f.ends_with("_[k]"); }

#define REQUIRE_NGINX()                                                           \
  if (geteuid() != 0) GTEST_SKIP() << "needs root (BPF + perf events)";           \
  if (access("/usr/sbin/nginx", X_OK) != 0 || access("/usr/bin/wrk", X_OK) != 0) \
  GTEST_SKIP() << "needs Debian's nginx and wrk"

const std::string kReturn200 = "return 200 \"hello from kperf's test\\n\";";

void write_conf(const TempDir& dir, int port) { write_nginx_conf(dir, port, kReturn200, false); }

TEST(RecordNginx, WorkerStacksUnderLoad) {
  REQUIRE_NGINX();
  TempDir dir;
  NginxRecordOptions opts;
  opts.lua = false;
  opts.connections = 10;
  const NginxRecording rec = record_nginx(dir, kReturn200, opts);
  ASSERT_TRUE(rec.nginx_started) << rec.error_log;
  EXPECT_EQ(rec.wrk_status, 0) << rec.wrk_err;
  ASSERT_EQ(rec.kperf_status, 0) << rec.kperf_err;

  const auto& stacks = rec.stacks;
  uint64_t total = 0, through_events = 0, with_kernel_net = 0;
  for (const auto& s : stacks) {
    ASSERT_EQ(s.frames[0], "nginx") << "only nginx workers are targets";
    total += s.count;
    bool main_seen = false, events = false;
    for (const auto& f : s.frames) {
      if (f == "main") main_seen = true;
      if (main_seen && f == "ngx_process_events_and_timers") events = true;
    }
    if (events) through_events += s.count;
    bool net = false;
    for (const auto& f : s.frames) {
      if (is_kernel(f) && (f.find("tcp_") != std::string::npos || f.find("sys_writev") != std::string::npos ||
                           f.find("sock_") != std::string::npos)) {
        net = true;
      }
    }
    if (net) with_kernel_net += s.count;
  }
  const std::string err = read_file(dir.file("kperf.err"));
  ASSERT_GT(total, 200u) << err;
  EXPECT_GE(through_events, total * 3 / 4) << "main -> ... -> ngx_process_events_and_timers in " << through_events
                                            << " of " << total << "\n" << err;
  EXPECT_GE(with_kernel_net, total / 10) << "kernel network frames in " << with_kernel_net << " of " << total;
}

TEST(RecordNginx, ReloadedWorkersAreFollowed) {
  REQUIRE_NGINX();
  TempDir dir;
  const int port = free_port();
  write_conf(dir, port);
  Process nginx({"/usr/sbin/nginx", "-p", dir.path(), "-c", dir.file("nginx.conf")}, dir.file("nginx.out"),
                dir.file("nginx.err"));
  ASSERT_TRUE(wait_for_port(port, 10)) << read_file(dir.file("error.log"));
  auto workers = [&] {
    const auto r = run({"pgrep", "-P", std::to_string(nginx.pid())}, 10);
    return r.out;
  };
  // The port accepts as soon as the master listens; its worker may come a moment later.
  std::string old_workers;
  for (int i = 0; i < 500 && old_workers.empty(); ++i) {
    old_workers = workers();
    if (old_workers.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_FALSE(old_workers.empty());

  Process kperf({KPERF_BINARY, "record", "-F", "299", "-d", "6", "--per-pid", "-p", std::to_string(nginx.pid()),
                 "-o", dir.file("out.folded")},
                dir.file("kperf.out"), dir.file("kperf.err"));
  Process load({"wrk", "-t1", "-c10", "-d5s", fmt::format("http://127.0.0.1:{}/", port)}, dir.file("wrk.out"));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // load on the old worker
  nginx.signal(SIGHUP);                                            // reload: new workers
  std::string new_workers;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    new_workers = workers();
    if (!new_workers.empty() && new_workers != old_workers && new_workers.find(old_workers) == std::string::npos) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_NE(new_workers, old_workers) << "nginx did not reload";
  EXPECT_EQ(load.wait(20), 0);
  ASSERT_EQ(kperf.wait(20), 0) << read_file(dir.file("kperf.err"));
  nginx.signal(SIGQUIT);
  nginx.wait(10);

  const auto stacks = parse_folded(read_file(dir.file("out.folded")));
  auto samples_of_pid = [&](const std::string& pid) {
    uint64_t n = 0;
    for (const auto& s : stacks) {
      if (s.frames[0] == "nginx-" + pid) n += s.count;
    }
    return n;
  };
  const std::string old_pid = old_workers.substr(0, old_workers.find('\n'));
  const std::string new_pid = new_workers.substr(0, new_workers.find('\n'));
  EXPECT_GT(samples_of_pid(old_pid), 20u) << "old worker " << old_pid;
  EXPECT_GT(samples_of_pid(new_pid), 20u) << "new worker " << new_pid << " was not followed\n"
                                          << read_file(dir.file("kperf.err"));
}

}  // namespace
}  // namespace kperf::test

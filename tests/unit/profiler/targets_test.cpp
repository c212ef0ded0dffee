// Target discovery over real child processes: pid lists, liveness (zombies count as
// gone), children, nginx-master expansion and the add/remove diff of refresh().
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "profiler/targets.hpp"

namespace kperf::prof {
namespace {

// A child process running argv; killed and reaped on destruction.
class Child {
 public:
  explicit Child(std::vector<std::string> argv) {
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
      setpgid(0, 0);  // its own group, so the whole tree can be killed
      execvp(args[0], args.data());
      _exit(127);
    }
  }
  ~Child() {
    if (pid_ > 0) {
      kill(-pid_, SIGKILL);
      kill(pid_, SIGKILL);
      if (!reaped_) waitpid(pid_, nullptr, 0);
    }
  }
  pid_t pid() const { return pid_; }
  void kill_and_reap() {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    reaped_ = true;
  }

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
};

// Polls `cond` every 10 ms for up to 5 s.
bool eventually(const std::function<bool()>& cond) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return cond();
}

TEST(Targets, ParsesPidLists) {
  EXPECT_EQ(parse_pid_list("12"), (std::vector<pid_t>{12}));
  EXPECT_EQ(parse_pid_list("12,34,5"), (std::vector<pid_t>{12, 34, 5}));
  for (const char* bad : {"", "a", "1,", ",1", "-3", "0", "1 2", "99999999999"}) {
    EXPECT_THROW(parse_pid_list(bad), std::runtime_error) << bad;
  }
}

TEST(Targets, ZombiesAndReapedProcessesAreGone) {
  Child c({"sh", "-c", "exit 0"});
  // Not reaped yet: a zombie, which must not count as a live target.
  ASSERT_TRUE(eventually([&] { return !process_alive(c.pid()); }));
  EXPECT_TRUE(process_alive(getpid()));
  EXPECT_EQ(process_comm(getpid()).empty(), false);
}

TEST(Targets, GonePidIsAnError) {
  Child c({"sleep", "30"});
  const pid_t pid = c.pid();
  c.kill_and_reap();
  try {
    Targets t({pid});
    FAIL() << "no error for a gone pid";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(std::to_string(pid)), std::string::npos) << e.what();
  }
}

TEST(Targets, PlainProcessIsItsOwnTarget) {
  Child c({"sleep", "30"});
  ASSERT_TRUE(eventually([&] { return process_comm(c.pid()) == "sleep"; }));
  EXPECT_FALSE(is_nginx_master(c.pid()));
  Targets t({c.pid()});
  auto ch = t.refresh();
  EXPECT_EQ(ch.added, (std::vector<pid_t>{c.pid()}));
  EXPECT_TRUE(ch.removed.empty());
  EXPECT_TRUE(t.refresh().added.empty());
  EXPECT_FALSE(t.all_gone());
  const pid_t pid = c.pid();
  c.kill_and_reap();
  ch = t.refresh();
  EXPECT_EQ(ch.removed, (std::vector<pid_t>{pid}));
  EXPECT_TRUE(t.all_gone());
}

TEST(Targets, NginxMasterStandsForItsWorkers) {
  // A shell titled like an nginx master, with two "workers".
  Child master({"bash", "-c", "exec -a 'nginx: master process test' bash -c 'sleep 30 & sleep 30 & wait'"});
  ASSERT_TRUE(eventually([&] { return is_nginx_master(master.pid()) && child_processes(master.pid()).size() == 2; }));
  auto workers = child_processes(master.pid());
  std::sort(workers.begin(), workers.end());

  Targets t({master.pid()});
  auto ch = t.refresh();
  std::sort(ch.added.begin(), ch.added.end());
  EXPECT_EQ(ch.added, workers);
  EXPECT_EQ(t.current().count(master.pid()), 0u);

  // A worker dies: it leaves the target set, the other stays.
  kill(workers[0], SIGKILL);
  ASSERT_TRUE(eventually([&] { return !process_alive(workers[0]); }));
  ch = t.refresh();
  EXPECT_EQ(ch.removed, (std::vector<pid_t>{workers[0]}));
  EXPECT_TRUE(ch.added.empty());
  EXPECT_EQ(t.current(), (std::set<pid_t>{workers[1]}));
  EXPECT_FALSE(t.all_gone());

  // The master dies: nothing left to follow.
  master.kill_and_reap();
  ch = t.refresh();
  EXPECT_TRUE(t.all_gone());
  EXPECT_TRUE(t.current().empty());
}

}  // namespace
}  // namespace kperf::prof

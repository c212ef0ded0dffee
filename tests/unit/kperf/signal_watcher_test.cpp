// SignalWatcher, the one Ctrl-C path of the commands: a SIGINT/SIGTERM sent to the
// process sets stop(), names the first signal and calls back once; a process forked while
// it watches gets the signal mask from before (`kperf record -- CMD` must see Ctrl-C), and
// the mask is restored when it ends.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "kperf/run/signal_watcher.hpp"

namespace kperf {
namespace {

bool blocked(int sig) {
  sigset_t now;
  sigemptyset(&now);
  pthread_sigmask(SIG_BLOCK, nullptr, &now);
  return sigismember(&now, sig) == 1;
}

bool wait_for(const std::atomic<bool>& flag) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!flag.load() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return flag.load();
}

TEST(SignalWatcher, FirstSignalStopsAndNamesTheStatus) {
  ASSERT_FALSE(blocked(SIGTERM));
  std::atomic<int> calls{0};
  {
    SignalWatcher w([&](int) { ++calls; });
    EXPECT_TRUE(blocked(SIGINT));
    EXPECT_TRUE(blocked(SIGTERM));
    EXPECT_FALSE(w.stop().load());
    EXPECT_EQ(w.signal(), 0);
    ASSERT_EQ(::kill(::getpid(), SIGTERM), 0);
    ASSERT_TRUE(wait_for(w.stop()));
    ASSERT_EQ(::kill(::getpid(), SIGINT), 0);  // a second one changes nothing
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    EXPECT_EQ(w.signal(), SIGTERM);
    EXPECT_EQ(calls.load(), 1);
  }
  EXPECT_FALSE(blocked(SIGINT));
  EXPECT_FALSE(blocked(SIGTERM));
}

TEST(SignalWatcher, AForkedChildSeesTheSignals) {
  SignalWatcher w;
  ASSERT_TRUE(blocked(SIGINT));
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) _exit(blocked(SIGINT) || blocked(SIGTERM) ? 1 : 0);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the child inherited the blocked mask";
}

}  // namespace
}  // namespace kperf

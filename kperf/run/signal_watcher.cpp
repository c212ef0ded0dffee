// SignalWatcher: the blocked-signal set, the waiting thread, and the fork hook that gives
// children the mask from before.
#include "kperf/run/signal_watcher.hpp"

#include <pthread.h>
#include <time.h>

#include <mutex>

namespace kperf {

namespace {

// The mask from before the watcher, for processes forked while it runs (a fork copies
// the blocked mask, and an exec keeps it: the child would not see Ctrl-C nor SIGTERM).
sigset_t g_mask_before;
std::atomic<bool> g_watching{false};

extern "C" void restore_mask_in_child() {
  if (g_watching.load()) sigprocmask(SIG_SETMASK, &g_mask_before, nullptr);
}

}  // namespace

SignalWatcher::SignalWatcher(std::function<void(int)> on_signal) : on_signal_(std::move(on_signal)) {
  static std::once_flag fork_hook;
  std::call_once(fork_hook, [] { pthread_atfork(nullptr, nullptr, restore_mask_in_child); });
  sigemptyset(&set_);
  sigaddset(&set_, SIGINT);
  sigaddset(&set_, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set_, &old_);
  g_mask_before = old_;
  g_watching.store(true);
  thread_ = std::thread([this] {
    while (!done_.load()) {
      timespec ts{0, 100'000'000};
      const int s = sigtimedwait(&set_, nullptr, &ts);
      if (s == SIGINT || s == SIGTERM) record(s);
    }
  });
}

void SignalWatcher::record(int s) {
  int none = 0;
  const bool first = signal_.compare_exchange_strong(none, s);  // the first one names the exit status
  stop_.store(true);
  if (first && on_signal_) on_signal_(s);
}

int SignalWatcher::signal() {
  const timespec now{0, 0};
  for (int s; (s = sigtimedwait(&set_, nullptr, &now)) == SIGINT || s == SIGTERM;) record(s);
  return signal_.load();
}

SignalWatcher::~SignalWatcher() {
  done_.store(true);
  thread_.join();
  g_watching.store(false);
  pthread_sigmask(SIG_SETMASK, &old_, nullptr);
}

}  // namespace kperf

// The one Ctrl-C path of every command: SIGINT / SIGTERM are blocked in the command's
// threads and waited for by one thread, which sets stop() (polled by the load generator,
// the recorder and the run loops) and may call back; nothing is interrupted mid-call.
#pragma once

#include <signal.h>

#include <atomic>
#include <functional>
#include <thread>

namespace kperf {

// Blocks SIGINT/SIGTERM in this thread and every thread started after it (the load
// generator's and the sampler's), so create it before any thread of the command. A
// process forked meanwhile (`kperf record -- CMD`) gets the signal mask from before.
class SignalWatcher {
 public:
  // `on_signal`, if any, runs on the watcher's thread at the first signal.
  explicit SignalWatcher(std::function<void(int)> on_signal = {});
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;
  const std::atomic<bool>& stop() const { return stop_; }
  // The first signal received (SIGINT or SIGTERM), 0 if none.
  int signal() const { return signal_.load(); }

 private:
  sigset_t set_{};
  sigset_t old_{};
  std::function<void(int)> on_signal_;
  std::atomic<bool> stop_{false};
  std::atomic<int> signal_{0};
  std::atomic<bool> done_{false};
  std::thread thread_;
};

}  // namespace kperf

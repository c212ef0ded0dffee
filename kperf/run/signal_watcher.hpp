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
  // `on_signal`, if any, runs at the first signal: on the watcher's thread, or on the caller
  // of signal() when that takes a pending one.
  explicit SignalWatcher(std::function<void(int)> on_signal = {});
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;
  const std::atomic<bool>& stop() const { return stop_; }
  // The first signal received (SIGINT or SIGTERM), 0 if none. A signal already sent but
  // not yet taken by the watcher's thread (still pending) is taken here first, so that a
  // caller asking after its last step sees it (and the process is not killed by it when
  // the mask is restored).
  int signal();

 private:
  // Records s (the first names the exit status; on_signal runs at the first).
  void record(int s);
  sigset_t set_{};
  sigset_t old_{};
  std::function<void(int)> on_signal_;
  std::atomic<bool> stop_{false};
  std::atomic<int> signal_{0};
  std::atomic<bool> done_{false};
  std::thread thread_;
};

}  // namespace kperf

// A worker's reactor for plain TCP, and the only one such a worker runs: one
// edge-triggered epoll set (each socket registered once per connection, not re-armed
// per request, so a request costs one send and one recv) plus a queue of wake-up times
// (-R sends, reconnect delays). TLS workers run Asio's reactor alone (ssl::stream).
//
// Issue 14 (two reactors, Asio + this set, in one worker) is decided by reducing to one
// per worker: plain connects are a non-blocking connect() + EPOLLOUT here and delays are
// the wake-up queue below, so a plain-TCP worker (closed loop and -R) makes no Asio call.
// Measured (scripts/bench/loadgen-vs-wrk, medians of 5 alternating pairs, kperf/wrk CPU
// per request, old code and this one in the same hour): 1 thread 0.904x -> 0.878x,
// 2 threads 0.979x -> 0.887x; -R 20000 -c 50 -d 3s: 771 ms CPU (Asio timers) -> 737 ms.
// The CPU per request is the kernel's (loopback send runs nginx's TCP receive); napping
// to batch wake-ups cut context switches 5-10x but not the CPU, so it was dropped.
#pragma once

#include <cstdint>
#include <functional>
#include <queue>
#include <vector>

namespace kperf::loadgen {

class ReadySet {
 public:
  struct Handler {
    virtual void on_ready(uint32_t events) = 0;
    // A wake-up asked for with wake_at is due; token as given there.
    virtual void on_wake(uint64_t token) = 0;

   protected:
    ~Handler() = default;
  };

  ReadySet();
  ~ReadySet();
  ReadySet(const ReadySet&) = delete;
  ReadySet& operator=(const ReadySet&) = delete;

  // Watches fd for input, hang-up and errors (edge-triggered), and for write space too
  // when `write` (a connect in progress). Closing fd removes it. False (errno set) when
  // epoll refuses.
  bool add(int fd, Handler* handler, bool write);
  // Reports (or stops reporting) write space, for a send that would block.
  bool want_write(int fd, Handler* handler, bool on);
  // Calls handler->on_wake(token) once run_due sees `when_ns` (CLOCK_MONOTONIC) passed.
  void wake_at(int64_t when_ns, Handler* handler, uint64_t token);
  // Runs the wake-ups due at now_ns.
  void run_due(int64_t now_ns);
  // Waits until a socket is ready, the first wake-up is due or until_ns, and dispatches
  // the ready sockets.
  void wait(int64_t now_ns, int64_t until_ns);

 private:
  struct Wake {
    int64_t when;
    Handler* handler;
    uint64_t token;
    bool operator>(const Wake& o) const { return when > o.when; }
  };

  int epfd_ = -1;
  std::priority_queue<Wake, std::vector<Wake>, std::greater<>> wakes_;
};

}  // namespace kperf::loadgen

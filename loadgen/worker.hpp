// One load-generating thread: its own loop (a ReadySet for plain TCP, an io_context for
// TLS), its share of the connections, its own statistics (no locks on the hot path); counters are published to the controller
// through relaxed atomics every tick.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "loadgen/histogram.hpp"
#include "loadgen/load.hpp"
#include "loadgen/ready_set.hpp"
#include "loadgen/request_set.hpp"
#include "loadgen/response_parser.hpp"
#include "loadgen/rng.hpp"
#include "loadgen/sample_stats.hpp"

namespace kperf::loadgen {

class Connection;

// Monotonic time in nanoseconds (CLOCK_MONOTONIC through the vDSO).
int64_t now_ns();

// What all workers share, read-only during the run.
struct RunShared {
  const LoadConfig* config = nullptr;
  const RequestSet* requests = nullptr;
  boost::asio::ip::tcp::endpoint endpoint;
  std::string sni;                                // host name for TLS SNI ("" for IPs)
  boost::asio::ssl::context* tls = nullptr;       // null for http://
  std::atomic<bool> stop{false};                  // set by the controller
  int64_t start_ns = 0;
  int64_t deadline_ns = 0;                        // 0: no time limit (-n without -d)
  int64_t conn_interval_ns = 0;                   // rate mode: per-connection send interval
  int64_t timeout_ns = 0;
  int total_connections = 0;
};

class Worker {
 public:
  Worker(RunShared& shared, int index, int first_connection, int connections, uint64_t budget,
         uint64_t seed);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void run();  // returns when the run is over for this thread

  // Published for the controller's progress line.
  std::atomic<uint64_t> pub_completed{0};
  std::atomic<uint64_t> pub_errors{0};
  std::atomic<bool> finished{false};

  // Results, read after run() returned.
  Histogram latency;
  std::optional<Histogram> service;
  SampleStats rate_samples;
  ErrorCounts errors;
  uint64_t completed = 0;
  uint64_t bytes = 0;
  uint64_t in_flight_at_end = 0;
  uint64_t reconnects = 0;
  int64_t end_ns = 0;  // when this thread's run ended

  // For connections.
  boost::asio::io_context& io() { return io_; }
  ReadySet& ready() { return ready_; }
  const RunShared& shared() const { return shared_; }
  Rng& rng() { return rng_; }
  // Takes one request from the -n budget; false when the budget is used up or the run
  // is stopping.
  bool take_request();
  // A request ended (response, error or timeout): may end the thread's run.
  void request_done();
  bool stopping() const { return stopping_; }
  // A connection was established or a response arrived (see tick: a dead target ends
  // an -n run that has no time limit).
  void progressed(int64_t now) { last_progress_ns_ = now; }
  // Plain TCP: the request goes out after the responses of this wake-up were read.
  void defer_send(Connection* c, uint64_t gen) { deferred_.push_back({c, gen}); }

 private:
  void tick();            // Asio timer (TLS): on_tick and re-arm
  void on_tick(int64_t now);
  void finish();
  // Plain TCP: waits on the ReadySet, runs its due wake-ups and the tick every 10 ms;
  // no Asio at all.
  void direct_loop();

  boost::asio::io_context io_;
  RunShared& shared_;
  bool direct_;
  ReadySet ready_;
  Rng rng_;
  boost::asio::steady_timer tick_timer_;
  boost::asio::steady_timer deadline_timer_;
  std::vector<std::unique_ptr<Connection>> connections_;
  bool limited_ = false;      // -n mode
  uint64_t budget_ = 0;       // requests left to issue in -n mode
  uint64_t outstanding_ = 0;  // issued and not yet ended
  bool stopping_ = false;
  int64_t sample_start_ns_ = 0;
  int64_t last_progress_ns_ = 0;
  uint64_t sample_completed_ = 0;
  int ticks_ = 0;
  std::vector<std::pair<Connection*, uint64_t>> deferred_;
  void flush_sends();
};

}  // namespace kperf::loadgen

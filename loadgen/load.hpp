// The load generator's library API: a LoadConfig in, a LoadResult (counts, errors,
// latency histogram) out. Used by `kperf load` and by `kperf profile`.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "loadgen/histogram.hpp"
#include "loadgen/sample_stats.hpp"

namespace kperf::loadgen {

struct LoadConfig {
  std::string url;                 // http:// or https://; the path may hold {a..b} ranges
  int threads = 2;
  int connections = 10;
  std::chrono::microseconds duration{std::chrono::seconds(10)};
  uint64_t total_requests = 0;     // > 0: stop after this many responses (-n), not after duration
  double rate = 0;                 // > 0: open model, constant total requests/sec (-R)
  std::chrono::microseconds timeout{std::chrono::seconds(2)};  // per request
  std::string method = "GET";
  std::vector<std::string> headers;  // "Name: value"
  std::string body;
  std::vector<std::string> paths;    // replaces the URL's path+query when not empty
  std::optional<uint64_t> seed;      // template/path choices; random when unset
  bool uncorrected = false;          // with rate: also keep the raw service-time histogram
};

// Error counts as wrk reports them.
struct ErrorCounts {
  uint64_t connect = 0, read = 0, write = 0, timeout = 0, status = 0;
  uint64_t socket_total() const { return connect + read + write + timeout; }
  void add(const ErrorCounts& o) {
    connect += o.connect, read += o.read, write += o.write, timeout += o.timeout, status += o.status;
  }
};

struct LoadResult {
  double runtime_s = 0;
  uint64_t requests = 0;       // completed responses
  uint64_t bytes = 0;          // bytes read
  uint64_t in_flight = 0;      // requests sent but not answered when the run ended
  uint64_t reconnects = 0;     // connections re-opened (server close, errors, timeouts)
  ErrorCounts errors;
  bool stopped_early = false;  // the stop flag ended the run
  Histogram latency;           // from intended send time in rate mode (corrected)
  std::optional<Histogram> service;  // rate + uncorrected: from actual send time
  SampleStats thread_rps;      // per-thread requests/sec, sampled every 100 ms

  double rps() const { return runtime_s > 0 ? static_cast<double>(requests) / runtime_s : 0.0; }
  double bytes_per_s() const { return runtime_s > 0 ? static_cast<double>(bytes) / runtime_s : 0.0; }
};

struct Progress {
  double elapsed_s = 0;
  uint64_t requests = 0;
  double current_rps = 0;  // over the last progress interval
  uint64_t errors = 0;     // socket errors + status errors
};
using ProgressFn = std::function<void(const Progress&)>;

// Throws std::invalid_argument (one-line message) for a config that cannot run: bad URL
// or scheme, zero connections, connections < threads, bad rate, header, range...
void validate(const LoadConfig& config);

// Validates the config and resolves the target host; throws std::runtime_error when the
// host cannot be resolved. run_load does the same; this lets a caller fail before
// printing anything.
void check_target(const LoadConfig& config);

// Runs one test. Resolves the host first (throws std::runtime_error when it cannot);
// refused or dropped connections are counted, not fatal. `progress` is called about
// every 250 ms from the calling thread; setting *stop ends the run early.
LoadResult run_load(const LoadConfig& config, const ProgressFn& progress = {},
                    const std::atomic<bool>* stop = nullptr);

}  // namespace kperf::loadgen

// validate / run_load: checks a LoadConfig, resolves the target, runs the workers on
// their threads, reports progress and merges their results.
#include "loadgen/load.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>
#include <stdexcept>
#include <system_error>
#include <thread>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <fmt/core.h>

#include "loadgen/request_set.hpp"
#include "loadgen/url.hpp"
#include "loadgen/worker.hpp"

namespace kperf::loadgen {

namespace asio = boost::asio;

namespace {

RequestSpec make_spec(const LoadConfig& config, const Url& url) {
  RequestSpec spec;
  spec.method = config.method;
  spec.host_header = url.host_header;
  spec.targets = config.paths.empty() ? std::vector<std::string>{url.target} : config.paths;
  spec.headers = config.headers;
  spec.body = config.body;
  return spec;
}

asio::ip::tcp::endpoint resolve(const Url& url) {
  asio::io_context io;
  asio::ip::tcp::resolver resolver(io);
  boost::system::error_code ec;
  auto results = resolver.resolve(url.host, std::to_string(url.port), ec);
  if (ec || results.empty()) {
    throw std::runtime_error(fmt::format("cannot resolve host '{}': {}", url.host,
                                         ec ? ec.message() : "no address"));
  }
  for (const auto& r : results) {
    if (r.endpoint().address().is_v4()) return r.endpoint();
  }
  return results.begin()->endpoint();
}

}  // namespace

void validate(const LoadConfig& config) {
  const Url url = parse_url(config.url);
  if (config.threads < 1) throw std::invalid_argument("number of threads must be >= 1");
  if (config.threads > 1024) throw std::invalid_argument("number of threads must be <= 1024");
  if (config.connections < 1) throw std::invalid_argument("number of connections must be >= 1");
  if (config.connections > 1'000'000)
    throw std::invalid_argument("number of connections must be <= 1000000");
  if (config.connections < config.threads) {
    throw std::invalid_argument(fmt::format(
        "number of connections ({}) must be >= threads ({})", config.connections, config.threads));
  }
  if (config.duration.count() < 0) throw std::invalid_argument("duration must not be negative");
  if (config.total_requests == 0 && config.duration.count() == 0)
    throw std::invalid_argument("duration must be > 0");
  if (!std::isfinite(config.rate) || config.rate < 0)
    throw std::invalid_argument("rate (-R) must be a positive number");
  if (config.rate > 0 && config.rate < 1e-3)
    throw std::invalid_argument("rate (-R) is too small");
  if (config.timeout.count() <= 0) throw std::invalid_argument("timeout must be > 0");
  RequestSet requests(make_spec(config, url));  // throws on bad headers, paths, ranges
}

void check_target(const LoadConfig& config) {
  validate(config);
  resolve(parse_url(config.url));
}

LoadResult run_load(const LoadConfig& config, const ProgressFn& progress,
                    const std::atomic<bool>* stop) {
  validate(config);
  const Url url = parse_url(config.url);
  const RequestSet requests(make_spec(config, url));

  RunShared shared;
  shared.config = &config;
  shared.requests = &requests;
  shared.endpoint = resolve(url);
  std::unique_ptr<asio::ssl::context> tls;
  if (url.tls) {
    // Like wrk: no certificate verification (load tests target test servers).
    tls = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
    tls->set_verify_mode(asio::ssl::verify_none);
    shared.tls = tls.get();
    boost::system::error_code ec;
    asio::ip::make_address(url.host, ec);
    if (ec) shared.sni = url.host;  // SNI carries names, not addresses
  }
  shared.total_connections = config.connections;
  shared.timeout_ns = static_cast<int64_t>(config.timeout.count()) * 1000;
  if (config.rate > 0) {
    shared.conn_interval_ns =
        std::max<int64_t>(1, static_cast<int64_t>(1e9 * config.connections / config.rate));
  }
  const uint64_t seed = config.seed ? *config.seed : std::random_device{}();

  shared.start_ns = now_ns();
  shared.deadline_ns =
      config.duration.count() > 0 ? shared.start_ns + config.duration.count() * 1000 : 0;

  const int threads = config.threads;
  std::vector<std::unique_ptr<Worker>> workers;
  int first = 0;
  for (int i = 0; i < threads; ++i) {
    const int conns = config.connections / threads + (i < config.connections % threads ? 1 : 0);
    const uint64_t n = config.total_requests;
    const uint64_t budget = n / static_cast<uint64_t>(threads) +
                            (static_cast<uint64_t>(i) < n % static_cast<uint64_t>(threads) ? 1 : 0);
    workers.push_back(std::make_unique<Worker>(shared, i, first, conns, budget, seed));
    first += conns;
  }
  std::vector<std::thread> pool;
  pool.reserve(workers.size());
  try {
    for (auto& w : workers) pool.emplace_back([&w] { w->run(); });
  } catch (const std::system_error& e) {
    shared.stop.store(true);
    for (auto& t : pool) t.join();
    throw std::runtime_error(fmt::format("cannot start {} load threads: {}", threads, e.what()));
  }

  LoadResult result;
  int64_t last_ns = shared.start_ns;
  uint64_t last_completed = 0;
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
    bool all_done = true;
    for (auto& w : workers) all_done = all_done && w->finished.load(std::memory_order_acquire);
    if (all_done) break;
    if (stop && stop->load() && !shared.stop.load()) {
      shared.stop.store(true);
      result.stopped_early = true;
    }
    const int64_t now = now_ns();
    if (progress && now - last_ns >= 250'000'000) {
      Progress p;
      p.elapsed_s = static_cast<double>(now - shared.start_ns) / 1e9;
      for (auto& w : workers) {
        p.requests += w->pub_completed.load(std::memory_order_relaxed);
        p.errors += w->pub_errors.load(std::memory_order_relaxed);
      }
      p.current_rps = static_cast<double>(p.requests - last_completed) * 1e9 /
                      static_cast<double>(now - last_ns);
      last_completed = p.requests;
      last_ns = now;
      progress(p);
    }
  }
  for (auto& t : pool) t.join();
  // The run ends when the last thread stopped (not counting thread teardown).
  int64_t end = shared.start_ns;
  for (auto& w : workers) end = std::max(end, w->end_ns);
  result.runtime_s = static_cast<double>(end - shared.start_ns) / 1e9;

  if (config.uncorrected && config.rate > 0) result.service.emplace();
  for (auto& w : workers) {
    result.requests += w->completed;
    result.bytes += w->bytes;
    result.in_flight += w->in_flight_at_end;
    result.reconnects += w->reconnects;
    result.errors.add(w->errors);
    result.latency.merge(w->latency);
    if (result.service && w->service) result.service->merge(*w->service);
    result.thread_rps.merge(w->rate_samples);
  }
  return result;
}

}  // namespace kperf::loadgen

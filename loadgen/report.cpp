// Text (wrk layout and units) and JSON renderings of load test results.
#include "loadgen/report.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/core.h>

#include "loadgen/duration.hpp"

namespace kperf::loadgen {

namespace {

// wrk's print_units: right-aligned in `width`, padded so numbers line up whatever the
// unit's length.
std::string units(const std::string& msg, int width) {
  int pad = 2;
  const size_t len = msg.size();
  if (len >= 1 && std::isalpha(static_cast<unsigned char>(msg[len - 1]))) --pad;
  if (len >= 2 && std::isalpha(static_cast<unsigned char>(msg[len - 2]))) --pad;
  return fmt::format("{:>{}}{}", msg, width - pad, std::string(static_cast<size_t>(pad), ' '));
}

std::string stats_row(const char* name, const std::string& mean, const std::string& stdev,
                      const std::string& max, double within) {
  return fmt::format("    {:<10}{}{}{}{:8.2f}%\n", name, units(mean, 8), units(stdev, 10),
                     units(max, 9), within);
}

std::string latency_row(const char* name, const Histogram& h) {
  const double mean = h.mean(), stdev = h.stdev();
  return stats_row(name, format_time_us(mean), format_time_us(stdev),
                   format_time_us(static_cast<double>(h.max())), h.within_stdev(mean, stdev, 1));
}

std::string distribution(const Histogram& h) {
  std::string out;
  for (double p : {50.0, 75.0, 90.0, 99.0}) {
    out += fmt::format("{:7.0f}%{}\n", p, units(format_time_us(static_cast<double>(h.percentile(p))), 10));
  }
  return out;
}

nlohmann::json histogram_json(const Histogram& h) {
  const double mean = h.mean(), stdev = h.stdev();
  return {{"count", h.count()},
          {"min", h.min()},
          {"mean", mean},
          {"stdev", stdev},
          {"max", h.max()},
          {"within_stdev_pct", h.within_stdev(mean, stdev, 1)},
          {"p50", h.percentile(50)},
          {"p75", h.percentile(75)},
          {"p90", h.percentile(90)},
          {"p99", h.percentile(99)},
          {"p99_9", h.percentile(99.9)},
          {"p99_99", h.percentile(99.99)}};
}

nlohmann::json errors_json(const ErrorCounts& e) {
  return {{"connect", e.connect}, {"read", e.read},     {"write", e.write},
          {"timeout", e.timeout}, {"status", e.status}};
}

}  // namespace

std::string format_text_header(const LoadConfig& config) {
  std::string what;
  if (config.total_requests > 0) {
    what = fmt::format("{} requests", config.total_requests);
  } else {
    what = format_time_s(static_cast<double>(config.duration.count()) / 1e6);
  }
  std::string out = fmt::format("Running {} test @ {}\n", what, config.url);
  out += fmt::format("  {} threads and {} connections\n", config.threads, config.connections);
  return out;
}

std::string format_text_result(const LoadConfig& config, const LoadResult& r, bool dist) {
  std::string out;
  out += fmt::format("  Thread Stats{:>6}{:>11}{:>8}{:>12}\n", "Avg", "Stdev", "Max", "+/- Stdev");
  out += latency_row("Latency", r.latency);
  out += stats_row("Req/Sec", format_metric(r.thread_rps.mean()), format_metric(r.thread_rps.stdev()),
                   format_metric(r.thread_rps.max()), r.thread_rps.within_stdev(1));
  if (dist) {
    out += "  Latency Distribution\n";
    out += distribution(r.latency);
  }
  if (r.service) {
    out += "  Uncorrected service time (from the actual send, not the intended one)\n";
    out += latency_row("Service", *r.service);
    if (dist) out += distribution(*r.service);
  }
  out += fmt::format("  {} requests in {}, {}B read\n", r.requests, format_time_us(r.runtime_s * 1e6),
                     format_binary(static_cast<double>(r.bytes)));
  const auto& e = r.errors;
  if (e.socket_total() > 0) {
    out += fmt::format("  Socket errors: connect {}, read {}, write {}, timeout {}\n", e.connect,
                       e.read, e.write, e.timeout);
  }
  if (e.status > 0) out += fmt::format("  Non-2xx or 3xx responses: {}\n", e.status);
  out += fmt::format("Requests/sec: {:9.2f}\n", r.rps());
  out += fmt::format("Transfer/sec: {:>10}B\n", format_binary(r.bytes_per_s()));
  (void)config;
  return out;
}

nlohmann::json config_json(const LoadConfig& c) {
  nlohmann::json j = {{"url", c.url},
                      {"threads", c.threads},
                      {"connections", c.connections},
                      {"duration_s", static_cast<double>(c.duration.count()) / 1e6},
                      {"total_requests", c.total_requests},
                      {"rate", c.rate},
                      {"timeout_s", static_cast<double>(c.timeout.count()) / 1e6},
                      {"method", c.method},
                      {"headers", c.headers},
                      {"body_bytes", c.body.size()},
                      {"paths", c.paths.size()},
                      {"uncorrected", c.uncorrected}};
  if (c.seed) j["seed"] = *c.seed;
  return j;
}

nlohmann::json result_json(const LoadResult& r) {
  nlohmann::json j = {{"runtime_s", r.runtime_s},
                      {"requests", r.requests},
                      {"bytes", r.bytes},
                      {"requests_per_sec", r.rps()},
                      {"bytes_per_sec", r.bytes_per_s()},
                      {"in_flight_at_end", r.in_flight},
                      {"reconnects", r.reconnects},
                      {"stopped_early", r.stopped_early},
                      {"errors", errors_json(r.errors)},
                      {"latency_us", histogram_json(r.latency)},
                      {"req_per_sec_per_thread",
                       {{"mean", r.thread_rps.mean()},
                        {"stdev", r.thread_rps.stdev()},
                        {"max", r.thread_rps.max()},
                        {"within_stdev_pct", r.thread_rps.within_stdev(1)},
                        {"samples", r.thread_rps.samples.size()}}}};
  j["latency_us"]["corrected"] = true;
  if (r.service) j["service_time_us"] = histogram_json(*r.service);
  return j;
}

CombinedResult combine(const std::vector<LoadResult>& runs) {
  CombinedResult c;
  c.runs = runs.size();
  if (runs.empty()) return c;
  c.rps_min = runs.front().rps();
  c.rps_max = runs.front().rps();
  double sum = 0;
  for (const auto& r : runs) {
    const double rps = r.rps();
    sum += rps;
    c.rps_min = std::min(c.rps_min, rps);
    c.rps_max = std::max(c.rps_max, rps);
    c.requests += r.requests;
    c.bytes += r.bytes;
    c.in_flight += r.in_flight;
    c.errors.add(r.errors);
    c.latency.merge(r.latency);
  }
  c.rps_mean = sum / static_cast<double>(runs.size());
  return c;
}

std::string format_combined_text(const CombinedResult& c) {
  const auto t = [](double us) { return format_time_us(us); };
  std::string out = fmt::format("Combined over {} runs:\n", c.runs);
  out += fmt::format("  RPS            avg {:.2f}  min {:.2f}  max {:.2f}\n", c.rps_mean, c.rps_min, c.rps_max);
  out += fmt::format("  Latency (all)  avg {}  max {}\n", t(c.latency.mean()),
                     t(static_cast<double>(c.latency.max())));
  out += fmt::format("  Percentiles    p50 {}  p90 {}  p99 {}\n",
                     t(static_cast<double>(c.latency.percentile(50))),
                     t(static_cast<double>(c.latency.percentile(90))),
                     t(static_cast<double>(c.latency.percentile(99))));
  out += fmt::format("  {} requests, {}B read; errors: connect {}, read {}, write {}, timeout {}, status {}\n",
                     c.requests, format_binary(static_cast<double>(c.bytes)), c.errors.connect,
                     c.errors.read, c.errors.write, c.errors.timeout, c.errors.status);
  return out;
}

nlohmann::json combined_json(const CombinedResult& c) {
  return {{"runs", c.runs},
          {"requests_per_sec", {{"mean", c.rps_mean}, {"min", c.rps_min}, {"max", c.rps_max}}},
          {"requests", c.requests},
          {"bytes", c.bytes},
          {"in_flight_at_end", c.in_flight},
          {"errors", errors_json(c.errors)},
          {"latency_us", histogram_json(c.latency)}};
}

}  // namespace kperf::loadgen

// `kperf load`: the wrk-compatible HTTP load generator on the command line (wrk's flags,
// text report and units; exact latency percentiles; rate mode; JSON; repeated runs).
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/core.h>

#include "kperf/command.hpp"
#include "kperf/output_file.hpp"
#include "loadgen/duration.hpp"
#include "loadgen/load.hpp"
#include "loadgen/report.hpp"

namespace kperf {

namespace {

std::atomic<bool> g_interrupted{false};

extern "C" void on_sigint(int) { g_interrupted.store(true); }

struct LoadOptions {
  std::string url;
  std::string threads = "2";
  std::string connections = "10";
  std::string duration = "10s";
  std::string requests;
  std::string rate;
  bool latency = false;
  std::string timeout = "2s";
  std::string method = "GET";
  std::vector<std::string> headers;
  std::string body;
  std::string body_file;
  std::string paths_file;
  int64_t seed = -1;
  bool uncorrected = false;
  std::string json;
  int runs = 1;
};

std::string read_file(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError(fmt::format("cannot read {} '{}'", what, path));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> read_paths(const std::string& file) {
  std::istringstream in(read_file(file, "paths file"));
  std::vector<std::string> paths;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
      line.pop_back();
    const size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') continue;
    line = line.substr(start);
    if (line.front() != '/')
      throw UsageError(fmt::format("{}:{}: a path must start with '/': '{}'", file, n, line));
    paths.push_back(line);
  }
  if (paths.empty()) throw UsageError(fmt::format("paths file '{}' holds no path", file));
  return paths;
}

loadgen::LoadConfig make_config(const LoadOptions& o, bool duration_given) {
  loadgen::LoadConfig c;
  c.url = o.url;
  try {
    const uint64_t threads = loadgen::parse_count(o.threads, "number of threads");
    const uint64_t conns = loadgen::parse_count(o.connections, "number of connections");
    c.threads = static_cast<int>(std::min<uint64_t>(threads, 1u << 30));
    c.connections = static_cast<int>(std::min<uint64_t>(conns, 1u << 30));
    c.duration = loadgen::parse_duration(o.duration);
    c.timeout = loadgen::parse_duration(o.timeout);
    if (!o.requests.empty()) {
      c.total_requests = loadgen::parse_count(o.requests, "request count");
      if (c.total_requests == 0) throw std::invalid_argument("request count (-n) must be >= 1");
    }
    if (!o.rate.empty()) {
      c.rate = static_cast<double>(loadgen::parse_count(o.rate, "rate"));
      if (c.rate <= 0) throw std::invalid_argument("rate (-R) must be >= 1");
    }
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  if (c.total_requests > 0 && !duration_given) c.duration = std::chrono::microseconds(0);
  c.method = o.method;
  c.headers = o.headers;
  if (!o.body.empty() && !o.body_file.empty())
    throw UsageError("--body and --body-file are mutually exclusive");
  c.body = o.body_file.empty() ? o.body : read_file(o.body_file, "body file");
  if (!o.paths_file.empty()) c.paths = read_paths(o.paths_file);
  if (o.seed >= 0) c.seed = static_cast<uint64_t>(o.seed);
  c.uncorrected = o.uncorrected;
  if (o.uncorrected && c.rate <= 0) throw UsageError("--uncorrected needs a rate (-R)");
  if (o.runs < 1) throw UsageError("--runs must be >= 1");
  try {
    loadgen::validate(c);
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  return c;
}

void run(const LoadOptions& o, bool duration_given) {
  const loadgen::LoadConfig config = make_config(o, duration_given);
  loadgen::check_target(config);
  const bool json_to_stdout = o.json == "-";
  std::ostream& text = json_to_stdout ? std::cerr : std::cout;
  const bool tty = ::isatty(STDERR_FILENO) == 1;

  g_interrupted.store(false);
  struct sigaction sa {};
  struct sigaction old {};
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old);

  loadgen::ProgressFn progress;
  if (tty) {
    progress = [](const loadgen::Progress& p) {
      fmt::print(stderr, "\r\033[K  {:.1f}s  {} requests  {:.0f} req/s  {} errors", p.elapsed_s,
                 p.requests, p.current_rps, p.errors);
      std::fflush(stderr);
    };
  }
  std::vector<loadgen::LoadResult> results;
  nlohmann::json runs_json = nlohmann::json::array();
  try {
    for (int i = 0; i < o.runs && !g_interrupted.load(); ++i) {
      if (o.runs > 1) text << fmt::format("Run {} of {}\n", i + 1, o.runs);
      text << loadgen::format_text_header(config) << std::flush;
      loadgen::LoadResult r = loadgen::run_load(config, progress, &g_interrupted);
      if (tty) fmt::print(stderr, "\r\033[K");
      text << loadgen::format_text_result(config, r, o.latency) << std::flush;
      runs_json.push_back(loadgen::result_json(r));
      results.push_back(std::move(r));
    }
  } catch (...) {
    sigaction(SIGINT, &old, nullptr);
    if (tty) fmt::print(stderr, "\r\033[K");
    throw;
  }
  sigaction(SIGINT, &old, nullptr);
  const auto combined = loadgen::combine(results);
  if (o.runs > 1 && !results.empty()) text << "\n" << loadgen::format_combined_text(combined) << std::flush;
  if (!o.json.empty()) {
    OutputFile out(json_to_stdout ? "" : o.json);
    nlohmann::json j = {{"tool", "kperf load"},
                        {"config", loadgen::config_json(config)},
                        {"runs", runs_json},
                        {"combined", loadgen::combined_json(combined)},
                        {"interrupted", g_interrupted.load()}};
    out.stream() << j.dump(2) << "\n";
    out.commit();
  }
}

}  // namespace

void register_load(CLI::App& app) {
  auto opts = std::make_shared<LoadOptions>();
  auto* cmd = app.add_subcommand(
      "load",
      "HTTP/1.1 load generator, wrk-compatible flags and report (runs in-process; exact\n"
      "latency percentiles from a 3-significant-digit histogram).\n"
      "Closed loop by default (each connection sends its next request when the previous\n"
      "response arrived). With -R: open model at a constant total rate, latency measured\n"
      "from each request's intended send time (coordinated omission corrected, like wrk2).\n"
      "The URL path may hold ranges {A..B}: each request takes a random value per range,\n"
      "e.g. http://127.0.0.1:8000/s{1..10}-r{1..10}?apikey=consumer-{1..100}.\n"
      "HTTPS: TLS with SNI; server certificates are NOT verified (like wrk).\n"
      "Errors are counted like wrk's (connect, read, write, timeout; status >= 400 as\n"
      "'Non-2xx or 3xx responses'); a server closing the connection (Connection: close,\n"
      "keepalive_requests) is a reconnect, not an error. Requests still in flight when the\n"
      "test ends are reported in the JSON (in_flight_at_end). Ctrl-C ends the test early\n"
      "and prints the results so far. A live progress line (elapsed, current RPS, errors)\n"
      "goes to stderr when it is a terminal.");
  cmd->add_option("url", opts->url, "Target URL: http[s]://HOST[:PORT]/PATH[?QUERY]")->required();
  cmd->add_option("-t,--threads", opts->threads, "Number of threads to use (SI units allowed: 1k)")->capture_default_str();
  cmd->add_option("-c,--connections", opts->connections, "Connections to keep open (>= threads; 1k = 1000)")
      ->capture_default_str();
  auto* dur = cmd->add_option("-d,--duration", opts->duration,
                              "Duration of test: 10s, 500ms, 2m, 1h (with -n: a time limit)")
                  ->capture_default_str();
  cmd->add_option("-n,--requests", opts->requests,
                  "Send this many requests in total, then stop (instead of a duration; without -d "
                  "the run also ends when no connection nor response succeeds for --timeout)");
  cmd->add_option("-R,--rate", opts->rate,
                  "Open model: constant total throughput in requests/sec, e.g. 20000 or 20k "
                  "(latency corrected for coordinated omission)");
  cmd->add_flag("--latency", opts->latency, "Print the latency distribution (50/75/90/99%)");
  cmd->add_option("--timeout", opts->timeout,
                  "Per-request timeout (counted as a timeout error; the connection is re-opened)")
      ->capture_default_str();
  cmd->add_option("-m,--method", opts->method, "HTTP method")->capture_default_str();
  cmd->add_option("-H,--header", opts->headers, "Add a header to requests: 'Name: value' (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--body", opts->body, "Request body (adds Content-Length)");
  cmd->add_option("--body-file", opts->body_file, "Read the request body from a file");
  cmd->add_option("--paths", opts->paths_file,
                  "File with one request path per line (may hold {A..B} ranges); each request "
                  "picks one at random");
  cmd->add_option("--seed", opts->seed, "Seed for the random choices of paths and ranges (>= 0)");
  cmd->add_flag("--uncorrected", opts->uncorrected,
                "With -R: also report the raw service time (from the actual send)");
  cmd->add_option("--json", opts->json, "Write every figure as JSON to FILE ('-' = stdout; the "
                                        "text report then goes to stderr)");
  cmd->add_option("--runs", opts->runs,
                  "Repeat the test N times and print a combined result (RPS mean/min/max, "
                  "latency avg weighted by requests, max, merged percentiles)")
      ->capture_default_str();
  cmd->callback([opts, dur] { run(*opts, dur->count() > 0); });
}

}  // namespace kperf

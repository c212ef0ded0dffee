// `kperf load` / `kperf attach` load flags: registration and mapping into LoadConfig.
#include "kperf/cli/load_options.hpp"

#include <cerrno>
#include <cstring>
#include <sstream>
#include <stdexcept>

#include <fmt/core.h>

#include "common/text_file.hpp"
#include "kperf/cli/command.hpp"
#include "kperf/cli/flag_values.hpp"
#include "loadgen/duration.hpp"

namespace kperf {

namespace {

// A file named on the command line: a user error when it cannot be read.
std::string read_file(const std::string& path, const char* what) {
  const auto text = common::read_file(path);
  if (!text) throw UsageError(fmt::format("cannot read {} '{}': {}", what, path, std::strerror(errno)));
  return *text;
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

}  // namespace

void add_load_flags(CLI::App* cmd, LoadFlags& f, bool with_requests, const std::string& latency_help) {
  cmd->add_option("-t,--threads", f.threads, "Number of threads to use (SI units allowed: 1k)")
      ->transform(count_value("number of threads", 1, 1024))
      ->capture_default_str();
  cmd->add_option("-c,--connections", f.connections, "Connections to keep open (>= threads; 1k = 1000)")
      ->transform(count_value("number of connections", 1, 1'000'000))
      ->capture_default_str();
  if (with_requests) {
    cmd->add_option("-n,--requests", f.requests,
                    "Send this many requests in total, then stop (instead of a duration; without -d "
                    "the run also ends when no connection nor response succeeds for --timeout)")
        ->transform(count_value("request count", 1, UINT64_MAX));
  }
  cmd->add_option("-R,--rate", f.rate,
                  "Open model: constant total throughput in requests/sec, e.g. 20000 or 20k "
                  "(latency corrected for coordinated omission)")
      ->transform(count_value("rate", 1, UINT64_MAX));
  cmd->add_flag("--latency", f.latency, latency_help);
  cmd->add_option("--timeout", f.timeout,
                  "Per-request timeout (counted as a timeout error; the connection is re-opened)")
      ->check(duration_value())
      ->capture_default_str();
  cmd->add_option("-m,--method", f.method, "HTTP method")->capture_default_str();
  cmd->add_option("-H,--header", f.headers, "Add a header to requests: 'Name: value' (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--body", f.body, "Request body (adds Content-Length)");
  cmd->add_option("--body-file", f.body_file, "Read the request body from a file");
  cmd->add_option("--paths", f.paths_file,
                  "File with one request path per line (may hold {A..B} ranges); each request "
                  "picks one at random");
  cmd->add_option("--seed", f.seed, "Seed for the random choices of paths and ranges (>= 0)");
  cmd->add_flag("--uncorrected", f.uncorrected, "With -R: also report the raw service time (from the actual send)");
}

loadgen::LoadConfig make_load_config(const LoadFlags& o, const std::string& url, const std::string& duration,
                                     bool duration_given) {
  loadgen::LoadConfig c;
  c.url = url;
  c.threads = o.threads;
  c.connections = o.connections;
  c.duration = loadgen::parse_duration(duration);
  c.timeout = loadgen::parse_duration(o.timeout);
  c.total_requests = o.requests;
  c.rate = o.rate;
  if (c.total_requests > 0 && !duration_given) c.duration = std::chrono::microseconds(0);
  c.method = o.method;
  c.headers = o.headers;
  if (!o.body.empty() && !o.body_file.empty()) throw UsageError("--body and --body-file are mutually exclusive");
  c.body = o.body_file.empty() ? o.body : read_file(o.body_file, "body file");
  if (!o.paths_file.empty()) c.paths = read_paths(o.paths_file);
  if (o.seed >= 0) c.seed = static_cast<uint64_t>(o.seed);
  c.uncorrected = o.uncorrected;
  if (o.uncorrected && c.rate <= 0) throw UsageError("--uncorrected needs a rate (-R)");
  try {
    loadgen::validate(c);
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  return c;
}

}  // namespace kperf

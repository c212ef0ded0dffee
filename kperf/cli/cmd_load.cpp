// `kperf load`: the wrk-compatible HTTP load generator on the command line (wrk's flags,
// text report and units; exact latency percentiles; rate mode; JSON; repeated runs).
#include <unistd.h>

#include <iostream>

#include <fmt/core.h>

#include "kperf/cli/command.hpp"
#include "kperf/cli/flag_values.hpp"
#include "kperf/cli/load_options.hpp"
#include "kperf/cli/output_file.hpp"
#include "kperf/run/signal_watcher.hpp"
#include "loadgen/load.hpp"
#include "loadgen/report.hpp"

namespace kperf {

namespace {

struct LoadOptions {
  std::string url;
  std::string duration = "10s";
  LoadFlags flags;
  std::string json;
  int runs = 1;
};

void run(const LoadOptions& o, bool duration_given) {
  const loadgen::LoadConfig config = make_load_config(o.flags, o.url, o.duration, duration_given);
  loadgen::check_target(config);
  const bool json_to_stdout = o.json == "-";
  std::ostream& text = json_to_stdout ? std::cerr : std::cout;
  const bool tty = ::isatty(STDERR_FILENO) == 1;

  SignalWatcher signals;  // Ctrl-C / SIGTERM end the test early, with its results
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
    for (int i = 0; i < o.runs && !signals.stop().load(); ++i) {
      if (o.runs > 1) text << fmt::format("Run {} of {}\n", i + 1, o.runs);
      text << loadgen::format_text_header(config) << std::flush;
      loadgen::LoadResult r = loadgen::run_load(config, progress, &signals.stop());
      if (tty) fmt::print(stderr, "\r\033[K");
      text << loadgen::format_text_result(config, r, o.flags.latency) << std::flush;
      runs_json.push_back(loadgen::result_json(r));
      results.push_back(std::move(r));
    }
  } catch (...) {
    if (tty) fmt::print(stderr, "\r\033[K");
    throw;
  }
  const auto combined = loadgen::combine(results);
  if (o.runs > 1 && !results.empty()) text << "\n" << loadgen::format_combined_text(combined) << std::flush;
  if (!o.json.empty()) {
    OutputFile out(json_to_stdout ? "" : o.json);
    nlohmann::json j = {{"tool", "kperf load"},
                        {"config", loadgen::config_json(config)},
                        {"runs", runs_json},
                        {"combined", loadgen::combined_json(combined)},
                        {"interrupted", signals.stop().load()}};
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
  auto* dur = cmd->add_option("-d,--duration", opts->duration,
                              "Duration of test: 10s, 500ms, 2m, 1h (with -n: a time limit)")
                  ->check(duration_value())
                  ->capture_default_str();
  add_load_flags(cmd, opts->flags, true, "Print the latency distribution (50/75/90/99%)");
  cmd->add_option("--json", opts->json, "Write every figure as JSON to FILE ('-' = stdout; the "
                                        "text report then goes to stderr)");
  cmd->add_option("--runs", opts->runs,
                  "Repeat the test N times and print a combined result (RPS mean/min/max, "
                  "latency avg weighted by requests, max, merged percentiles)")
      ->transform(count_value("number of runs", 1, 1000))
      ->capture_default_str();
  cmd->callback([opts, dur] { run(*opts, dur->count() > 0); });
}

}  // namespace kperf

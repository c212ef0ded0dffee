// `kperf agent`: a long-running profiler on a Kong / nginx node. Follows the node's nginx
// (by --prefix or --container, restarts included, or --pid) and serves its CPU profile in pprof over HTTP
// at /debug/pprof/profile?seconds=N — the pull convention of Pyroscope / Grafana Alloy,
// Parca and `go tool pprof` — plus an index page and /healthz. Samples only while a
// profile is asked for (and --keep-warm seconds after).
#include <chrono>
#include <csignal>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <fmt/core.h>

#include "kperf/agent/followed_target.hpp"
#include "kperf/agent/http_server.hpp"
#include "kperf/agent/listen_address.hpp"
#include "kperf/agent/profile_query.hpp"
#include "kperf/agent/routes.hpp"
#include "kperf/agent/scrape_session.hpp"
#include "kperf/cli/command.hpp"
#include "kperf/cli/flag_values.hpp"
#include "kperf/run/signal_watcher.hpp"
#include "kperf/cli/flag_values.hpp"
#include "profiler/bpf_support.hpp"

namespace kperf {

namespace {

struct AgentArgs {
  std::optional<int> pid;
  std::string prefix;
  std::string container;
  std::string listen = fmt::format("127.0.0.1:{}", agent::kDefaultPort);
  int frequency = 99;
  int keep_warm = 0;
};

int run_agent(const AgentArgs& a) {
  const agent::ListenAddress addr = agent::parse_listen_address(a.listen);
  if (!a.container.empty()) {
    if (a.pid) throw UsageError("give --container or --pid, not both");
  } else if (a.pid.has_value() == !a.prefix.empty()) {
    throw UsageError("give exactly one of --pid PID, --prefix DIR or --container NAME|ID");
  }
  if (const std::string missing = prof::missing_bpf_support(); !missing.empty()) {
    throw UsageError(fmt::format("agent samples with eBPF: {}", missing));
  }
  boost::asio::io_context io;
  std::function<void()> on_stop;  // set once the server runs; called on io's thread
  SignalWatcher signals([&io, &on_stop](int) {
    boost::asio::post(io, [&on_stop] {
      if (on_stop) on_stop();
    });
  });
  agent::FollowedTarget target(a.pid, a.prefix, a.container);
  const std::string spec = target.spec();
  const agent::TargetStatus first = target.status();

  agent::ScrapeSession session(std::move(target), a.frequency, std::chrono::seconds(a.keep_warm));
  std::optional<agent::HttpServer> server;
  try {
    server.emplace(io, addr, session, spec);
  } catch (...) {
    session.shutdown();
    throw;
  }
  agent::ListenAddress bound = addr;
  bound.port = server->port();
  fmt::print(stderr, "kperf agent: serving http://{}{}?seconds=N ({} to {}, default {}) and /healthz; {}: {}\n",
             bound.authority(), agent::kProfilePath, agent::kMinSeconds, agent::kMaxSeconds, agent::kDefaultSeconds,
             spec, first.ok ? first.description : "not running yet (" + first.description + ")");
  std::fflush(stderr);

  on_stop = [&] {
    session.shutdown();  // stops sampling; pending scrapes are refused
    server->stop();
    io.stop();
  };
  io.run();
  session.shutdown();
  fmt::print(stderr, "kperf agent: stopped ({}); {} profiles served\n",
             signals.signal() == SIGINT ? "SIGINT" : "SIGTERM", session.stats().served);
  return 0;
}

}  // namespace

void register_agent(CLI::App& app) {
  auto a = std::make_shared<AgentArgs>();
  auto* cmd = app.add_subcommand(
      "agent",
      "Run on a Kong / nginx node and serve its CPU profile over HTTP for continuous profilers:\n"
      "GET /debug/pprof/profile?seconds=N (1 to 300, default 30) samples the workers for the next\n"
      "N seconds with eBPF and answers with a gzipped pprof profile (plugin / phase / process\n"
      "labels) — what Pyroscope / Grafana Alloy, Parca and `go tool pprof` pull. Concurrent\n"
      "scrapes share one sampler, and nothing is sampled while nobody asks (--keep-warm S: until\n"
      "S seconds after the last scrape). GET / is an index\n"
      "page, GET /healthz answers 200 while the target runs and 503 with the reason when not.\n"
      "--prefix follows the prefix's pid file (reloads and restarts included: the profiles'\n"
      "comments and /healthz say when the master changed); --container NAME|ID follows the nginx\n"
      "in a container (docker inspect, else the id in /proc/PID/cgroup for any runtime; restarts\n"
      "of its nginx and of the container followed; with --prefix, a prefix inside it); --pid\n"
      "follows one master (a worker pid stands for its master). Listens on 127.0.0.1 unless --listen says otherwise.\n"
      "Needs root (or CAP_BPF + CAP_PERFMON). SIGINT / SIGTERM stop it (exit status 0).");
  cmd->add_option("--pid", a->pid, "The nginx/Kong master or worker pid to follow");
  cmd->add_option("--prefix", a->prefix,
                  "nginx/Kong prefix: the master is read from DIR/pids/nginx.pid (Kong) or DIR/logs/nginx.pid "
                  "(nginx), again after it exits; with --container, a path inside the container");
  cmd->add_option("--container", a->container,
                  "Follow the nginx/Kong of this container (name or id; Docker by `docker inspect`, any runtime by "
                  "the id in /proc/PID/cgroup), resolved again after its nginx or the container restarts");
  cmd->add_option("--listen", a->listen,
                  "Address to serve on: ADDR:PORT, [V6ADDR]:PORT or PORT (on 127.0.0.1); 0.0.0.0:PORT for "
                  "every interface (the endpoints have no authentication)")
      ->capture_default_str();
  cmd->add_option("-F,--freq", a->frequency, "Samples per second per CPU")
      ->transform(count_value("sampling frequency", 1, 10'000))
      ->default_val(99);
  cmd->add_option("--keep-warm", a->keep_warm,
                  "Keep the sampler loaded this many seconds after the last scrape ends, so a scraper with a "
                  "steady rhythm (Alloy: seconds=14 every 15 s) does not pay its load (~1 s unsampled) each time; "
                  "0 stops it at once")
      ->default_val(0)
      ->check(CLI::Range(0, 600));
  cmd->callback([a] { set_exit_status(run_agent(*a)); });
}

}  // namespace kperf

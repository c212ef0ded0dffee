// `kperf attach`: samples a running Kong / nginx (by pid or by its prefix's pid file) for a
// duration, optionally under load, and writes the same outputs as `kperf profile`.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "kperf/cli/command.hpp"
#include "kperf/cli/flag_values.hpp"
#include "kperf/gateway/attached_process.hpp"
#include "kperf/cli/load_options.hpp"
#include "kperf/run/profile_outputs.hpp"
#include "kperf/report/profile_report.hpp"
#include "kperf/run/profile_run.hpp"
#include "kperf/run/signal_watcher.hpp"
#include "kperf/run/progress.hpp"
#include "loadgen/duration.hpp"
#include "loadgen/report.hpp"
#include "profiler/bpf_support.hpp"

namespace kperf {

namespace {

namespace fs = std::filesystem;

struct AttachArgs {
  std::optional<int> pid;
  std::string prefix;
  std::string container;
  std::string duration = "30s";
  std::string url;
  LoadFlags load;
  int frequency = 99;
  bool per_pid = false;
  std::string out;
  bool force = false;
};

fs::path default_out_dir(pid_t pid) {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
  return fs::path("kperf-out") / fmt::format("{}-attach-{}", stamp, pid);
}

int run_attach(const AttachArgs& a) {
  AttachedProcess target(a.pid, a.prefix, a.url, a.container);
  target.start();
  const std::chrono::microseconds duration = loadgen::parse_duration(a.duration);
  RunPlan plan;
  plan.runs = 1;
  plan.duration = duration;
  plan.frequency = a.frequency;
  plan.path = "";
  plan.with_load = !a.url.empty();
  plan.root = a.per_pid ? prof::RootFrame::PerPid : prof::RootFrame::Process;
  if (plan.with_load) {
    plan.load = make_load_config(a.load, a.url, a.duration, true);
    loadgen::check_target(plan.load);
  }
  const fs::path out_dir = a.out.empty() ? default_out_dir(target.master_pid()) : fs::path(a.out);
  check_out_dir(out_dir, a.force);
  if (const std::string missing = prof::missing_bpf_support(); !missing.empty()) {
    throw UsageError(fmt::format("attach samples with eBPF: {}", missing));
  }
  std::error_code ec;
  const bool created = !fs::exists(out_dir, ec);
  fs::create_directories(out_dir, ec);
  if (ec) throw UsageError(fmt::format("cannot create output directory '{}': {}", out_dir.string(), ec.message()));

  SignalWatcher signals;
  ProgressDisplay progress(plan.planned_seconds(), ::isatty(STDERR_FILENO) == 1);
  progress.message(fmt::format("kperf attach: {}; {} for {}", target.description(),
                               plan.with_load ? fmt::format("load to {}", a.url) : std::string("no load"),
                               loadgen::format_time_s(std::chrono::duration<double>(duration).count())));
  fs::path flamegraph;
  bool interrupted = false;
  int signal = 0;
  std::string load_text;
  try {
    ProfileResult result = run_profile(plan, a.url, target.master_pid(), signals.stop(), progress);
    interrupted = result.interrupted;
    if (plan.with_load && !result.runs.empty()) {
      load_text = loadgen::format_text_header(plan.load) +
                  loadgen::format_text_result(plan.load, result.runs.front().load, a.load.latency);
    }
    ReportContext ctx;
    ctx.command = "kperf attach";
    ctx.workload = fmt::format("attach-{}", target.master_pid());
    ctx.description = target.description();
    ctx.subject = target.description();
    ctx.origin = !a.container.empty() ? fmt::format("container {}", a.container)
                 : a.prefix.empty()   ? fmt::format("pid {}", target.master_pid())
                                      : a.prefix;
    ctx.driver = target.driver();
    ctx.target_url = a.url;
    ctx.plan = plan;
    flamegraph = write_session_outputs(out_dir, ctx, result, target, progress).flamegraph;
    // A signal while the outputs were written: they are complete, the status says stopped.
    signal = signals.signal();
  } catch (...) {
    if (created && fs::is_empty(out_dir, ec)) fs::remove(out_dir, ec);
    throw;
  }
  if (!load_text.empty()) fmt::print("{}", load_text);
  return finish_report(out_dir, flamegraph, interrupted, signal);
}

}  // namespace

void register_attach(CLI::App& app) {
  auto a = std::make_shared<AttachArgs>();
  auto* cmd = app.add_subcommand(
      "attach",
      "Profile a running Kong / nginx: sample its worker processes with eBPF for --duration,\n"
      "optionally under load (--url plus the `kperf load` flags), and write the same outputs\n"
      "as `kperf profile` into one directory: profile.folded, flamegraph.svg, summary.txt,\n"
      "summary.json, report.md (plugin table included), rps.svg + latency.svg with --url, and\n"
      "error.log (what the prefix's logs/error.log got while attached) with --prefix.\n"
      "A master pid: its workers are sampled and reloads followed (new workers added, old\n"
      "ones dropped; each change is printed as 'workers changed: +NEW -OLD'). A worker pid\n"
      "whose parent is an nginx master: its master is used, so all workers are sampled and\n"
      "reloads followed. Any other pid is sampled alone.\n"
      "Needs root (or CAP_BPF + CAP_PERFMON). Ctrl-C stops early and writes a partial\n"
      "report marked as interrupted (exit status 130).");
  cmd->add_option("--pid", a->pid, "The nginx/Kong master or worker pid to sample");
  cmd->add_option("--prefix", a->prefix,
                  "nginx/Kong prefix: its pid is read from DIR/pids/nginx.pid (Kong) or DIR/logs/nginx.pid (nginx); "
                  "with --container, a path inside the container");
  cmd->add_option("--container", a->container,
                  "A container running Kong / nginx: its name or id for `docker inspect` (DOCKER_HOST "
                  "honoured), or for any runtime (containerd, CRI-O, Kubernetes) its id (12+ hex digits) as "
                  "found in /proc/PID/cgroup; its nginx master is sampled by host pid, its files read "
                  "through /proc/PID/root");
  cmd->add_option("-d,--duration", a->duration, "How long to sample (and load): 10s, 500ms, 2m")
      ->check(duration_value())
      ->capture_default_str();
  cmd->add_option("--url", a->url,
                  "Also drive this URL with the load generator for the duration (without: no load, only "
                  "sampling)");
  const size_t before_load_flags = cmd->get_options().size();
  add_load_flags(cmd, a->load, false,
                 "With --url: also print the latency distribution (50/75/90/99%) on stdout "
                 "(summary.txt always has it)");
  std::vector<CLI::Option*> load_flags;  // only with --url
  for (size_t i = before_load_flags; i < cmd->get_options().size(); ++i) load_flags.push_back(cmd->get_options()[i]);
  cmd->add_option("-F,--freq", a->frequency, "Samples per second per CPU")
      ->transform(count_value("sampling frequency", 1, 100'000))
      ->default_val(99);
  cmd->add_flag("--per-pid", a->per_pid, "Root frame per process: nginx-PID instead of nginx");
  cmd->add_option("-o,--out", a->out,
                  "Output directory (default: kperf-out/YYYYmmdd-HHMMSS-attach-PID); refused when it "
                  "exists and is not empty, unless --force");
  cmd->add_flag("--force", a->force, "Write into an existing non-empty output directory");
  cmd->callback([a, load_flags] {
    if (a->url.empty()) {
      for (const CLI::Option* o : load_flags) {
        if (o->count() > 0) throw UsageError(fmt::format("{} is a load option: it needs --url", o->get_name()));
      }
    }
    set_exit_status(run_attach(*a));
  });
}

}  // namespace kperf

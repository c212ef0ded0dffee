// `kperf profile`: brings up a gateway for a workload (the lab gateway, or Kong itself for
// --version: a local install or Docker's image), drives it with the load generator for N
// runs while sampling its workers with eBPF, and writes flame graphs, folded stacks,
// wrk-style / JSON / Markdown summaries and charts into one directory.
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <fmt/core.h>

#include "common/ports.hpp"
#include "common/run_dir.hpp"
#include "flamegraph/render.hpp"
#include "kperf/report/charts.hpp"
#include "kperf/cli/command.hpp"
#include "kperf/cli/flag_values.hpp"
#include "kperf/gateway/docker_kong_gateway.hpp"
#include "kperf/gateway/driver_kind.hpp"
#include "kperf/gateway/local_kong_gateway.hpp"
#include "kperf/gateway/kong_driver.hpp"
#include "kperf/gateway/kong_select.hpp"
#include "kperf/gateway/lab_gateway.hpp"
#include "kperf/report/profile_compare.hpp"
#include "kperf/run/profile_outputs.hpp"
#include "kperf/report/profile_report.hpp"
#include "kperf/run/profile_run.hpp"
#include "kperf/run/signal_watcher.hpp"
#include "kperf/run/progress.hpp"
#include "kperf/run/workload.hpp"
#include "loadgen/duration.hpp"
#include "profiler/bpf_support.hpp"

namespace kperf {

namespace {

namespace fs = std::filesystem;

struct ProfileArgs {
  std::vector<std::string> workloads;  // empty: kDefaultWorkload; several: compared
  std::optional<int> runs;
  std::string duration;
  std::optional<int> threads;
  std::optional<int> connections;
  std::optional<double> rate;
  int frequency = 99;
  std::string warmup;
  std::string out;
  bool force = false;
  std::optional<DriverKind> driver;  // none: lab, or for --version the Kong found (local, else docker)
  std::vector<std::string> versions;  // Kong versions; several: compared
  std::string kong_prefix;  // the local driver's Kong
  std::string focus;
  int workers = 2;
  std::string lab_dir;
};

fs::path default_out_dir(const std::string& workload) {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
  return fs::path("kperf-out") / fmt::format("{}-{}", stamp, workload);
}

// A private temporary directory, removed with its contents (the Kong driver's files).
struct TempWorkDir {
  fs::path path;
  TempWorkDir() {
    path = common::make_run_dir("kperf-kong");
  }
  ~TempWorkDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  TempWorkDir(const TempWorkDir&) = delete;
  TempWorkDir& operator=(const TempWorkDir&) = delete;
};

// Kong itself (local or docker driver), DB-less with the workload's config pointed at
// the lab's upstream, written by the driver in the format of the Kong it runs.
std::unique_ptr<Gateway> make_kong(const ProfileArgs& a, DriverKind driver, const KongVersionSpec& version,
                                   const Workload& w, int upstream_port, const fs::path& work_dir) {
  KongGatewaySpec spec;
  spec.version = version;
  spec.config = w.kong_config("127.0.0.1", upstream_port);
  spec.declarative_config = work_dir / "kong.json";
  spec.proxy_port = common::free_port();
  spec.status_port = common::free_port();
  spec.worker_processes = a.workers;
  spec.work_dir = work_dir;
  // Readable by Kong's own user too (docker mounts the config into the container).
  fs::permissions(work_dir, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                fs::perms::others_read | fs::perms::others_exec);
  if (driver == DriverKind::docker) {
    DockerOptions docker;
    docker.remove_on_crash = true;  // a container never outlives kperf
    return std::make_unique<DockerKongGateway>(spec, docker);
  }
  LocalOptions lo;
  lo.kong_prefix = a.kong_prefix;
  return std::make_unique<LocalKongGateway>(spec, lo, bounded_runner(std::chrono::minutes(2)));
}

// One profiled subject: a workload on the lab gateway, or on one Kong version.
struct Subject {
  Workload workload;
  RunPlan plan;
  std::optional<KongVersionSpec> version;  // Kong; nullopt: the lab
  DriverKind driver = DriverKind::lab;
  std::string name;    // what a comparison calls it: the workload's name or the version
  std::string label;   // its folder under --out in a comparison
};

// What profiling one subject produced.
struct SubjectRun {
  ProfileResult result;
  SubjectFigures figures;
  fs::path flamegraph;  // empty: no samples, no flame graph
};

// Brings the gateway up for one subject, runs its plan while sampling and writes every
// output of a profile into `out_dir` (which exists).
SubjectRun profile_subject(const ProfileArgs& a, const Subject& s, const fs::path& out_dir,
                           const LabOptions& lab_opts, const std::atomic<bool>& stop, ProgressDisplay& progress) {
  const Workload& workload = s.workload;
  const RunPlan& plan = s.plan;
  SubjectRun run;
  // The load's target is what is sampled: the gateway, or the upstream for a baseline.
  const bool baseline = workload.load().target == LoadSpec::Target::Upstream;
  const bool kong = s.version && !baseline;
  // The lab: its gateway runs the workload, or only its upstream is started (Kong's
  // upstream, the baseline's target).
  LabOptions lo = lab_opts;
  lo.with_gateway = !kong && !baseline;
  LabGateway lab(workload, lo);
  std::optional<TempWorkDir> kong_dir;
  std::unique_ptr<Gateway> kong_gateway;
  if (kong) progress.message("lab upstream starting...");
  lab.start();
  if (kong) {
    kong_dir.emplace();
    kong_gateway = make_kong(a, s.driver, *s.version, workload, lab.lab().upstream_port(), kong_dir->path);
    progress.message(fmt::format("starting Kong {} (driver {})...", s.version->text, to_string(s.driver)));
    kong_gateway->start();
  }
  const Gateway& gateway = kong ? *kong_gateway : static_cast<const Gateway&>(lab);
  const std::string base_url = gateway.proxy_url();
  progress.message(fmt::format("{} at {}, upstream {}; sampling master pid {}", gateway.description(), base_url,
                               lab.lab().upstream_url(), gateway.master_pid()));
  run.result = run_profile(plan, base_url, gateway.master_pid(), stop, progress);

  ReportContext ctx;
  ctx.workload = workload.name();
  ctx.description = workload.description();
  ctx.origin = workload.origin();
  ctx.driver = kong ? fmt::format("{} (Kong {})", to_string(s.driver), s.version->text) : "lab";
  ctx.subject = fmt::format("workload {} ({}), {}", ctx.workload, ctx.description, gateway.description());
  ctx.target_url = base_url;
  ctx.plan = plan;
  if (!a.focus.empty()) ctx.focus = a.focus;
  const SessionOutputs written = write_session_outputs(out_dir, ctx, run.result, gateway, progress);
  run.flamegraph = written.flamegraph;
  run.figures = subject_figures(written.report, run.result, s.name, s.label);
  progress.message(fmt::format("stopping {}; outputs in {}", gateway.description(), out_dir.string()));
  return run;
}

std::string plan_line(const RunPlan& p) {
  return fmt::format("{} run{} x {}, {} threads, {} connections{}, {} Hz{}", p.runs, p.runs == 1 ? "" : "s",
                     loadgen::format_time_s(std::chrono::duration<double>(p.duration).count()), p.load.threads,
                     p.load.connections, p.load.rate > 0 ? fmt::format(", {:.0f} requests/s", p.load.rate) : "",
                     p.frequency,
                     p.warmup.count() > 0
                         ? fmt::format(", warmup {}",
                                       loadgen::format_time_s(std::chrono::duration<double>(p.warmup).count()))
                         : "");
}

// Several subjects: each profiled in turn into OUT/LABEL/ (all of a profile's outputs),
// then the comparison at the top: summary.txt, summary.json, report.md, rps.svg,
// latency.svg and the differential flame graphs against the first subject.
int run_comparison(const ProfileArgs& a, std::vector<Subject>& subjects, const std::string& kind,
                   const fs::path& out_dir, bool created, const LabOptions& lab_opts) {
  double planned = 0;
  for (auto& s : subjects) {
    planned += s.plan.planned_seconds();
    s.plan.label = s.name;  // "key-auth: run 1/3" on the progress display
  }
  SignalWatcher signals;
  ProgressDisplay progress(planned, ::isatty(STDERR_FILENO) == 1);
  progress.message(fmt::format("kperf profile: comparing {} {}s: {}", subjects.size(), kind, [&] {
    std::string names;
    for (const auto& s : subjects) names += (names.empty() ? "" : ", ") + s.name;
    return names;
  }()));

  std::vector<SubjectFigures> figures;
  std::vector<fg::StackTrie> stacks;  // each subject's combined stacks (empty: not run)
  std::vector<fs::path> graphs;
  bool interrupted = false;
  std::error_code ec;
  try {
    for (size_t i = 0; i < subjects.size(); ++i) {
      const Subject& s = subjects[i];
      if (signals.stop().load()) {  // interrupted before this subject's turn
        interrupted = true;
        SubjectFigures none;
        none.name = s.name;
        none.label = s.label;
        none.runs_planned = s.plan.runs;
        figures.push_back(std::move(none));
        stacks.emplace_back();
        graphs.emplace_back();
        continue;
      }
      progress.message(fmt::format("[{}/{}] {} {}: {}, {} starting...", i + 1, subjects.size(), kind, s.name,
                                   plan_line(s.plan), s.version ? "Kong" : "lab gateway"));
      const fs::path dir = out_dir / s.label;
      const bool dir_created = !fs::exists(dir, ec);
      fs::create_directories(dir, ec);
      if (ec) throw UsageError(fmt::format("cannot create output directory '{}': {}", dir.string(), ec.message()));
      LabOptions lo = lab_opts;
      if (!a.lab_dir.empty()) lo.run_dir = fs::path(a.lab_dir) / s.label;
      try {
        SubjectRun r = profile_subject(a, s, dir, lo, signals.stop(), progress);
        interrupted = interrupted || r.result.interrupted;
        figures.push_back(std::move(r.figures));
        stacks.push_back(std::move(r.result.combined));
        graphs.push_back(r.flamegraph);
      } catch (const std::exception& e) {
        // One subject failing (its gateway did not start...) does not lose the others:
        // it is reported as failed and the exit status says so.
        if (dir_created && fs::is_empty(dir, ec)) fs::remove(dir, ec);
        progress.message(fmt::format("kperf: {} {} failed: {}", kind, s.name, e.what()));
        SubjectFigures failed;
        failed.name = s.name;
        failed.label = s.label;
        failed.runs_planned = s.plan.runs;
        failed.error = e.what();
        figures.push_back(std::move(failed));
        stacks.emplace_back();
        graphs.emplace_back();
      }
    }
    interrupted = interrupted || signals.stop().load();

    OutputDir top(out_dir);
    std::vector<std::string> labels;
    for (const auto& s : subjects) labels.push_back(s.label);
    std::vector<DiffOutput> diffs;
    for (const auto& d : diff_outputs(labels)) {
      const size_t k = static_cast<size_t>(std::find(labels.begin(), labels.end(), d.after) - labels.begin());
      if (!(stacks[0].total() > 0) || !(stacks[k].total() > 0)) {
        progress.message(fmt::format("no {}: {} or {} has no samples", d.file, subjects[0].name, subjects[k].name));
        continue;
      }
      const fg::StackTrie diff = comparison_diff(stacks[0], stacks[k]);
      write_graph(top, d.file, diff,
                  fmt::format("kperf profile: {} vs {} (differential){}", subjects[k].name, subjects[0].name,
                              figures[0].interrupted || figures[k].interrupted ? " (interrupted)" : ""),
                  fmt::format("widths: {} ({:.0f} samples); red: more than in {}, blue: less ({}'s {:.0f} samples "
                              "scaled to the same total)",
                              subjects[k].name, stacks[k].total(), subjects[0].name, subjects[0].name,
                              stacks[0].total()));
      diffs.push_back(d);
    }
    write_comparison_charts(top, figures);

    ComparisonContext ctx;
    ctx.kind = kind;
    ctx.driver = to_string(subjects.front().driver);
    for (const auto& s : subjects) {
      if (s.driver != subjects.front().driver) ctx.driver = "per version (see each summary.txt)";
    }
    ctx.plan = plan_line(subjects.front().plan);
    for (const auto& s : subjects) {
      if (plan_line(s.plan) != ctx.plan) ctx.plan = "runs and load as each workload sets them (see its summary.txt)";
    }
    ctx.interrupted = interrupted;
    ctx.diffs = diffs;
    for (size_t i = 0; i < subjects.size(); ++i) {
      if (figures[i].ran) ctx.outputs.push_back(subjects[i].label + "/");
    }
    for (const auto& n : top.names()) ctx.outputs.push_back(n);
    for (const char* n : {"summary.txt", "summary.json", "report.md"}) ctx.outputs.emplace_back(n);
    const Comparison cmp(ctx, figures);
    top.text("summary.txt", cmp.text());
    top.text("summary.json", cmp.json().dump(2) + "\n");
    top.text("report.md", cmp.markdown());

    fmt::print("{}\n", cmp.text());
    for (size_t i = 0; i < subjects.size(); ++i) {
      if (!graphs[i].empty()) {
        fmt::print("kperf: {}: flame graph: {}\n", subjects[i].name, graphs[i].string());
      } else if (figures[i].ran) {
        fmt::print("kperf: {}: no samples recorded: no flame graph (see {})\n", subjects[i].name,
                   (out_dir / subjects[i].label / "summary.txt").string());
      }
    }
    for (const auto& d : diffs) fmt::print("kperf: diff {} vs {}: {}\n", d.after, d.before, (out_dir / d.file).string());
    fmt::print("kperf: comparison: {}\n", (out_dir / "summary.txt").string());
    std::fflush(stdout);
  } catch (...) {  // ~Lab() has stopped nginx; leave no empty output directory behind
    if (created && fs::is_empty(out_dir, ec)) fs::remove(out_dir, ec);
    throw;
  }
  if (interrupted) {
    fmt::print(stderr, "kperf: interrupted: partial comparison in {}\n", out_dir.string());
    const int signal = signals.signal();
    return 128 + (signal != 0 ? signal : SIGINT);
  }
  const auto failed = std::count_if(figures.begin(), figures.end(), [](const auto& f) { return !f.error.empty(); });
  if (failed > 0) {
    fmt::print(stderr, "kperf: {} of {} {}s failed (see {})\n", failed, subjects.size(), kind,
               (out_dir / "summary.txt").string());
    return 2;
  }
  return 0;
}

int run_profile_command(const ProfileArgs& a) {
  if (a.driver == DriverKind::lab && !a.versions.empty()) {
    throw UsageError("--driver lab runs the built-in lab gateway, which has no version: drop --driver to run Kong "
                     "--version V (a local Kong, else Docker), or pick --driver local or docker");
  }
  if (a.driver && *a.driver != DriverKind::lab && a.versions.empty()) {
    throw UsageError(
        fmt::format("--driver {} needs --version (a Kong release such as 3.4.2, or git:REF)", to_string(*a.driver)));
  }
  std::vector<std::string> workload_names = a.workloads;
  if (workload_names.empty()) workload_names.emplace_back(kDefaultWorkload);
  if (workload_names.size() > 1 && a.versions.size() > 1) {
    throw UsageError(
        "compare either workloads or versions: several --workload with one --version, or several --version "
        "with one --workload");
  }
  if (!a.kong_prefix.empty() && (a.versions.empty() || a.driver == DriverKind::docker)) {
    throw UsageError("--kong-prefix names a local Kong: it needs --version (and no --driver docker)");
  }
  std::vector<KongVersionSpec> versions;
  for (const auto& v : a.versions) versions.push_back(parse_version_spec(v));
  PlanOverrides o;
  o.runs = a.runs;
  if (!a.duration.empty()) o.duration = loadgen::parse_duration(a.duration);
  if (!a.warmup.empty()) o.warmup = loadgen::parse_duration(a.warmup);
  o.threads = a.threads;
  o.connections = a.connections;
  o.rate = a.rate;
  o.frequency = a.frequency;
  const std::string kind = versions.size() > 1 ? "version" : "workload";
  std::vector<Subject> subjects;
  for (const auto& name : workload_names) {
    Workload w = Workload::load(name);
    RunPlan plan = make_plan(w, o);
    if (versions.size() > 1) {
      for (const auto& v : versions) subjects.push_back(Subject{w, plan, v, {}, v.text, {}});
    } else {
      std::optional<KongVersionSpec> v;
      if (!versions.empty()) v = versions.front();
      std::string subject_name = w.name();
      subjects.push_back(Subject{std::move(w), std::move(plan), std::move(v), {}, std::move(subject_name), {}});
    }
  }
  const bool compare = subjects.size() > 1;
  std::vector<std::string> names;
  for (const auto& s : subjects) names.push_back(s.name);
  const std::vector<std::string> labels = subject_labels(names);
  for (size_t i = 0; i < subjects.size(); ++i) subjects[i].label = labels[i];

  fs::path out_dir;
  if (!a.out.empty()) {
    out_dir = a.out;
  } else if (!compare) {
    out_dir = default_out_dir(subjects.front().workload.name());
  } else {
    std::string joined;
    for (const auto& l : labels) joined += (joined.empty() ? "" : "-vs-") + l;
    out_dir = default_out_dir(joined);
  }
  check_out_dir(out_dir, a.force);
  if (const std::string missing = prof::missing_bpf_support(); !missing.empty()) {
    throw UsageError(fmt::format("profile samples the gateway with eBPF: {}", missing));
  }
  LabOptions lab_opts;
  lab_opts.workers = a.workers;
  if (!a.lab_dir.empty()) {
    lab_opts.run_dir = a.lab_dir;
    lab_opts.keep_run_dir = true;
  }
  check_lab_prerequisites(lab_opts);
  // Each subject's gateway: the lab (its limits checked now), or a Kong driver (the one
  // given, else the one that finds the version), checked before anything starts.
  LocalOptions local;
  local.kong_prefix = a.kong_prefix;
  for (auto& s : subjects) {
    if (!s.version) {
      s.driver = DriverKind::lab;
      if (s.workload.load().target == LoadSpec::Target::Gateway) s.workload.check_lab();
      continue;
    }
    s.driver = a.driver ? *a.driver : choose_kong_driver(*s.version, local, bounded_runner(std::chrono::seconds(60)));
    if (s.driver == DriverKind::docker) check_docker_available(default_runner());  // names the alternatives
    if (s.driver == DriverKind::local && local_kong_candidates(local).empty()) {
      (void)find_local_kong(local);  // throws naming the alternatives: there is no Kong at all
    }
  }
  std::error_code ec;
  const bool created = !fs::exists(out_dir, ec);
  fs::create_directories(out_dir, ec);
  if (ec) throw UsageError(fmt::format("cannot create output directory '{}': {}", out_dir.string(), ec.message()));
  if (compare) return run_comparison(a, subjects, kind, out_dir, created, lab_opts);

  const Subject& subject = subjects.front();
  const RunPlan& plan = subject.plan;
  SignalWatcher signals;
  ProgressDisplay progress(plan.planned_seconds(), ::isatty(STDERR_FILENO) == 1);
  progress.message(fmt::format("kperf profile: workload {}, {} run{} x {}, {} starting...", subject.workload.name(),
                               plan.runs, plan.runs == 1 ? "" : "s",
                               loadgen::format_time_s(std::chrono::duration<double>(plan.duration).count()),
                               subject.version ? fmt::format("Kong {} (driver {})", subject.version->text,
                                                             to_string(subject.driver))
                                               : std::string("lab gateway")));

  fs::path flamegraph;
  bool interrupted = false;
  try {
    const SubjectRun run = profile_subject(a, subject, out_dir, lab_opts, signals.stop(), progress);
    interrupted = run.result.interrupted;
    flamegraph = run.flamegraph;
  } catch (...) {  // ~Lab() has stopped nginx; leave no empty output directory behind
    if (created && fs::is_empty(out_dir, ec)) fs::remove(out_dir, ec);
    throw;
  }
  // A signal after the runs (while the outputs were written): they are complete, and the
  // exit status still says kperf was stopped by it (128 + signal).
  const int signal = signals.signal();
  return finish_report(out_dir, flamegraph, interrupted, signal);
}

}  // namespace

void register_profile(CLI::App& app) {
  auto a = std::make_shared<ProfileArgs>();
  auto* cmd = app.add_subcommand(
      "profile",
      "Profile a gateway under load: start the lab gateway (nginx + Lua, Kong-shaped) for a\n"
      "workload, or Kong itself with --version V (a local Kong whose `kong version` is V, else\n"
      "Docker's kong:V; the lab then starts only the upstream), drive it with the load\n"
      "generator for N runs while sampling its worker processes with eBPF, and write into\n"
      "one directory: profile.folded + flamegraph.svg\n"
      "(all runs), run-N.folded + run-N.svg, summary.txt (wrk-style per run + combined),\n"
      "summary.json, report.md (Markdown table), rps.svg, latency.svg and error.log.\n"
      "Comparison: --workload repeated (or --version repeated: Kong versions)\n"
      "profiles each subject in turn with the same options into OUT/LABEL/ (LABEL: the\n"
      "workload name or version, made a safe and unique folder name), then writes at the\n"
      "top of OUT: summary.txt, summary.json and report.md (per subject RPS avg/min/max,\n"
      "latency avg/p50/p90/p99/max, requests, errors, samples, top plugins' CPU shares, each\n"
      "with its change against the first subject), rps.svg, latency.svg and diff.svg (the\n"
      "second subject against the first, normalised like `kperf diff -n`); with more than\n"
      "two subjects one diff-LABEL.svg per subject after the first. Several workloads and\n"
      "several versions at once are refused (compare one dimension at a time).\n"
      "Needs root (or CAP_BPF + CAP_PERFMON). Ctrl-C stops early and writes a partial\n"
      "report marked as interrupted (exit status 130); in a comparison the subjects done\n"
      "keep their complete outputs and the top-level report says interrupted.");
  cmd->add_option("--workload", a->workloads,
                  "Workload: a NAME from scripts/lab/workloads (e.g. key-auth, single-route) or a "
                  "YAML file (default: key-auth). Repeat it to compare workloads")
      ->allow_extra_args(false);
  cmd->add_option("--runs", a->runs, "Number of runs, combined in the results (default: the workload's, 3)")
      ->transform(count_value("number of runs", 1, 1000));
  cmd->add_option("-d,--duration", a->duration, "Duration of each run: 10s, 500ms, 2m (default: the workload's)")
      ->check(duration_value());
  cmd->add_option("-t,--threads", a->threads, "Load generator threads (default: the workload's)")
      ->transform(count_value("number of threads", 1, 1024));
  cmd->add_option("-c,--connections", a->connections, "Open connections in total (default: the workload's)")
      ->transform(count_value("number of connections", 1, 1'000'000));
  cmd->add_option("-R,--rate", a->rate, "Constant rate in requests/s over all connections, like wrk2 -R: 20000 "
                                        "or 20k (default: the workload's; none: as fast as possible)")
      ->transform(count_value("rate", 1, UINT64_MAX));
  cmd->add_option("-F,--freq", a->frequency, "Samples per second per CPU")
      ->transform(count_value("sampling frequency", 1, 100'000))
      ->default_val(99);
  cmd->add_option("--warmup", a->warmup,
                  "Load before the first run, not measured (its samples only warm kperf's caches; e.g. 5s)")
      ->check(duration_value(true));
  cmd->add_option("-o,--out", a->out,
                  "Output directory (default: kperf-out/YYYYmmdd-HHMMSS-WORKLOAD, or -A-vs-B for a "
                  "comparison); refused when it "
                  "exists and is not empty, unless --force");
  cmd->add_flag("--force", a->force, "Write into an existing non-empty output directory");
  cmd->add_option_function<std::string>(
         "--driver", [a](const std::string& name) { a->driver = driver_kinds().at(name); },
         "How the gateway is run (default: lab; with --version, a local Kong of that version, else "
         "Docker): lab (the built-in lab gateway), local (an installed Kong or source tree: "
         "--kong-prefix, `kong` on the PATH, /usr/local, /usr/local/kong, /opt/kong, /usr) or docker "
         "(Kong's image kong:VERSION, needs a Docker engine)")
      ->check(CLI::IsMember(driver_kinds()));
  cmd->add_option("--version", a->versions,
                  "Profile Kong itself at this version: a release (2.4.0, 3.4.2) or git:REF. The workload's "
                  "declarative config is written in the format that Kong accepts. Repeat it to compare versions "
                  "(on one workload)")
      ->allow_extra_args(false);
  cmd->add_option("--kong-prefix", a->kong_prefix,
                  "The local Kong for --version: its install prefix (holding bin/kong) or source tree");
  cmd->add_option("--focus", a->focus,
                  "Also write focus-PLUGIN.folded / .svg: only the stacks through that Kong plugin's frames");
  cmd->add_option("--workers", a->workers, "Gateway worker processes")->default_val(2)->check(CLI::Range(1, 64));
  cmd->add_option("--lab-dir", a->lab_dir,
                  "Run the lab gateway in this directory and keep it afterwards (confs, access and "
                  "error logs); default: a temporary directory, removed");
  cmd->callback([a] {
    set_exit_status(run_profile_command(*a));
  });
}

}  // namespace kperf

// summary.txt, summary.json and report.md of a `kperf profile` session.
#include "kperf/report/profile_report.hpp"

#include <algorithm>
#include <csignal>
#include <cstdio>

#include <fmt/core.h>

#include "flamegraph/render.hpp"
#include "kperf/report/charts.hpp"
#include "kperf/cli/command.hpp"

#include "loadgen/duration.hpp"

namespace kperf {

namespace {

std::string us(double v) { return loadgen::format_time_us(v); }
std::string us(uint64_t v) { return loadgen::format_time_us(static_cast<double>(v)); }
double secs(std::chrono::microseconds d) { return std::chrono::duration<double>(d).count(); }

void add_summary(prof::RecordSummary& to, const prof::RecordSummary& s) {
  to.bpf.samples += s.bpf.samples;
  to.bpf.lost += s.bpf.lost;
  to.bpf.kstack_errors += s.bpf.kstack_errors;
  to.bpf.ustack_errors += s.bpf.ustack_errors;
  to.stacks.samples += s.stacks.samples;
  to.stacks.user_stacks += s.stacks.user_stacks;
  to.stacks.unwound_to_root += s.stacks.unwound_to_root;
  to.stacks.unwind_failures += s.stacks.unwind_failures;
  for (size_t i = 0; i < prof::kUnwindCauses; ++i) to.stacks.unwind_causes[i] += s.stacks.unwind_causes[i];
  to.stacks.malformed += s.stacks.malformed;
  to.stacks.maps_rereads += s.stacks.maps_rereads;
  to.stacks.processes.insert(s.stacks.processes.begin(), s.stacks.processes.end());
  to.lua.vm_samples += s.lua.vm_samples;
  to.lua.lua_samples += s.lua.lua_samples;
  to.lua.trace_samples += s.lua.trace_samples;
  to.lua.captured += s.lua.captured;
  to.lua.walk_errors += s.lua.walk_errors;
  to.lua.unreadable += s.lua.unreadable;
  for (size_t i = 0; i < prof::kLuaSpliceCauses; ++i) to.lua.causes[i] += s.lua.causes[i];
  for (const auto& p : s.lua.problems)
    if (std::find(to.lua.problems.begin(), to.lua.problems.end(), p) == to.lua.problems.end())
      to.lua.problems.push_back(p);
  to.seconds += s.seconds;
}

// The sampler's summary line, after one line per process whose LuaJIT VM was not read.
std::string sampler_line(const prof::RecordSummary& s) {
  std::string out;
  for (const auto& line : prof::lua_problem_lines(s)) out += "Sampler: " + line + "\n";
  return out + "Sampler: " + prof::format_summary(s);
}

nlohmann::json unwind_causes_json(const prof::AssemblerStats& st) {
  nlohmann::json o = nlohmann::json::object();
  for (size_t i = 0; i < prof::kUnwindCauses; ++i)
    o[std::string(prof::unwind_cause_name(static_cast<prof::UnwindCause>(i)))] = st.unwind_causes[i];
  return o;
}

nlohmann::json lua_causes_json(const prof::LuaSpliceStats& l) {
  nlohmann::json o = nlohmann::json::object();
  for (size_t i = 0; i < prof::kLuaSpliceCauses; ++i)
    o[std::string(prof::lua_splice_cause_name(static_cast<prof::LuaSpliceCause>(i)))] = l.causes[i];
  return o;
}

nlohmann::json sampler_json(const prof::RecordSummary& s) {
  return {{"samples", s.stacks.samples},
          {"bpf_samples", s.bpf.samples},
          {"lost", s.bpf.lost},
          {"kernel_stack_errors", s.bpf.kstack_errors},
          {"user_stack_errors", s.bpf.ustack_errors},
          {"user_stacks", s.stacks.user_stacks},
          {"unwound_to_root", s.stacks.unwound_to_root},
          {"unwind_failures", s.stacks.unwind_failures},
          {"unwind_failures_by_cause", unwind_causes_json(s.stacks)},
          {"malformed", s.stacks.malformed},
          {"processes", s.stacks.processes.size()},
          {"lua",
           {{"vm_samples", s.lua.vm_samples},
            {"lua_samples", s.lua.lua_samples},
            {"trace_samples", s.lua.trace_samples},
            {"captured_vm_state", s.lua.captured},
            {"walk_errors", s.lua.walk_errors},
            {"unreadable_vm_samples", s.lua.unreadable},
            {"unreadable_vms", s.lua.problems},
            {"failures_by_cause", lua_causes_json(s.lua)}}},
          {"seconds", s.seconds},
          {"end_reason", std::string(prof::end_reason_name(s.end_reason))}};
}

}  // namespace

ProfileReport::ProfileReport(ReportContext context, const ProfileResult& result)
    : ctx_(std::move(context)), result_(result) {
  std::vector<loadgen::LoadResult> loads;
  for (const auto& r : result_.runs) {
    loads.push_back(r.load);
    add_summary(sampling_, r.record);
  }
  combined_ = loadgen::combine(loads);
  sampling_.end_reason = result_.interrupted ? prof::EndReason::Interrupted : prof::EndReason::Duration;
  plugins_ = analyze_plugins(result_.combined);
}

std::string ProfileReport::title() const {
  return fmt::format("kperf profile: {} \u2014 {:.0f} req/s ({} run{}{})", ctx_.workload, combined_.rps_mean,
                     result_.runs.size(), result_.runs.size() == 1 ? "" : "s",
                     result_.interrupted ? ", interrupted" : "");
}

std::string ProfileReport::run_header(const RunResult& run) const {
  return fmt::format("### Run {}/{}{}\n", run.index, result_.runs_planned,
                     run.interrupted ? " (interrupted)" : "");
}

std::string ProfileReport::summary_text() const {
  const bool load = ctx_.plan.with_load;
  const std::string load_to = load ? "load to " + ctx_.target_url : std::string("no load");
  std::string out = fmt::format("{}: {}, {}\n", ctx_.command, ctx_.subject, load_to);
  if (load) {
    out += fmt::format("{} runs x {}, {} threads, {} connections{}, sampling at {} Hz{}\n", ctx_.plan.runs,
                       loadgen::format_time_s(secs(ctx_.plan.duration)), ctx_.plan.load.threads,
                       ctx_.plan.load.connections,
                       ctx_.plan.load.rate > 0 ? fmt::format(", {:.0f} requests/s", ctx_.plan.load.rate) : "",
                       ctx_.plan.frequency,
                       ctx_.plan.warmup.count() > 0
                           ? fmt::format(", warmup {}", loadgen::format_time_s(secs(ctx_.plan.warmup)))
                           : "");
  } else {
    out += fmt::format("sampling for {} at {} Hz\n", loadgen::format_time_s(secs(ctx_.plan.duration)),
                       ctx_.plan.frequency);
  }
  if (result_.interrupted) {
    size_t complete = 0;
    for (const auto& r : result_.runs) complete += r.interrupted ? 0 : 1;
    out += fmt::format("INTERRUPTED: {} of {} runs completed\n", complete, result_.runs_planned);
  }
  out += "\n";
  for (const auto& run : result_.runs) {
    const auto config = ctx_.plan.load_for(ctx_.target_url, ctx_.plan.duration);
    out += run_header(run);
    if (load) {
      out += loadgen::format_text_header(config);
      out += loadgen::format_text_result(config, run.load, true);
    }
    out += sampler_line(run.record) + "\n\n";
  }
  const auto& c = combined_;
  if (load) {  // without load the run above is the whole result
    out += fmt::format("### Combined result ({} run{})\n", c.runs, c.runs == 1 ? "" : "s");
    if (c.runs == 0) {
      out += "no run completed\n";
    } else {
      out += fmt::format("RPS     Avg: {:.2f}\n", c.rps_mean);
      out += fmt::format("Latency Avg: {}    Max: {}\n", us(c.latency.mean()), us(c.latency.max()));
      out += fmt::format("Latency p50: {}    p90: {}    p99: {}\n", us(c.latency.percentile(50)),
                         us(c.latency.percentile(90)), us(c.latency.percentile(99)));
      out += loadgen::format_combined_text(c);
    }
    out += sampler_line(sampling_) + "\n";
  }
  if (plugins_.total > 0) {
    out += "\n### CPU per plugin and phase (% of all samples)\n";
    out += plugins_.to_text();
  }
  if (!result_.worker_changes.empty()) {
    out += "\n### Worker processes changed while sampling (reloads, crashed workers)\n";
    for (const auto& line : result_.worker_changes) out += line + "\n";
  }
  if (!ctx_.error_log_problems.empty()) {
    out += fmt::format("\n### Gateway error log: {} line(s) at [error] or worse (see error.log)\n",
                       ctx_.error_log_problems.size());
    for (size_t i = 0; i < ctx_.error_log_problems.size() && i < 10; ++i) {
      out += ctx_.error_log_problems[i] + "\n";
    }
  }
  return out;
}

nlohmann::json ProfileReport::summary_json() const {
  nlohmann::json j;
  j["workload"] = {{"name", ctx_.workload}, {"description", ctx_.description}, {"file", ctx_.origin}};
  j["driver"] = ctx_.driver;
  j["target_url"] = ctx_.target_url;
  j["plan"] = {{"runs", ctx_.plan.runs},
               {"duration_s", secs(ctx_.plan.duration)},
               {"warmup_s", secs(ctx_.plan.warmup)},
               {"frequency_hz", ctx_.plan.frequency},
               {"load", ctx_.plan.with_load
                            ? loadgen::config_json(ctx_.plan.load_for(ctx_.target_url, ctx_.plan.duration))
                            : nlohmann::json()}};  // null: only sampling
  size_t complete = 0;
  for (const auto& r : result_.runs) complete += r.interrupted ? 0 : 1;
  j["interrupted"] = result_.interrupted;
  j["runs_planned"] = result_.runs_planned;
  j["runs_completed"] = complete;
  if (result_.warmup) j["warmup"] = loadgen::result_json(*result_.warmup);
  auto runs = nlohmann::json::array();
  for (const auto& r : result_.runs) {
    runs.push_back({{"index", r.index},
                    {"interrupted", r.interrupted},
                    {"load", ctx_.plan.with_load ? loadgen::result_json(r.load) : nlohmann::json()},
                    {"sampler", sampler_json(r.record)},
                    {"folded", fmt::format("run-{}.folded", r.index)},
                    {"flamegraph", fmt::format("run-{}.svg", r.index)}});
  }
  j["runs"] = std::move(runs);
  if (ctx_.plan.with_load) {
    j["combined"] = loadgen::combined_json(combined_);
    j["combined"]["latency_percentiles_us"] = {{"p50", combined_.latency.percentile(50)},
                                               {"p90", combined_.latency.percentile(90)},
                                               {"p99", combined_.latency.percentile(99)},
                                               {"max", combined_.latency.max()}};
  } else {
    j["combined"] = nullptr;
  }
  j["sampler"] = sampler_json(sampling_);
  j["plugins"] = plugins_.to_json();
  if (ctx_.focus) j["focus"] = *ctx_.focus;
  j["worker_changes"] = result_.worker_changes;
  j["error_log_problems"] = ctx_.error_log_problems;
  j["outputs"] = ctx_.outputs;
  return j;
}

std::string ProfileReport::markdown() const {
  const auto& c = combined_;
  std::string out = fmt::format("### {}: `{}`\n\n", ctx_.command, ctx_.workload);
  if (!ctx_.description.empty()) out += fmt::format("{}\n\n", ctx_.description);
  if (result_.interrupted) {
    size_t complete = 0;
    for (const auto& r : result_.runs) complete += r.interrupted ? 0 : 1;
    out += fmt::format("> **Interrupted**: {} of {} runs completed.\n\n", complete, result_.runs_planned);
  }
  if (!ctx_.plan.with_load) {
    out += "| target | duration | sampling | samples | lost | processes |\n|---|---:|---:|---:|---:|---:|\n";
    out += fmt::format("| `{}` | {} | {} Hz | {} | {} | {} |\n", ctx_.origin,
                       loadgen::format_time_s(sampling_.seconds), ctx_.plan.frequency, sampling_.stacks.samples,
                       sampling_.bpf.lost, sampling_.stacks.processes.size());
    if (plugins_.total > 0) out += "\n#### CPU per plugin and phase (% of all samples)\n\n" + plugins_.to_markdown();
    return out;
  }
  out += "| workload | driver | runs | RPS avg | RPS min | RPS max | latency avg | p50 | p90 | p99 | max | samples |\n";
  out += "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  out += fmt::format(
      "| `{}` | {} | {} x {} | {:.2f} | {:.2f} | {:.2f} | {} | {} | {} | {} | {} | {} |\n", ctx_.workload,
      ctx_.driver, c.runs, loadgen::format_time_s(secs(ctx_.plan.duration)), c.rps_mean, c.rps_min, c.rps_max,
      us(c.latency.mean()), us(c.latency.percentile(50)), us(c.latency.percentile(90)),
      us(c.latency.percentile(99)), us(c.latency.max()), sampling_.stacks.samples);
  out += fmt::format("\n{} threads, {} connections{}, sampling at {} Hz; {} requests, {} errors, {} samples lost.\n",
                     ctx_.plan.load.threads, ctx_.plan.load.connections,
                     ctx_.plan.load.rate > 0 ? fmt::format(", {:.0f} requests/s", ctx_.plan.load.rate) : "",
                     ctx_.plan.frequency, c.requests, c.errors.socket_total() + c.errors.status,
                     sampling_.bpf.lost);
  if (plugins_.total > 0) {
    out += "\n#### CPU per plugin and phase (% of all samples)\n\n";
    out += plugins_.to_markdown();
  }
  return out;
}

namespace fs = std::filesystem;

int finish_report(const fs::path& out_dir, const fs::path& flamegraph, bool partial, int signal) {
  if (!flamegraph.empty()) {
    fmt::print("kperf: flame graph: {}\n", flamegraph.string());
  } else {
    fmt::print("kperf: no samples recorded: no flame graph (see {})\n", (out_dir / "summary.txt").string());
  }
  fmt::print("kperf: summary: {}\n", (out_dir / "summary.txt").string());
  std::fflush(stdout);
  if (!partial && signal == 0) return 0;
  if (partial) {
    fmt::print(stderr, "kperf: interrupted: partial report in {}\n", out_dir.string());
  } else {
    fmt::print(stderr, "kperf: stopped by signal {} once the runs were over: complete report in {}\n", signal,
               out_dir.string());
  }
  return 128 + (signal != 0 ? signal : SIGINT);  // 130 for Ctrl-C, 143 for SIGTERM
}

void write_graph(OutputDir& out, const std::string& name, const fg::StackTrie& trie, const std::string& title,
                 const std::string& subtitle) {
  if (trie.total() <= 0) return;  // nothing to draw
  fg::RenderOptions ropts;
  ropts.svg.title = title;
  ropts.svg.subtitle = subtitle;
  ropts.svg.palette = fg::Palette::Lua;
  out.write(name, [&](std::ostream& o) { fg::render(trie, ropts, o); });
}

void write_load_charts(OutputDir& out, const std::string& name, const ProfileResult& result,
                       const ProfileReport& report) {
  if (result.runs.empty()) return;
  charts::RpsSeries rps{name, {}};
  std::vector<charts::LatencySeries> lat;
  const auto points = [](const loadgen::Histogram& h) {
    std::vector<charts::LatencyPoint> p;
    for (double q : {50.0, 90.0, 99.0, 99.9}) p.push_back({q, static_cast<double>(h.percentile(q))});
    p.push_back({100, static_cast<double>(h.max())});
    return p;
  };
  for (const auto& run : result.runs) {
    rps.runs.push_back(run.load.rps());
    lat.push_back({fmt::format("run {}", run.index), points(run.load.latency)});
  }
  lat.push_back({"combined", points(report.combined().latency)});
  out.text("rps.svg", charts::rps_chart({rps}, {fmt::format("Requests/s per run \u2014 {}", name)}));
  out.text("latency.svg", charts::latency_chart(lat, {fmt::format("Latency \u2014 {}", name)}));
}

}  // namespace kperf

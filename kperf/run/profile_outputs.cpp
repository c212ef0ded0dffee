// One writer for the outputs of `kperf profile` and `kperf attach`.
#include "kperf/run/profile_outputs.hpp"

#include <fmt/core.h>

#include "flamegraph/folded.hpp"
#include "kperf/report/plugin_analysis.hpp"
#include "kperf/report/pprof_export.hpp"

namespace kperf {

SessionOutputs write_session_outputs(const std::filesystem::path& out_dir, ReportContext ctx,
                                     const ProfileResult& result, const Gateway& gateway, ProgressDisplay& progress) {
  progress.message(fmt::format("writing outputs to {} ...", out_dir.string()));
  OutputDir out(out_dir);
  std::filesystem::path flamegraph;
  ctx.error_log_problems = gateway.error_log_problems();
  if (const auto log = gateway.error_log()) out.text("error.log", *log);

  // Graph titles need the combined RPS: a report without the outputs list first.
  const ProfileReport pre(ctx, result);
  const std::string subtitle =
      fmt::format("{}, {} Hz, {} samples{}", gateway.description(), ctx.plan.frequency, pre.sampling().stacks.samples,
                  result.interrupted ? " (interrupted)" : "");
  for (const auto& r : result.runs) {
    out.write(fmt::format("run-{}.folded", r.index), [&](std::ostream& o) { fg::write_folded(r.stacks, o); });
    write_graph(out, fmt::format("run-{}.svg", r.index), r.stacks,
                ctx.plan.with_load
                    ? fmt::format("{}: {} \u2014 run {} \u2014 {:.0f} req/s{}", ctx.command, ctx.workload, r.index,
                                  r.load.rps(), r.interrupted ? " (interrupted)" : "")
                    : fmt::format("{}: {} \u2014 run {}", ctx.command, ctx.workload, r.index),
                subtitle);
  }
  out.write("profile.folded", [&](std::ostream& o) { fg::write_folded(result.combined, o); });
  {
    PprofMeta meta;
    meta.frequency_hz = ctx.plan.frequency;
    meta.start_unix_ns = result.start_unix_ns;
    meta.comments.push_back(fmt::format("{}: {} ({})", ctx.command, ctx.workload, gateway.description()));
    for (const auto& r : result.runs) {
      meta.seconds += r.record.seconds;
      meta.comments.push_back(fmt::format("run {}: {}", r.index, prof::format_summary(r.record)));
    }
    for (const auto& c : result.worker_changes) meta.comments.push_back(c);
    const std::string pb = stacks_pprof_gz(result.combined, result.pprof.threads, result.pprof.origins, meta);
    out.write("profile.pb.gz", [&](std::ostream& o) { o.write(pb.data(), static_cast<std::streamsize>(pb.size())); });
  }
  write_graph(out, "flamegraph.svg", result.combined,
              ctx.plan.with_load ? pre.title() : fmt::format("{}: {}", ctx.command, ctx.workload), subtitle);
  if (result.combined.total() > 0) flamegraph = out.path("flamegraph.svg");
  if (ctx.focus) {
    const fg::StackTrie focused = focus(result.combined, *ctx.focus);
    if (focused.total() <= 0) {
      progress.message(fmt::format("--focus {}: no sampled stack runs that plugin's code", *ctx.focus));
    }
    out.write(fmt::format("focus-{}.folded", *ctx.focus), [&](std::ostream& o) { fg::write_folded(focused, o); });
    write_graph(out, fmt::format("focus-{}.svg", *ctx.focus), focused,
                fmt::format("{}: {} \u2014 plugin {}", ctx.command, ctx.workload, *ctx.focus), subtitle);
  }
  if (ctx.plan.with_load) write_load_charts(out, ctx.workload, result, pre);
  // The reports last: they list every output written before them.
  ctx.outputs = out.names();
  for (const char* n : {"summary.txt", "summary.json", "report.md"}) ctx.outputs.emplace_back(n);
  SessionOutputs written{flamegraph, ProfileReport(ctx, result)};
  out.text("summary.txt", written.report.summary_text());
  out.text("summary.json", written.report.summary_json().dump(2) + "\n");
  out.text("report.md", written.report.markdown());
  return written;
}

}  // namespace kperf

// `kperf collapse`: `perf script` text -> folded stacks, the same bytes as
// stackcollapse-perf.pl with the same options.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <cerrno>
#include <cstring>

#include <fmt/core.h>

#include "flamegraph/collapse_perf.hpp"
#include "kperf/cli/command.hpp"
#include "kperf/cli/output_file.hpp"

namespace kperf {

namespace {

struct CollapseArgs {
  std::string input = "-";
  std::string output = "-";
  bool all = false;
  fg::CollapseOptions options;
};

void run_collapse(const CollapseArgs& args) {
  fg::CollapseOptions options = args.options;
  if (args.all) options.set_all();

  std::ifstream file;
  std::istream* in = &std::cin;
  if (args.input != "-" && !args.input.empty()) {
    std::error_code ec;
    if (std::filesystem::is_directory(args.input, ec)) {
      throw UsageError(fmt::format("cannot read {}: it is a directory", args.input));
    }
    file.open(args.input, std::ios::binary);
    if (!file) throw UsageError(fmt::format("cannot open {}: {}", args.input, std::strerror(errno)));
    in = &file;
  }
  OutputFile out(args.output);
  const fg::CollapseStats stats = fg::collapse_perf_script(*in, out.stream(), options);
  out.commit();
  if (stats.skipped_events > 0 && args.options.event_filter.empty()) {
    fmt::print(stderr,
               "kperf: note: collapsed only events of type '{}' (the first seen); {} samples of other "
               "types skipped, choose with --event-filter\n",
               stats.event, stats.skipped_events);
  }
}

}  // namespace

void register_collapse(CLI::App& app) {
  auto args = std::make_shared<CollapseArgs>();
  auto* cmd = app.add_subcommand(
      "collapse",
      "Collapse `perf script` output into folded stacks (\"root;caller;...;leaf COUNT\"), byte for "
      "byte what FlameGraph's stackcollapse-perf.pl prints with the same options. Samples are "
      "weighted by their period; only the first event type seen is collapsed unless "
      "--event-filter says otherwise.");
  cmd->add_option("file", args->input, "perf script text to read; '-' or none: standard input")
      ->option_text("FILE");
  cmd->add_option("-o,--output", args->output, "write the folded stacks to FILE ('-': standard output)")
      ->option_text("FILE");
  cmd->add_flag("--pid", args->options.pid, "root frame is COMM-PID ('?' when perf printed no PID)");
  cmd->add_flag("--tid", args->options.tid, "root frame is COMM-PID/TID (wins over --pid)");
  cmd->add_flag("--kernel", args->options.kernel, "append _[k] to kernel frames");
  cmd->add_flag("--jit", args->options.jit, "append _[j] to JIT frames (from /tmp/perf-PID.map)");
  cmd->add_flag("--all", args->all, "all annotations: --kernel and --jit");
  cmd->add_flag("--addrs", args->options.addrs,
                "name frames without a symbol [MODULE <ADDR>] instead of [MODULE]");
  cmd->add_option("--event-filter", args->options.event_filter,
                  "collapse only samples of this event (e.g. cycles); default: the first event type "
                  "in the input")
      ->option_text("EVENT");
  cmd->callback([args] { run_collapse(*args); });
}

}  // namespace kperf

// `kperf diff BEFORE AFTER`: a differential flame graph of two folded profiles (like
// difffolded.pl | flamegraph.pl): widths from AFTER, red where it grew, blue where it
// shrank; or, with --folded, difffolded.pl's two-column folded text.
#include <fmt/core.h>

#include "flamegraph/diff.hpp"
#include "flamegraph/folded.hpp"
#include "flamegraph/render.hpp"
#include "kperf/cli/command.hpp"
#include "kperf/cli/output_file.hpp"
#include "kperf/cli/render_flags.hpp"

namespace kperf {

void register_diff(CLI::App& app) {
  struct State {
    fg::RenderOptions opts;
    fg::RenderFlags flags;
    std::string before;
    std::string after;
    std::string output = "-";
    bool normalize = false;
    bool strip_hex = false;
    bool folded = false;
    bool reverse = false;
  };
  auto st = std::make_shared<State>();
  auto* cmd = app.add_subcommand(
      "diff",
      "Differential flame graph of two folded profiles (like difffolded.pl | flamegraph.pl):\n"
      "box widths from AFTER, red where AFTER grew, blue where it shrank (saturation by the\n"
      "change of the stacks ending in the box), the change in every tooltip.");
  cmd->add_option("before", st->before, "Folded stacks before (\"-\": stdin)")->required();
  cmd->add_option("after", st->after, "Folded stacks after")->required();
  cmd->add_option("-o,--output", st->output, "Output file (\"-\": stdout); written only on success")
      ->capture_default_str();
  cmd->add_flag("-n,--normalize", st->normalize,
                "Scale BEFORE's counts so both totals match (difffolded.pl -n)");
  cmd->add_flag("-s,--strip-hex", st->strip_hex,
                "Replace hex numbers (0x...) in frames so addresses do not split stacks "
                "(difffolded.pl -s)");
  cmd->add_flag("--folded", st->folded,
                "Write the merged two-column folded text (\"stack BEFORE AFTER\") instead of a graph");
  cmd->add_flag("--reverse", st->reverse, "Reverse every stack (leaf first)");
  add_render_flags(cmd, st->opts, st->flags, true);
  cmd->callback([st] {
    if (st->before == "-" && st->after == "-") {
      throw UsageError("only one of BEFORE and AFTER can be stdin (-)");
    }
    fg::apply_flags(st->flags, st->opts);
    if (st->opts.svg.title.empty()) st->opts.svg.title = "Differential Flame Graph";
    fg::FoldedOptions fo;
    fo.reverse = st->reverse;
    fo.strip_hex = st->strip_hex;
    fg::StackTrie before;
    fg::StackTrie after;
    check_folded_stats(read_folded_files({st->before}, before, fo), st->before);
    check_folded_stats(read_folded_files({st->after}, after, fo), st->after);
    fg::DiffOptions dopts;
    dopts.normalize = st->normalize;
    const fg::StackTrie diff = fg::diff_tries(before, after, dopts);
    if (st->folded) {
      OutputFile out(st->output);
      fg::write_folded(diff, out.stream());
      out.commit();
      return;
    }
    if (!(after.total() > 0)) {
      throw std::runtime_error(fmt::format("{} has no samples (every count is zero): nothing to draw",
                                           st->after));
    }
    write_rendered(diff, st->opts, st->flags, st->output);
  });
}

}  // namespace kperf

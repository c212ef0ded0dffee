// `kperf flamegraph`: folded stacks (files or stdin) -> interactive flame graph SVG,
// flamegraph.pl compatible, or a speedscope JSON file.
#include "flamegraph/folded.hpp"
#include "flamegraph/render.hpp"
#include "kperf/cli/command.hpp"
#include "kperf/cli/render_flags.hpp"

namespace kperf {

void register_flamegraph(CLI::App& app) {
  struct State {
    fg::RenderOptions opts;
    fg::RenderFlags flags;
    std::vector<std::string> files;
    std::string output = "-";
    bool reverse = false;
  };
  auto st = std::make_shared<State>();
  auto* cmd = app.add_subcommand(
      "flamegraph",
      "Draw an interactive flame graph (SVG) from folded stacks, like flamegraph.pl.\n"
      "Input lines: \"frame;frame;frame COUNT\" (COUNT integer or decimal; a second count "
      "column makes a differential graph: \"... BEFORE AFTER\"). Reads FILEs, or stdin.\n"
      "The default palette is hot (as flamegraph.pl); use --colors lua for Lua gateways.");
  cmd->add_option("files", st->files, "Folded stack files (\"-\" or none: stdin)");
  cmd->add_option("-o,--output", st->output, "Output file (\"-\": stdout); written only on success")
      ->capture_default_str();
  add_render_flags(cmd, st->opts, st->flags, false);
  cmd->add_flag("--reverse", st->reverse, "Reverse every stack (leaf first), merging from the leaves");
  cmd->callback([st] {
    fg::apply_flags(st->flags, st->opts);
    if (st->files.empty()) st->files.push_back("-");
    fg::StackTrie trie(st->opts.svg.flamechart);
    fg::FoldedOptions fo;
    fo.reverse = st->reverse;
    const auto stats = read_folded_files(st->files, trie, fo);
    check_folded_stats(stats, st->files.size() == 1 && st->files[0] == "-" ? "<stdin>"
                              : st->files.size() == 1                     ? st->files[0]
                                                                          : "the input");
    write_rendered(trie, st->opts, st->flags, st->output);
  });
}

}  // namespace kperf

// `kperf flamegraph`: folded stacks (files or stdin) -> interactive flame graph SVG,
// flamegraph.pl compatible, or a speedscope JSON file. Also defines the shared pieces
// `kperf diff` uses (render flags, reading folded files).
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/core.h>

#include "flamegraph/folded.hpp"
#include "flamegraph/render.hpp"
#include "kperf/command.hpp"
#include "kperf/output_file.hpp"

namespace kperf {

// Flags shared with `kperf diff` (declared there too). `differential`: leave out the
// flags that only matter for palette colors.
void add_render_flags(CLI::App* cmd, fg::RenderOptions& o, fg::RenderFlags& f, bool differential) {
  auto& s = o.svg;
  cmd->add_option("--title", s.title, "Title text (default: Flame Graph, Icicle Graph or Flame Chart)");
  cmd->add_option("--subtitle", s.subtitle, "Second-level title, under the title");
  cmd->add_option("--width", s.width, "Image width in pixels")
      ->capture_default_str()->check(CLI::Range(21, 1000000));
  cmd->add_option("--height", s.frame_height, "Height of each frame in pixels")
      ->capture_default_str()->check(CLI::Range(1, 10000));
  cmd->add_option("--minwidth", o.minwidth,
                  "Omit frames narrower than this: pixels, or percent of all samples with a "
                  "trailing % (e.g. 0.5%)")
      ->capture_default_str();
  cmd->add_option("--fonttype", s.font_type, "Font family")->capture_default_str();
  cmd->add_option("--fontsize", s.font_size, "Font size in pixels")
      ->capture_default_str()->check(CLI::Range(1.0, 1000.0));
  cmd->add_option("--fontwidth", s.font_width,
                  "Average glyph width relative to the font size (label truncation)")
      ->capture_default_str()->check(CLI::Range(0.05, 10.0));
  cmd->add_option("--countname", s.count_name, "What the counts are (shown in tooltips)")
      ->capture_default_str();
  cmd->add_option("--nametype", s.name_type, "What the frames are (shown before details)")
      ->capture_default_str();
  if (!differential) {
    cmd->add_option("--colors", f.colors,
                    "Palette: hot, mem, io, wakeup, java, js, perl, red, green, blue, aqua, "
                    "yellow, purple, orange, or lua (native, Lua, JIT-compiled Lua, kernel and "
                    "VM frames each their own hue)")
        ->capture_default_str();
    cmd->add_flag("--hash", s.hash,
                  "Colors keyed by the name's first characters (similar names, similar "
                  "colors); colors are deterministic either way");
    cmd->add_flag("--cp", f.consistent_palette,
                  "Consistent palette: reuse and record colors in a palette file across graphs");
    cmd->add_option("--palette-file", f.palette_file, "The palette file of --cp")->capture_default_str();
    cmd->add_flag("--flamechart", s.flamechart,
                  "Flame chart: stacks in input order (time), not sorted or merged across gaps");
  }
  cmd->add_option("--bgcolors", s.bgcolors,
                  "Background: yellow, blue, green, grey or #rrggbb (default: by palette)");
  cmd->add_flag("--inverted", s.inverted, "Icicle graph: roots at the top, growing down");
  cmd->add_flag("--negate", s.negate, "Differential: swap the hues (red for shrink, blue for growth)");
  cmd->add_option("--factor", s.factor, "Multiply the displayed counts by this")
      ->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--notes", s.notes, "Text for an XML comment in the SVG (no < > or --)");
  cmd->add_option("--format", f.format, "Output format: svg or speedscope (speedscope's JSON)")
      ->capture_default_str();
}

// Reads folded files ("-" = stdin) into `trie`; problems with a file are fatal, lines
// that do not parse only counted.
fg::FoldedReader::Stats read_folded_files(const std::vector<std::string>& files,
                                          fg::StackTrie& trie, const fg::FoldedOptions& opts) {
  fg::FoldedReader reader(trie, opts);
  for (const std::string& file : files) {
    if (file == "-") {
      reader.read_fd(STDIN_FILENO, "<stdin>");
      continue;
    }
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw std::runtime_error(fmt::format("cannot open {}: {}", file, std::strerror(errno)));
    struct Closer {
      int fd;
      ~Closer() { ::close(fd); }
    } closer{fd};
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
      throw std::runtime_error(fmt::format("{} is a directory, not a folded stacks file", file));
    }
    reader.read_fd(fd, file);
  }
  return reader.stats();
}

// The warning for invalid lines, and the error when nothing valid remains.
void check_folded_stats(const fg::FoldedReader::Stats& st, std::string_view what) {
  if (st.invalid > 0 && st.stacks > 0) {
    fmt::print(stderr, "kperf: warning: ignored {} line{} with invalid format in {} (first: {})\n",
               st.invalid, st.invalid == 1 ? "" : "s", what, st.first_invalid);
  }
  if (st.stacks == 0) {
    if (st.invalid == 0) throw std::runtime_error(fmt::format("no stacks in {}: it is empty", what));
    throw std::runtime_error(fmt::format("no valid stacks in {} ({} invalid line{}, first: {}; "
                                         "expected \"frame;frame;... COUNT\")",
                                         what, st.invalid, st.invalid == 1 ? "" : "s", st.first_invalid));
  }
}

// Renders to -o (atomically) with --cp's palette file around it.
void write_rendered(const fg::StackTrie& trie, fg::RenderOptions& opts, const fg::RenderFlags& flags,
                    const std::string& output) {
  fg::PaletteMap map;
  const bool save = fg::load_palette_file(flags, map);
  if (save) opts.svg.palette_map = &map;
  OutputFile out(output);
  fg::render(trie, opts, out.stream());
  out.commit();
  if (save) fg::save_palette_file(flags, map);
}

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

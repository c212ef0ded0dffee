// The pieces `kperf flamegraph` and `kperf diff` share: the rendering flags, reading
// folded files, the invalid-line warning, and the atomic write with --cp's palette file.
#include "kperf/cli/render_flags.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fmt/core.h>

#include "common/unique_fd.hpp"
#include "kperf/cli/output_file.hpp"

namespace kperf {

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
    const common::UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throw std::runtime_error(fmt::format("cannot open {}: {}", file, std::strerror(errno)));
    struct stat st {};
    if (::fstat(fd.get(), &st) == 0 && S_ISDIR(st.st_mode)) {
      throw std::runtime_error(fmt::format("{} is a directory, not a folded stacks file", file));
    }
    reader.read_fd(fd.get(), file);
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

}  // namespace kperf

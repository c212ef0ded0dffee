// render: minwidth -> layout -> SVG, or the speedscope export.
#include "flamegraph/render.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <unistd.h>

#include <fmt/core.h>

#include "flamegraph/layout.hpp"
#include "flamegraph/speedscope.hpp"

namespace kperf::fg {

void render(const StackTrie& trie, const RenderOptions& opts, std::ostream& out) {
  if (!(trie.total() > 0)) throw std::runtime_error("no samples: every stack count is zero");
  if (opts.format == OutputFormat::Speedscope) {
    SpeedscopeOptions so;
    if (!opts.svg.title.empty()) so.name = opts.svg.title;
    write_speedscope(trie, so, out);
    return;
  }
  if (opts.svg.width <= 2 * kSvgXPad) throw std::invalid_argument("--width must be more than 20 pixels");
  LayoutOptions lo;
  lo.min_samples = min_samples_for(opts.minwidth, trie.total(), opts.svg.width);
  lo.flamechart = opts.svg.flamechart;
  const Layout layout = layout_stacks(trie, lo);
  write_svg(trie, layout, opts.svg, out);
}

void apply_flags(const RenderFlags& flags, RenderOptions& opts) {
  const auto palette = palette_from_name(flags.colors);
  if (!palette) {
    throw std::invalid_argument(
        fmt::format("unknown --colors '{}' (one of: {})", flags.colors, palette_names()));
  }
  opts.svg.palette = *palette;
  if (flags.format == "svg") {
    opts.format = OutputFormat::Svg;
  } else if (flags.format == "speedscope") {
    opts.format = OutputFormat::Speedscope;
  } else {
    throw std::invalid_argument(fmt::format("unknown --format '{}' (svg or speedscope)", flags.format));
  }
}

bool load_palette_file(const RenderFlags& flags, PaletteMap& map) {
  if (!flags.consistent_palette) return false;
  std::ifstream in(flags.palette_file);
  if (!in) {
    if (errno == ENOENT) return true;
    throw std::runtime_error(
        fmt::format("cannot read palette file {}: {}", flags.palette_file, std::strerror(errno)));
  }
  map.read(in);
  return true;
}

void save_palette_file(const RenderFlags& flags, const PaletteMap& map) {
  const std::string tmp = fmt::format("{}.tmp.{}", flags.palette_file, ::getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (out) map.write(out);
    out.flush();
    if (!out) {
      std::remove(tmp.c_str());
      throw std::runtime_error(fmt::format("cannot write palette file {}", flags.palette_file));
    }
  }
  if (std::rename(tmp.c_str(), flags.palette_file.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    throw std::runtime_error(
        fmt::format("cannot write palette file {}: {}", flags.palette_file, std::strerror(err)));
  }
}

}  // namespace kperf::fg

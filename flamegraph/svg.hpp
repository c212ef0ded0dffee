// The interactive flame graph SVG: flamegraph.pl's geometry and behaviour (hover
// details, click to zoom, reset zoom, regex search with "Matched: N%", case toggle,
// Ctrl-F, zoom/search state in the URL, labels truncated with ".."), own script.
#pragma once

#include <iosfwd>
#include <string>

#include "flamegraph/layout.hpp"
#include "flamegraph/palette.hpp"
#include "flamegraph/trie.hpp"

namespace kperf::fg {

inline constexpr double kSvgXPad = 10;  // left/right padding, pixels

struct SvgOptions {
  std::string title;      // "" = "Flame Graph" / "Icicle Graph" / "Flame Chart"
  std::string subtitle;
  int width = 1200;       // image width, pixels
  int frame_height = 16;  // pixels per stack level
  std::string font_type = "Verdana";
  double font_size = 12;
  double font_width = 0.59;  // average glyph width relative to font_size
  std::string count_name = "samples";
  std::string name_type = "Function:";
  Palette palette = Palette::Hot;
  std::string bgcolors;   // "" = the palette's default
  bool hash = false;
  bool inverted = false;  // icicle graph
  bool flamechart = false;  // (only for the default title)
  bool negate = false;    // differential: swap red and blue
  double factor = 1;      // multiply displayed counts
  std::string notes;      // an XML comment in the output
  PaletteMap* palette_map = nullptr;  // --cp: consistent colors across graphs
};

// Throws std::invalid_argument for option values it cannot use (bgcolors, notes).
void write_svg(const StackTrie& trie, const Layout& layout, const SvgOptions& opts,
               std::ostream& out);

}  // namespace kperf::fg

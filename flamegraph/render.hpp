// One call from a StackTrie to a finished flame graph (SVG) or speedscope file: what
// `kperf flamegraph`, `kperf diff` and the profiler's reports use.
#pragma once

#include <iosfwd>
#include <string>

#include "flamegraph/svg.hpp"
#include "flamegraph/trie.hpp"

namespace kperf::fg {

enum class OutputFormat { Svg, Speedscope };

struct RenderOptions {
  SvgOptions svg;
  std::string minwidth = "0.1";  // pixels, or percent of the total with a "%"
  OutputFormat format = OutputFormat::Svg;
};

// Throws std::invalid_argument for unusable options, std::runtime_error when the trie
// holds no samples.
void render(const StackTrie& trie, const RenderOptions& opts, std::ostream& out);

// The settings a command line gives as words: palette and format names, and --cp's
// palette file (read before rendering, rewritten after with any new names).
struct RenderFlags {
  std::string colors = "hot";
  std::string format = "svg";
  bool consistent_palette = false;
  std::string palette_file = "palette.map";
};

// Copies the flags into `opts`; throws std::invalid_argument for unknown names.
void apply_flags(const RenderFlags& flags, RenderOptions& opts);
// Loads the palette file when --cp is on and it exists (throws std::runtime_error when
// it cannot be read); returns whether `map` should be saved after rendering.
bool load_palette_file(const RenderFlags& flags, PaletteMap& map);
// Writes the palette file atomically (temp file + rename).
void save_palette_file(const RenderFlags& flags, const PaletteMap& map);

}  // namespace kperf::fg

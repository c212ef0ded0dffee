// Frame colors: flamegraph.pl's palettes (hot, mem, io, wakeup, java, js, perl and the
// flat hues) plus `lua`, which gives native, Lua, JIT-compiled Lua, kernel and LuaJIT VM
// pseudo frames each their own hue (by frame_kind). Colors are deterministic: a name
// always gets the same color. PaletteMap keeps them consistent across graphs (--cp).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace kperf::fg {

enum class Palette {
  Hot, Mem, Io, Wakeup, Java, Js, Perl, Red, Green, Blue, Aqua, Yellow, Purple, Orange, Lua
};

struct Rgb {
  std::uint8_t r, g, b;
  bool operator==(const Rgb&) const = default;
};

std::optional<Palette> palette_from_name(std::string_view name);
// "hot, mem, io, ..." for help texts and error messages.
std::string palette_names();

// The color of a frame. `by_hash`: flamegraph.pl --hash, hues keyed by the name's first
// characters so similar names look alike; otherwise a per-name pseudo-random shade.
Rgb frame_color(Palette palette, std::string_view name, bool by_hash);
// Differential color: red where the count grew (delta > 0), blue where it shrank,
// saturation proportional to |delta| / max_delta; white for no change.
Rgb diff_color(double delta, double max_delta, bool negate);
std::string css_rgb(Rgb c);

// Background gradient (two colors) for --bgcolors: yellow, blue, green, grey or
// "#rrggbb"; "" picks the palette's default. Throws std::invalid_argument otherwise.
struct Background {
  std::string top;
  std::string bottom;
};
Background background_for(std::string_view bgcolors, Palette palette);

// name -> color, read from and written to a palette file ("NAME->rgb(r,g,b)" lines,
// flamegraph.pl's palette.map format) so several graphs share their colors.
class PaletteMap {
 public:
  void read(std::istream& in);
  void write(std::ostream& out) const;
  // The stored color of `name`, or `fallback` which is then stored.
  std::string color(std::string_view name, const std::string& fallback);
  std::size_t size() const { return map_.size(); }

 private:
  std::map<std::string, std::string, std::less<>> map_;
};

}  // namespace kperf::fg

// Palette math: per-name shades from name hashes, hue families per palette.
#include "flamegraph/palette.hpp"

#include <array>
#include <istream>
#include <ostream>
#include <stdexcept>

#include <fmt/core.h>

#include "flamegraph/frame_kind.hpp"

namespace kperf::fg {

namespace {

struct Named {
  std::string_view name;
  Palette palette;
};

constexpr std::array<Named, 15> kPalettes{{
    {"hot", Palette::Hot},       {"mem", Palette::Mem},       {"io", Palette::Io},
    {"wakeup", Palette::Wakeup}, {"java", Palette::Java},     {"js", Palette::Js},
    {"perl", Palette::Perl},     {"red", Palette::Red},       {"green", Palette::Green},
    {"blue", Palette::Blue},     {"aqua", Palette::Aqua},     {"yellow", Palette::Yellow},
    {"purple", Palette::Purple}, {"orange", Palette::Orange}, {"lua", Palette::Lua},
}};

// FNV-1a: a stable hash, the same on every platform and run.
std::uint64_t fnv1a(std::string_view s, std::uint64_t seed) {
  std::uint64_t h = 1469598103934665603ULL ^ seed;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  h ^= h >> 29;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 32;
  return h;
}

double unit(std::uint64_t h) { return static_cast<double>(h >> 11) / 9007199254740992.0; }

// A value in [0, 1] from the first few characters, early ones weighing most: names
// that start alike get alike shades. A "module`" prefix is skipped.
double prefix_shade(std::string_view name) {
  const auto tick = name.find('`');
  if (tick != std::string_view::npos && tick > 0) name.remove_prefix(tick + 1);
  double value = 0;
  double norm = 0;
  double weight = 1;
  for (std::size_t i = 0; i < name.size() && i < 3; ++i) {
    value += weight * static_cast<double>(static_cast<unsigned char>(name[i]) % 10) / 9.0;
    norm += weight;
    weight *= 0.7;
  }
  return norm == 0 ? 0.5 : 1.0 - value / (norm + 1.0);
}

std::uint8_t u8(int v) { return static_cast<std::uint8_t>(v < 0 ? 0 : v > 255 ? 255 : v); }

// The flat hue families; v in [0, 1] picks the shade.
Rgb flat(Palette hue, double v) {
  switch (hue) {
    case Palette::Red: return {u8(200 + int(55 * v)), u8(50 + int(80 * v)), u8(50 + int(80 * v))};
    case Palette::Green: return {u8(50 + int(60 * v)), u8(200 + int(55 * v)), u8(50 + int(60 * v))};
    case Palette::Blue: return {u8(80 + int(60 * v)), u8(80 + int(60 * v)), u8(205 + int(50 * v))};
    case Palette::Yellow: return {u8(175 + int(55 * v)), u8(175 + int(55 * v)), u8(50 + int(20 * v))};
    case Palette::Purple: return {u8(190 + int(65 * v)), u8(80 + int(60 * v)), u8(190 + int(65 * v))};
    case Palette::Aqua: return {u8(50 + int(60 * v)), u8(165 + int(55 * v)), u8(165 + int(55 * v))};
    case Palette::Orange: return {u8(190 + int(65 * v)), u8(90 + int(65 * v)), 0};
    default: return {0, 0, 0};
  }
}

bool contains(std::string_view s, std::string_view what) { return s.find(what) != std::string_view::npos; }

// Multi-hue palettes resolve to a flat hue per frame.
Palette hue_of(Palette p, std::string_view name) {
  switch (p) {
    case Palette::Wakeup: return Palette::Aqua;
    case Palette::Java:
      if (name.ends_with("_[j]")) return Palette::Green;
      if (name.ends_with("_[i]")) return Palette::Aqua;
      for (std::string_view pre : {"java/", "javax/", "jdk/", "net/", "org/", "com/", "io/", "sun/"}) {
        if (name.starts_with(pre) || (name.starts_with("L") && name.substr(1).starts_with(pre))) {
          return Palette::Green;
        }
      }
      if (contains(name, ":::")) return Palette::Green;
      if (contains(name, "::")) return Palette::Yellow;
      if (name.ends_with("_[k]")) return Palette::Orange;
      return Palette::Red;
    case Palette::Js:
      if (name.ends_with("_[j]")) return contains(name, "/") ? Palette::Green : Palette::Aqua;
      if (contains(name, "::")) return Palette::Yellow;
      if (auto slash = name.find('/'); slash != std::string_view::npos && contains(name.substr(slash), ".js")) {
        return Palette::Green;
      }
      if (contains(name, ":")) return Palette::Aqua;
      if (name == " ") return Palette::Green;
      if (contains(name, "_[k]")) return Palette::Orange;
      return Palette::Red;
    case Palette::Perl:
      if (contains(name, "::")) return Palette::Yellow;
      if (contains(name, "Perl") || contains(name, ".pl")) return Palette::Green;
      if (name.ends_with("_[k]")) return Palette::Orange;
      return Palette::Red;
    case Palette::Lua:
      switch (classify_frame(name)) {
        case FrameKind::Native: return Palette::Red;
        case FrameKind::Kernel: return Palette::Orange;
        case FrameKind::Lua: return Palette::Green;
        case FrameKind::LuaJit: return Palette::Aqua;
        case FrameKind::VmPseudo: return Palette::Purple;
        case FrameKind::Unknown: return Palette::Hot;  // grey, below
      }
      return Palette::Red;
    default: return p;
  }
}

}  // namespace

std::optional<Palette> palette_from_name(std::string_view name) {
  for (const auto& n : kPalettes) {
    if (n.name == name) return n.palette;
  }
  return std::nullopt;
}

std::string palette_names() {
  std::string s;
  for (const auto& n : kPalettes) {
    if (!s.empty()) s += ", ";
    s += n.name;
  }
  return s;
}

Rgb frame_color(Palette palette, std::string_view name, bool by_hash) {
  double v1, v2, v3;
  if (by_hash) {
    std::string reversed(name.rbegin(), name.rend());
    v1 = prefix_shade(name);
    v2 = v3 = prefix_shade(reversed);
  } else {
    v1 = unit(fnv1a(name, 1));
    v2 = unit(fnv1a(name, 2));
    v3 = unit(fnv1a(name, 3));
  }
  switch (palette) {
    case Palette::Hot: return {u8(205 + int(50 * v3)), u8(int(230 * v1)), u8(int(55 * v2))};
    case Palette::Mem: return {0, u8(190 + int(50 * v2)), u8(int(210 * v1))};
    case Palette::Io: {
      const auto rg = u8(80 + int(60 * v1));
      return {rg, rg, u8(190 + int(55 * v2))};
    }
    default: break;
  }
  const Palette hue = hue_of(palette, name);
  if (palette == Palette::Lua && hue == Palette::Hot) {
    const auto g = u8(170 + int(40 * v1));
    return {g, g, g};
  }
  return flat(hue, v1);
}

Rgb diff_color(double delta, double max_delta, bool negate) {
  if (negate) delta = -delta;
  if (max_delta <= 0) max_delta = 1;
  if (delta > 0) {
    const auto gb = u8(int(210 * (max_delta - delta) / max_delta));
    return {255, gb, gb};
  }
  if (delta < 0) {
    const auto rg = u8(int(210 * (max_delta + delta) / max_delta));
    return {rg, rg, 255};
  }
  return {255, 255, 255};
}

std::string css_rgb(Rgb c) { return fmt::format("rgb({},{},{})", c.r, c.g, c.b); }

Background background_for(std::string_view bg, Palette palette) {
  if (bg.empty()) {
    switch (palette) {
      case Palette::Mem: bg = "green"; break;
      case Palette::Io:
      case Palette::Wakeup: bg = "blue"; break;
      case Palette::Red:
      case Palette::Green:
      case Palette::Blue:
      case Palette::Aqua:
      case Palette::Yellow:
      case Palette::Purple:
      case Palette::Orange: bg = "grey"; break;
      default: bg = "yellow";
    }
  }
  if (bg == "yellow") return {"#eeeeee", "#eeeeb0"};
  if (bg == "blue") return {"#eeeeee", "#e0e0ff"};
  if (bg == "green") return {"#eef2ee", "#e0ffe0"};
  if (bg == "grey") return {"#f8f8f8", "#e8e8e8"};
  if (bg.size() == 7 && bg[0] == '#' &&
      bg.find_first_not_of("0123456789abcdefABCDEF", 1) == std::string_view::npos) {
    return {std::string(bg), std::string(bg)};
  }
  throw std::invalid_argument(fmt::format(
      "unknown --bgcolors '{}' (yellow, blue, green, grey or #rrggbb)", bg));
}

void PaletteMap::read(std::istream& in) {
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto arrow = line.find("->");
    if (arrow == std::string::npos) continue;
    map_[line.substr(0, arrow)] = line.substr(arrow + 2);
  }
}

void PaletteMap::write(std::ostream& out) const {
  for (const auto& [name, color] : map_) out << name << "->" << color << '\n';
}

std::string PaletteMap::color(std::string_view name, const std::string& fallback) {
  auto it = map_.find(name);
  if (it != map_.end()) return it->second;
  map_.emplace(std::string(name), fallback);
  return fallback;
}

}  // namespace kperf::fg

// Palettes: deterministic colors, the lua palette's hue per frame kind, --hash, --cp.
#include <gtest/gtest.h>

#include <sstream>

#include "flamegraph/frame_kind.hpp"
#include "flamegraph/palette.hpp"

namespace kperf::fg {
namespace {

// Which channel dominates: 'r', 'g', 'b', 'y' (r and g), 'p' (r and b), 'c' (g and b), '-' grey.
char hue(Rgb c) {
  const int r = c.r, g = c.g, b = c.b;
  if (r == g && g == b) return '-';
  if (r > 150 && g > 150 && b < 120) return 'y';
  if (r > 150 && b > 150 && g < 150) return 'p';
  if (g > 150 && b > 150 && r < 150) return 'c';
  if (r >= g && r >= b) return 'r';
  if (g >= r && g >= b) return 'g';
  return 'b';
}

TEST(Palette, NamesRoundTrip) {
  for (const char* n : {"hot", "mem", "io", "wakeup", "java", "js", "perl", "red", "green", "blue",
                        "aqua", "yellow", "purple", "orange", "lua"}) {
    EXPECT_TRUE(palette_from_name(n).has_value()) << n;
  }
  EXPECT_FALSE(palette_from_name("chartreuse").has_value());
}

TEST(Palette, Deterministic) {
  for (bool hash : {false, true}) {
    EXPECT_EQ(frame_color(Palette::Hot, "ngx_http_handler", hash),
              frame_color(Palette::Hot, "ngx_http_handler", hash));
  }
  EXPECT_NE(frame_color(Palette::Hot, "ngx_http_handler", false),
            frame_color(Palette::Hot, "lj_BC_FUNCC", false));
}

TEST(Palette, LuaPaletteGivesEachFrameKindItsHue) {
  EXPECT_EQ(classify_frame("ngx_http_core_run_phases"), FrameKind::Native);
  EXPECT_EQ(hue(frame_color(Palette::Lua, "ngx_http_core_run_phases", false)), 'r');
  EXPECT_EQ(hue(frame_color(Palette::Lua, "access /srv/kong/plugins/acl.lua:12", false)), 'g');
  EXPECT_EQ(hue(frame_color(Palette::Lua, "access /srv/kong/plugins/acl.lua:12_[j]", false)), 'c');
  EXPECT_EQ(hue(frame_color(Palette::Lua, "[lua:gc]", false)), 'p');
  EXPECT_EQ(hue(frame_color(Palette::Lua, "[unknown]", false)), '-');
  const Rgb k = frame_color(Palette::Lua, "do_syscall_64_[k]", false);
  EXPECT_EQ(k.b, 0);  // orange: no blue
  EXPECT_GT(k.r, k.g);
}

TEST(Palette, HashKeysOnLeadingCharacters) {
  // --hash: names sharing their first characters get the same red/green shade.
  const Rgb a = frame_color(Palette::Red, "ngx_one", true);
  const Rgb b = frame_color(Palette::Red, "ngx_two", true);
  EXPECT_EQ(a, b);  // red uses only the leading-characters shade
  EXPECT_NE(frame_color(Palette::Red, "ngx_one", false), frame_color(Palette::Red, "ngx_two", false));
}

TEST(Palette, DiffColorScale) {
  EXPECT_EQ(diff_color(0, 10, false), (Rgb{255, 255, 255}));
  EXPECT_EQ(diff_color(10, 10, false), (Rgb{255, 0, 0}));
  EXPECT_EQ(diff_color(-10, 10, false), (Rgb{0, 0, 255}));
  EXPECT_EQ(diff_color(10, 10, true), (Rgb{0, 0, 255}));
  EXPECT_EQ(diff_color(5, 10, false), (Rgb{255, 105, 105}));
}

TEST(Palette, Backgrounds) {
  EXPECT_EQ(background_for("", Palette::Hot).bottom, "#eeeeb0");
  EXPECT_EQ(background_for("", Palette::Mem).bottom, "#e0ffe0");
  EXPECT_EQ(background_for("", Palette::Io).bottom, "#e0e0ff");
  EXPECT_EQ(background_for("", Palette::Red).bottom, "#e8e8e8");
  EXPECT_EQ(background_for("#123456", Palette::Hot).top, "#123456");
  EXPECT_THROW(background_for("pink", Palette::Hot), std::invalid_argument);
  EXPECT_THROW(background_for("#12345\"", Palette::Hot), std::invalid_argument);
}

TEST(Palette, MapKeepsColorsAcrossGraphs) {
  PaletteMap m;
  std::istringstream in("foo->rgb(1,2,3)\nbar->rgb(4,5,6)\r\n");
  m.read(in);
  EXPECT_EQ(m.color("foo", "rgb(9,9,9)"), "rgb(1,2,3)");
  EXPECT_EQ(m.color("bar", "rgb(9,9,9)"), "rgb(4,5,6)");
  EXPECT_EQ(m.color("new", "rgb(7,7,7)"), "rgb(7,7,7)");
  EXPECT_EQ(m.color("new", "rgb(8,8,8)"), "rgb(7,7,7)");
  std::ostringstream out;
  m.write(out);
  EXPECT_EQ(out.str(), "bar->rgb(4,5,6)\nfoo->rgb(1,2,3)\nnew->rgb(7,7,7)\n");
}

TEST(FrameKind, StripAnnotation) {
  EXPECT_EQ(strip_annotation("sys_read_[k]"), "sys_read");
  EXPECT_EQ(strip_annotation("f x.lua:1_[j]"), "f x.lua:1");
  EXPECT_EQ(strip_annotation("f_[x]"), "f_[x]");
  EXPECT_EQ(strip_annotation("_[k]"), "");
}

}  // namespace
}  // namespace kperf::fg

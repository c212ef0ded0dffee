// The SVG on hand-built inputs with known answers: every frame's title, geometry and
// label; minwidth, merging, the flamegraph.pl split quirk, flame charts, icicles, XML.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "flamegraph/folded.hpp"
#include "flamegraph/render.hpp"
#include "svg_frames.hpp"

namespace kperf::fg {
namespace {

using test::SvgFrame;

std::string render_text(const std::string& folded, RenderOptions opts = {}, FoldedOptions fo = {}) {
  StackTrie trie(opts.svg.flamechart);
  FoldedReader r(trie, fo);
  r.add_text(folded, "test");
  std::ostringstream out;
  render(trie, opts, out);
  return out.str();
}

std::vector<SvgFrame> sorted(std::vector<SvgFrame> v) {
  std::sort(v.begin(), v.end());
  return v;
}

TEST(Svg, KnownGeometryAndTitles) {
  // width 1200: 1180 px for 8 samples = 147.5 px per sample; 3 levels, height 118.
  const auto frames = test::svg_frames(render_text("a;b 3\na;c 1\nd 4\n"));
  const std::vector<SvgFrame> want = sorted({
      {"all (8 samples, 100%)", "10.0", "69", "1180.0", ""},
      {"a (4 samples, 50.00%)", "10.0", "53", "590.0", "a"},
      {"d (4 samples, 50.00%)", "600.0", "53", "590.0", "d"},
      {"b (3 samples, 37.50%)", "10.0", "37", "442.5", "b"},
      {"c (1 samples, 12.50%)", "452.5", "37", "147.5", "c"},
  });
  EXPECT_EQ(frames, want);
}

TEST(Svg, MergesIdenticalStacksAndSortsAlphabetically) {
  // Input order z, a, z: sorted, the two z lines merge into one box right of a.
  const auto frames = test::svg_frames(render_text("z 1\na 2\nz 1\n"));
  ASSERT_EQ(frames.size(), 3u);
  const std::vector<SvgFrame> want = sorted({
      {"all (4 samples, 100%)", "10.0", "53", "1180.0", ""},
      {"a (2 samples, 50.00%)", "10.0", "37", "590.0", "a"},
      {"z (2 samples, 50.00%)", "600.0", "37", "590.0", "z"},
  });
  EXPECT_EQ(frames, want);
}

TEST(Svg, FlameChartKeepsInputOrder) {
  RenderOptions o;
  o.svg.flamechart = true;
  const std::string svg = render_text("z 1\na 2\nz 1\n", o);
  const auto frames = test::svg_frames(svg);
  ASSERT_EQ(frames.size(), 4u);  // z, a, z, all
  EXPECT_NE(svg.find(">Flame Chart</text>"), std::string::npos);
  int z = 0;
  for (const auto& f : frames) z += f.title.starts_with("z (1 samples, 25.00%)");
  EXPECT_EQ(z, 2);
}

TEST(Svg, MinwidthOmitsNarrowFrames) {
  // 1180 px / 20001 samples: one sample is 0.059 px < 0.1 px.
  const std::string in = "a 20000\nb 1\n";
  EXPECT_EQ(test::svg_frames(render_text(in)).size(), 2u);  // all, a
  RenderOptions zero;
  zero.minwidth = "0";
  EXPECT_EQ(test::svg_frames(render_text(in, zero)).size(), 3u);  // all, a, b
  RenderOptions pct;
  pct.minwidth = "50%";  // only frames with at least half the samples
  const auto f = test::svg_frames(render_text("a 3\nb 1\n", pct));
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].title, "a (3 samples, 75.00%)");
  EXPECT_EQ(f[1].title, "all (4 samples, 100%)");
}

TEST(Svg, SplitsFrameLikeFlamegraphPlWhenASiblingSortsBetween) {
  // Sorted lines: "foo 5", "foo.isra.0;x 3", "foo;bar 2": flamegraph.pl closes foo at
  // foo.isra.0 and opens it again, so foo is drawn twice.
  const auto frames = test::svg_frames(render_text("foo;bar 2\nfoo 5\nfoo.isra.0;x 3\n"));
  std::vector<std::string> foo;
  for (const auto& f : frames) {
    if (f.title.starts_with("foo (")) foo.push_back(f.title);
  }
  ASSERT_EQ(foo.size(), 2u);
  EXPECT_EQ(foo[0], "foo (2 samples, 20.00%)");
  EXPECT_EQ(foo[1], "foo (5 samples, 50.00%)");
}

TEST(Svg, LabelsTruncatedWithDots) {
  // 1180 px for 8 samples: the 1-sample box is 147.5 px = 20 chars of 7.08 px.
  const std::string longname(60, 'x');
  const auto frames = test::svg_frames(render_text("a 7\n" + longname + "_[k] 1\n"));
  bool found = false;
  for (const auto& f : frames) {
    if (f.title.starts_with(longname + " (")) {  // annotation stripped
      EXPECT_EQ(f.label, std::string(18, 'x') + "..");
      found = true;
    }
  }
  EXPECT_TRUE(found);
}

TEST(Svg, InvertedPutsRootOnTop) {
  RenderOptions o;
  o.svg.inverted = true;
  const auto frames = test::svg_frames(render_text("a;b 1\n", o));
  ASSERT_EQ(frames.size(), 3u);
  for (const auto& f : frames) {
    if (f.title.starts_with("all")) {
      EXPECT_EQ(f.y, "36");  // ypad1 = 3 * 12
    }
    if (f.title.starts_with("b")) {
      EXPECT_EQ(f.y, "68");
    }
  }
}

TEST(Svg, DifferentialTitlesAndColors) {
  const std::string svg = render_text("a;b 10 20\na;c 10 5\n");
  const auto frames = test::svg_frames(svg);
  bool b = false, c = false;
  for (const auto& f : frames) {
    if (f.title == "b (20 samples, 80.00%; +40.00%)") b = true;
    if (f.title == "c (5 samples, 20.00%; -20.00%)") c = true;
  }
  EXPECT_TRUE(b);
  EXPECT_TRUE(c);
  // b grew by 10 = max delta: pure red; c shrank by 5: half-saturated blue.
  EXPECT_NE(svg.find("fill=\"rgb(255,0,0)\""), std::string::npos);
  EXPECT_NE(svg.find("fill=\"rgb(105,105,255)\""), std::string::npos);
}

TEST(Svg, CountsWithCommasAndFactor) {
  RenderOptions o;
  o.svg.factor = 1000;
  o.svg.count_name = "bytes";
  const auto frames = test::svg_frames(render_text("a 1234\n", o));
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].title, "a (1,234,000 bytes, 100.00%)");
}

TEST(Svg, EscapesAndRepairsNamesIntoValidXml) {
  const std::string svg = render_text("a&b<c>\"d\";bad\x01\xff\xfe" "byte 3\n");
  EXPECT_EQ(svg.find("\x01"), std::string::npos);
  EXPECT_EQ(svg.find("\xff"), std::string::npos);
  EXPECT_NE(svg.find("a&amp;b&lt;c&gt;&quot;d&quot; (3 samples"), std::string::npos);
  if (std::system("command -v xmllint >/dev/null 2>&1") != 0) GTEST_SKIP() << "xmllint not installed";
  const std::string path = testing::TempDir() + "fg_escape.svg";
  std::ofstream(path) << svg;
  EXPECT_EQ(std::system(("xmllint --noout " + path).c_str()), 0);
  std::remove(path.c_str());
}

TEST(Svg, InteractiveParts) {
  RenderOptions o;
  o.svg.title = "T <1>";
  o.svg.subtitle = "sub";
  o.svg.notes = "note";
  const std::string svg = render_text("a 1\n", o);
  for (const char* part : {"onload=\"init(evt)\"", "id=\"details\"", "id=\"unzoom\"", "id=\"search\"",
                           "id=\"ignorecase\"", "id=\"matched\"", "id=\"frames\"", "T &lt;1&gt;",
                           "id=\"subtitle\"", "<!-- NOTES: note -->", "Matched: ", "replaceState",
                           "ctrlKey"}) {
    EXPECT_NE(svg.find(part), std::string::npos) << part;
  }
  RenderOptions bad;
  bad.svg.notes = "<x>";
  EXPECT_THROW(render_text("a 1\n", bad), std::invalid_argument);
  RenderOptions badmin;
  badmin.minwidth = "abc";
  EXPECT_THROW(render_text("a 1\n", badmin), std::invalid_argument);
}

TEST(Svg, ZeroTotalIsAnError) {
  EXPECT_THROW(render_text("a 0\n"), std::runtime_error);
}

}  // namespace
}  // namespace kperf::fg

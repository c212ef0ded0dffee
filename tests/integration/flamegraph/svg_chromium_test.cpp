// kperf's interactive flame graph SVG in headless Chromium: the embedded script runs
// (no uncaught error), a search given in the URL (?s=REGEX, as the script keeps it)
// shows "Matched: P%" with the share of samples under matching frames, counted once per
// sample; zoomed to a frame (?x=..&y=.., its rect's attributes) the share is of that
// frame, and frames outside it are hidden; a bad regex says so. The shares are computed
// here from the folded input's counts.
#include <unistd.h>

#include <regex>
#include <string>
#include <vector>

#include <fmt/core.h>
#include <gtest/gtest.h>

#include "tests/support/chromium.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using kperf::test::TempDir;

// "main;a;x 30", "main;b;x 20", "main;b;y 50": total 100, b 70.
constexpr double kAX = 30, kBX = 20, kBY = 50;

class SvgInChromium : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::access(kperf::test::kChromium, X_OK), 0) << "chromium not installed: scripts/setup installs it";
    kperf::test::write_file(tmp_.file("in.folded"),
                            fmt::format("main;a;x {}\nmain;b;x {}\nmain;b;y {}\n", kAX, kBX, kBY));
    const auto r = kperf::test::run({KPERF_BINARY, "flamegraph", tmp_.file("in.folded"), "-o", tmp_.file("fg.svg")});
    ASSERT_EQ(r.status, 0) << r.err;
    svg_ = kperf::test::read_file(tmp_.file("fg.svg"));
  }

  // The DOM after the script ran, for the SVG opened with `query` ("?s=..."); Chromium's
  // console goes to `console`.
  std::string dom(const std::string& query, std::string* console = nullptr) {
    const auto r = kperf::test::chromium_dom("file://" + tmp_.file("fg.svg") + query, tmp_.file("chromium"),
                                             {"--enable-logging=stderr", "--v=0"});
    EXPECT_EQ(r.status, 0) << r.err;
    if (console) *console = r.err;
    return r.out;
  }

  // The text of the "matched" element ("" if hidden, blank or absent).
  static std::string matched(const std::string& dom) {
    std::smatch m;
    if (!std::regex_search(dom, m, std::regex(R"re(<text id="matched"([^>]*)>([^<]*)<)re"))) return "";
    if (std::string(m[1]).find("hide") != std::string::npos) return "";
    const std::string text = m[2];
    return text.find_first_not_of(' ') == std::string::npos ? "" : text;
  }

  // A frame's rect attributes in the SVG as written: ?x=..&y=.. zooms to it.
  std::string zoom_query(const std::string& frame) const {
    std::smatch m;
    const std::regex re("<title>" + frame + R"re( \([^<]*</title><rect x="([^"]+)" y="([^"]+)")re");
    if (!std::regex_search(svg_, m, re)) return "";
    return fmt::format("?x={}&y={}", std::string(m[1]), std::string(m[2]));
  }

  TempDir tmp_;
  std::string svg_;
};

TEST_F(SvgInChromium, ScriptRunsAndSearchFromTheUrlShowsTheMatchedShare) {
  std::string console;
  const std::string plain = dom("", &console);
  ASSERT_NE(plain.find("id=\"frames\""), std::string::npos) << plain.substr(0, 2000);
  EXPECT_EQ(console.find("Uncaught"), std::string::npos) << console;
  EXPECT_EQ(matched(plain), "") << "no search: the matched text stays hidden";

  // x under a and under b: every x sample once.
  EXPECT_EQ(matched(dom("?s=%5Ex%24")), fmt::format("Matched: {:.1f}%", 100 * (kAX + kBX) / (kAX + kBX + kBY)));
  // a frame and its child both match: their samples count once (100% is printed bare).
  EXPECT_EQ(matched(dom("?s=%5E(main%7Cb)%24")), "Matched: 100%");
  EXPECT_EQ(matched(dom("?s=%5Ey%24")), fmt::format("Matched: {:.1f}%", 100 * kBY / (kAX + kBX + kBY)));
  EXPECT_EQ(matched(dom("?s=(")), "Invalid regex");
}

TEST_F(SvgInChromium, ZoomedFromTheUrlTheShareIsOfTheZoomedFrame) {
  const std::string zoom_b = zoom_query("b");
  ASSERT_FALSE(zoom_b.empty()) << "no rect for frame b in the SVG";
  const std::string zoomed = dom(zoom_b + "&s=%5Ex%24");
  EXPECT_EQ(matched(zoomed), fmt::format("Matched: {:.1f}%", 100 * kBX / (kBX + kBY)));
  // a lies outside b: hidden while zoomed.
  std::smatch m;
  ASSERT_TRUE(std::regex_search(zoomed, m, std::regex(R"(<g([^>]*)><title>a \()"))) << zoomed.substr(0, 3000);
  EXPECT_NE(std::string(m[1]).find("hide"), std::string::npos) << "frame a is shown while zoomed to b";
}

}  // namespace

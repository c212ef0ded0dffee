// Unit tests of the SVG charts (kperf/charts): validity (xmllint), bar geometry read
// back from the SVG, escaping, nice axes, edge cases, determinism.
#include "kperf/report/charts.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>

namespace kperf::charts {
namespace {

struct Bar {
  double value, x, y, width, height;
};

std::vector<Bar> bars(const std::string& svg) {
  static const std::regex re(
      R"re(<rect class="bar" data-value="([^"]+)" x="([^"]+)" y="([^"]+)" width="([^"]+)" height="([^"]+)")re");
  std::vector<Bar> out;
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), re); it != std::sregex_iterator(); ++it) {
    const auto& m = *it;
    out.push_back({std::stod(m[1]), std::stod(m[2]), std::stod(m[3]), std::stod(m[4]), std::stod(m[5])});
  }
  return out;
}

// xmllint --noout on the text; skipped (true) when xmllint is not installed.
bool xml_valid(const std::string& svg, bool quiet = false) {
  if (!std::filesystem::exists("/usr/bin/xmllint")) return true;
  const auto path = std::filesystem::temp_directory_path() / ("kperf-chart-" + std::to_string(::getpid()) + ".svg");
  {
    std::ofstream out(path);
    out << svg;
  }
  const std::string cmd = "/usr/bin/xmllint --noout '" + path.string() + "'" + (quiet ? " 2>/dev/null" : "");
  const int rc = std::system(cmd.c_str());
  std::filesystem::remove(path);
  return rc == 0;
}

TEST(Charts, ValidatorRejectsBrokenXml) {
  if (!std::filesystem::exists("/usr/bin/xmllint")) GTEST_SKIP() << "no /usr/bin/xmllint";
  EXPECT_FALSE(xml_valid("<svg><g></svg>", true));
  EXPECT_FALSE(xml_valid("<svg><text>a < b</text></svg>", true));
  EXPECT_TRUE(xml_valid("<svg><text>a &lt; b</text></svg>"));
}

TEST(Charts, NiceLinearAxis) {
  Axis a = nice_linear_axis(23456);
  EXPECT_DOUBLE_EQ(a.max, 25000);
  EXPECT_EQ(a.ticks, (std::vector<double>{0, 5000, 10000, 15000, 20000, 25000}));
  a = nice_linear_axis(1);
  EXPECT_DOUBLE_EQ(a.max, 1);
  a = nice_linear_axis(100);
  EXPECT_DOUBLE_EQ(a.max, 100);
  EXPECT_EQ(a.ticks.size(), 6u);
  a = nice_linear_axis(12);  // step 2.5
  EXPECT_DOUBLE_EQ(a.max, 12.5);
  a = nice_linear_axis(0);
  EXPECT_DOUBLE_EQ(a.max, 1);
  for (double v : {0.37, 7.0, 99.9, 1234.5, 8.5e6}) {
    a = nice_linear_axis(v);
    EXPECT_GE(a.max, v);
    EXPECT_LE(a.ticks.size(), 11u);
    EXPECT_GE(a.ticks.size(), 3u);
    EXPECT_DOUBLE_EQ(a.ticks.back(), a.max);
  }
}

TEST(Charts, LogAxis) {
  Axis a = log_axis(120, 45000);
  EXPECT_DOUBLE_EQ(a.min, 100);
  EXPECT_DOUBLE_EQ(a.max, 100000);
  EXPECT_EQ(a.ticks, (std::vector<double>{100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000}));
  a = log_axis(3, 5e6);  // 7 decades: decades only
  EXPECT_EQ(a.ticks, (std::vector<double>{1, 10, 100, 1000, 10000, 100000, 1e6, 1e7}));
  a = log_axis(1000, 1000);  // at least one decade
  EXPECT_DOUBLE_EQ(a.min, 1000);
  EXPECT_DOUBLE_EQ(a.max, 10000);
}

TEST(Charts, Labels) {
  EXPECT_EQ(percentile_label(50), "p50");
  EXPECT_EQ(percentile_label(99.9), "p99.9");
  EXPECT_EQ(percentile_label(100), "max");
  EXPECT_EQ(format_us(500), "500us");
  EXPECT_EQ(format_us(2500), "2.5ms");
  EXPECT_EQ(format_us(1e6), "1s");
  EXPECT_EQ(format_number(950), "950");
  EXPECT_EQ(format_number(12500), "12.5k");
  EXPECT_EQ(format_number(1.2e6), "1.2M");
  EXPECT_EQ(xml_escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c'");  // attributes are double-quoted
  EXPECT_EQ(xml_escape("w\xff\x01x"), "w\xef\xbf\xbd\xef\xbf\xbdx");  // invalid UTF-8, control byte
}

TEST(Charts, RpsBarsProportionalToValues) {
  const std::vector<RpsSeries> s = {{"2.4.0", {10000, 12500, 11000}}, {"git:master", {9000, 9500, 20000}}};
  const std::string svg = rps_chart(s, {"RPS", 800, 400});
  EXPECT_TRUE(xml_valid(svg));
  const auto b = bars(svg);
  ASSERT_EQ(b.size(), 6u);
  const double per_unit = b[0].height / b[0].value;
  for (const auto& bar : b) EXPECT_NEAR(bar.height / bar.value, per_unit, 0.011 / bar.value) << bar.value;
  // Bars share one baseline and go left to right in input order.
  for (size_t i = 1; i < b.size(); ++i) {
    EXPECT_NEAR(b[i].y + b[i].height, b[0].y + b[0].height, 0.011);
    EXPECT_GT(b[i].x, b[i - 1].x);
  }
  // The axis reaches a nice value >= the largest run (20000 -> 20000).
  EXPECT_NEAR(b[5].y, 50.0, 0.011);  // the plot's top: the tallest bar fills the axis
  // Mean lines and whiskers per series.
  EXPECT_NE(svg.find("class=\"mean\" data-value=\"11166.667\""), std::string::npos);
  EXPECT_NE(svg.find("class=\"whisker\" data-min=\"10000\" data-max=\"12500\""), std::string::npos);
  EXPECT_NE(svg.find("class=\"whisker\" data-min=\"9000\" data-max=\"20000\""), std::string::npos);
  EXPECT_NE(svg.find(">20k</text>"), std::string::npos);  // tick labels, one unit for all
  EXPECT_NE(svg.find(">5k</text>"), std::string::npos);
  EXPECT_NE(svg.find(">0</text>"), std::string::npos);
}

TEST(Charts, LatencyBarsOnLogAxis) {
  const std::vector<LatencySeries> s = {
      {"run 1", {{50, 800}, {75, 1200}, {90, 2000}, {99, 9000}, {99.9, 25000}, {100, 80000}}},
      {"run 2", {{99.9, 30000}, {50, 700}, {100, 60000}}},  // a subset, unordered
  };
  const std::string svg = latency_chart(s, {"Latency", 900, 420});
  EXPECT_TRUE(xml_valid(svg));
  const auto b = bars(svg);
  ASSERT_EQ(b.size(), 9u);
  const Axis axis = log_axis(700, 80000);  // 100us .. 100ms
  ASSERT_DOUBLE_EQ(axis.min, 100);
  // Height proportional to log10(value / axis min).
  const double per_decade = b[0].height / std::log10(b[0].value / axis.min);
  for (const auto& bar : b) {
    EXPECT_NEAR(bar.height, per_decade * std::log10(bar.value / axis.min), 0.03) << bar.value;
  }
  // Groups by percentile ascending: p50 (run 1, run 2), p75, p90, p99, p99.9 (2), max (2).
  EXPECT_EQ(b[0].value, 800);
  EXPECT_EQ(b[1].value, 700);
  EXPECT_EQ(b[7].value, 80000);
  EXPECT_EQ(b[8].value, 60000);
  for (const char* label : {">p50<", ">p75<", ">p90<", ">p99<", ">p99.9<", ">max<", ">1ms<", ">100ms<"}) {
    EXPECT_NE(svg.find(label), std::string::npos) << label;
  }
}

TEST(Charts, EscapesLabels) {
  const std::string nasty = "v<1&2>\"x\"";
  const std::string a = rps_chart({{nasty, {1, 2}}, {"b", {3}}}, {"T <&> T", 600, 300});
  const std::string b = latency_chart({{nasty, {{50, 10}}}}, {"T <&> T", 600, 300});
  for (const auto& svg : {a, b}) {
    EXPECT_TRUE(xml_valid(svg));
    EXPECT_EQ(svg.find(nasty), std::string::npos);
    EXPECT_EQ(svg.find("<&>"), std::string::npos);
    EXPECT_NE(svg.find("v&lt;1&amp;2&gt;&quot;x&quot;"), std::string::npos);
    EXPECT_NE(svg.find("T &lt;&amp;&gt; T"), std::string::npos);
  }
}

TEST(Charts, EmptyAndOneRun) {
  for (const auto& svg : {rps_chart({}), rps_chart({{"x", {}}}), latency_chart({}), latency_chart({{"x", {}}})}) {
    EXPECT_TRUE(xml_valid(svg));
    EXPECT_NE(svg.find("no data"), std::string::npos);
    EXPECT_TRUE(bars(svg).empty());
  }
  const std::string one = rps_chart({{"only", {4321}}});
  EXPECT_TRUE(xml_valid(one));
  ASSERT_EQ(bars(one).size(), 1u);
  EXPECT_GT(bars(one)[0].height, 0);
  EXPECT_NE(one.find("data-min=\"4321\" data-max=\"4321\""), std::string::npos);
  const std::string zero = rps_chart({{"zero", {0, 0}}});
  EXPECT_TRUE(xml_valid(zero));
  EXPECT_EQ(bars(zero).size(), 2u);
  EXPECT_EQ(bars(zero)[0].height, 0);
}

TEST(Charts, Deterministic) {
  const std::vector<RpsSeries> s = {{"a", {1.5, 2.25, 3}}};
  EXPECT_EQ(rps_chart(s), rps_chart(s));
  const std::vector<LatencySeries> l = {{"a", {{50, 1}, {99, 1000}}}};
  EXPECT_EQ(latency_chart(l), latency_chart(l));
}

}  // namespace
}  // namespace kperf::charts

// Test helper: pulls every frame of a flame graph SVG (ours or flamegraph.pl's) out as
// (title, x, y, width, label), entities decoded, so tests compare what is drawn.
#pragma once

#include <algorithm>
#include <regex>
#include <string>
#include <tuple>
#include <vector>

namespace kperf::fg::test {

struct SvgFrame {
  std::string title;
  std::string x, y, width;
  std::string label;
  auto key() const { return std::tie(title, x, y, width, label); }
  bool operator<(const SvgFrame& o) const { return key() < o.key(); }
  bool operator==(const SvgFrame& o) const { return key() == o.key(); }
};

inline std::string xml_unescape(std::string s) {
  const std::pair<const char*, const char*> ents[] = {
      {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&apos;", "'"}, {"&amp;", "&"}};
  for (const auto& [from, to] : ents) {
    for (std::size_t p = 0; (p = s.find(from, p)) != std::string::npos; p += std::string(to).size()) {
      s.replace(p, std::string(from).size(), to);
    }
  }
  return s;
}

inline std::vector<SvgFrame> svg_frames(const std::string& svg) {
  static const std::regex re(
      R"re(<g\s*>\s*<title>([^<]*)</title>\s*<rect x="([^"]+)" y="([^"]+)" width="([^"]+)"[^>]*/>\s*<text\s+x="[^"]+" y="[^"]+"\s*>([^<]*)</text>)re");
  std::vector<SvgFrame> out;
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), re); it != std::sregex_iterator(); ++it) {
    const auto& m = *it;
    out.push_back(SvgFrame{xml_unescape(m[1]), m[2], m[3], m[4], xml_unescape(m[5])});
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace kperf::fg::test

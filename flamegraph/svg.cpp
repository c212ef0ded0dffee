// write_svg: header, style, settings + script, then one <g> per box. Numbers are
// formatted like flamegraph.pl's (x and width to 0.1 px, text x to 0.01 px), so the
// geometry of both can be compared directly.
#include "flamegraph/svg.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ostream>
#include <stdexcept>

#include <fmt/core.h>

#include "flamegraph/frame_kind.hpp"
#include "flamegraph/svg_script.hpp"
#include "flamegraph/text.hpp"

namespace kperf::fg {

namespace {

constexpr std::string_view kSearchColor = "rgb(230,0,230)";

// "%.1f" rounding, read back as the number it prints (flamegraph.pl computes widths
// from the printed x values).
double round1(double v, char* buf) {
  std::snprintf(buf, 64, "%.1f", v);
  return std::strtod(buf, nullptr);
}

// 1234567 -> "1,234,567" (the count is already rounded to an integer).
std::string with_commas(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.0f", v);  // C rounding, as Perl's sprintf
  std::string digits = buf;
  std::size_t first = (!digits.empty() && (digits[0] == '-' || digits[0] == '+')) ? 1 : 0;
  std::string out;
  const std::size_t n = digits.size() - first;
  out.append(digits, 0, first);
  for (std::size_t i = 0; i < n; ++i) {
    if (i > 0 && (n - i) % 3 == 0) out += ',';
    out += digits[first + i];
  }
  return out;
}

std::string xml(std::string_view s) {
  std::string out;
  append_xml_escaped(out, s);
  return out;
}

bool safe_color(std::string_view c) {
  return c.find_first_not_of("rgb(),#0123456789abcdefABCDEF") == std::string_view::npos;
}

}  // namespace

void write_svg(const StackTrie& trie, const Layout& layout, const SvgOptions& o, std::ostream& os) {
  if (o.notes.find_first_of("<>") != std::string::npos) {
    throw std::invalid_argument("--notes must not contain < or >");
  }
  if (o.notes.find("--") != std::string::npos) {
    throw std::invalid_argument("--notes must not contain -- (it goes into an XML comment)");
  }
  const Background bg = background_for(o.bgcolors, o.palette);
  std::string title = o.title;
  if (title.empty()) title = o.flamechart ? "Flame Chart" : o.inverted ? "Icicle Graph" : "Flame Graph";

  const double fs = o.font_size;
  const double ypad1 = fs * 3;
  const double ypad2 = fs * 2 + 10;
  const double ypad3 = o.subtitle.empty() ? 0 : fs * 2;
  const double top = ypad1 + (o.inverted ? ypad3 : 0);
  const double height = (layout.max_depth + 1.0) * o.frame_height + ypad1 + ypad2 + ypad3;
  const double total = layout.total;
  const double per_sample = total > 0 ? (o.width - 2 * kSvgXPad) / total : 0;
  const int mid = o.width / 2;

  std::string out;
  out.reserve(1 << 20);
  auto flush = [&] {
    os.write(out.data(), static_cast<std::streamsize>(out.size()));
    out.clear();
  };

  out += fmt::format(
      "<?xml version=\"1.0\" standalone=\"no\"?>\n"
      "<!DOCTYPE svg PUBLIC \"-//W3C//DTD SVG 1.1//EN\" "
      "\"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd\">\n"
      "<svg version=\"1.1\" width=\"{0}\" height=\"{1}\" onload=\"init(evt)\" "
      "viewBox=\"0 0 {0} {1}\" xmlns=\"http://www.w3.org/2000/svg\" "
      "xmlns:xlink=\"http://www.w3.org/1999/xlink\">\n"
      "<!-- Flame graph written by kperf (kperf flamegraph). Hover a frame for details, "
      "click to zoom, Ctrl-F to search. -->\n"
      "<!-- NOTES: {2} -->\n",
      o.width, height, xml(o.notes));
  out += fmt::format(
      "<defs>\n"
      "  <linearGradient id=\"background\" y1=\"0\" y2=\"1\" x1=\"0\" x2=\"0\">\n"
      "    <stop stop-color=\"{}\" offset=\"5%\"/>\n"
      "    <stop stop-color=\"{}\" offset=\"95%\"/>\n"
      "  </linearGradient>\n"
      "</defs>\n",
      bg.top, bg.bottom);
  out += fmt::format(
      "<style type=\"text/css\">\n"
      "  text {{ font-family:{0}; font-size:{1}px; fill:rgb(0,0,0); }}\n"
      "  #title {{ text-anchor:middle; font-size:{2}px; }}\n"
      "  #subtitle {{ text-anchor:middle; fill:rgb(160,160,160); }}\n"
      "  #search, #ignorecase {{ opacity:0.1; cursor:pointer; }}\n"
      "  #search:hover, #search.show, #ignorecase:hover, #ignorecase.show {{ opacity:1; }}\n"
      "  #unzoom {{ cursor:pointer; }}\n"
      "  #frames > *:hover {{ stroke:black; stroke-width:0.5; cursor:pointer; }}\n"
      "  .hide {{ display:none; }}\n"
      "  .parent {{ opacity:0.5; }}\n"
      "</style>\n",
      xml(o.font_type), fs, fs + 5);
  std::string config = "var fgConfig = {";
  config += fmt::format("xpad: {}, width: {}, fontSize: {}, fontWidth: {}, inverted: {}, ",
                        kSvgXPad, o.width, fs, o.font_width, o.inverted ? "true" : "false");
  config += "nameType: ";
  append_json_string(config, o.name_type);
  config += ", searchColor: ";
  append_json_string(config, kSearchColor);
  config += "};\n";
  out += "<script type=\"text/ecmascript\">\n<![CDATA[\n";
  out += config;
  out += svg_script();
  out += "]]>\n</script>\n";

  out += fmt::format("<rect x=\"0.0\" y=\"0\" width=\"{}.0\" height=\"{}\" fill=\"url(#background)\"/>\n",
                     o.width, height);
  out += fmt::format("<text id=\"title\" x=\"{}\" y=\"{}\">{}</text>\n", mid, fs * 2, xml(title));
  if (!o.subtitle.empty()) {
    out += fmt::format("<text id=\"subtitle\" x=\"{}\" y=\"{}\">{}</text>\n", mid, fs * 4,
                       xml(o.subtitle));
  }
  out += fmt::format("<text id=\"details\" x=\"{}\" y=\"{}\"> </text>\n", kSvgXPad, height - ypad2 / 2);
  out += fmt::format("<text id=\"unzoom\" class=\"hide\" x=\"{}\" y=\"{}\">Reset Zoom</text>\n",
                     kSvgXPad, fs * 2);
  out += fmt::format("<text id=\"search\" x=\"{}\" y=\"{}\">Search</text>\n",
                     o.width - kSvgXPad - 100, fs * 2);
  out += fmt::format("<text id=\"ignorecase\" x=\"{}\" y=\"{}\">ic</text>\n",
                     o.width - kSvgXPad - 16, fs * 2);
  out += fmt::format("<text id=\"matched\" x=\"{}\" y=\"{}\"> </text>\n",
                     o.width - kSvgXPad - 100, height - ypad2 / 2);

  out += "<g id=\"frames\">\n";
  const std::string count_name = xml(o.count_name);
  const double denom = total * o.factor;
  char nb[64];
  std::string name;
  std::string label;
  for (const Box& b : layout.boxes) {
    const bool is_root = b.frame == FrameTable::kNone;
    const std::string_view raw = is_root ? std::string_view("all") : trie.frames().name(b.frame);
    const double end = is_root ? total : b.end;
    const double x1 = kSvgXPad + b.start * per_sample;
    const double x2 = kSvgXPad + end * per_sample;
    double y1, y2;
    if (!o.inverted) {
      y1 = height - ypad2 - (b.depth + 1.0) * o.frame_height + 1;
      y2 = height - ypad2 - b.depth * static_cast<double>(o.frame_height);
    } else {
      y1 = top + b.depth * static_cast<double>(o.frame_height);
      y2 = top + (b.depth + 1.0) * o.frame_height - 1;
    }
    const double samples = std::nearbyint((end - b.start) * o.factor);
    const std::string samples_txt = with_commas((end - b.start) * o.factor);
    const std::string_view shown = strip_annotation(raw);
    name.clear();
    append_xml_escaped(name, shown);

    out += "<g><title>";
    if (is_root) {
      out += fmt::format("all ({} {}, 100%)", samples_txt, count_name);
    } else {
      const double pct = denom > 0 ? 100 * samples / denom : 0;
      out += name;
      out += fmt::format(" ({} {}, {:.2f}%", samples_txt, count_name, pct);
      if (b.has_delta) {
        const double d = (o.negate ? -b.delta : b.delta) + 0.0;  // no "-0.00%"
        const double dpct = denom > 0 ? 100 * d / denom : 0;
        out += fmt::format("; {}{:.2f}%", d > 0 ? "+" : "", dpct);
      }
      out += ")";
    }
    out += "</title>";

    std::string color;
    if (!is_root && raw == "--") {
      color = "rgb(160,160,160)";
    } else if (!is_root && raw == "-") {
      color = "rgb(200,200,200)";
    } else if (b.has_delta) {
      color = css_rgb(diff_color(b.delta, layout.max_delta, o.negate));
    } else {
      const std::string fresh = css_rgb(frame_color(o.palette, raw, o.hash));
      color = o.palette_map ? o.palette_map->color(raw, fresh) : fresh;
      if (!safe_color(color)) color = fresh;
    }
    const double rx1 = round1(x1, nb);
    const double rx2 = round1(x2, nb);
    out += fmt::format("<rect x=\"{:.1f}\" y=\"{}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\" rx=\"2\" ry=\"2\"/>",
                       rx1, y1, rx2 - rx1, y2 - y1, color);

    label.clear();
    const double fit = (x2 - x1) / (fs * o.font_width);
    const auto chars = fit >= 3 ? static_cast<std::size_t>(fit) : 0;
    if (chars >= 3 && !is_root) {  // the root box is unlabeled, as in flamegraph.pl
      const std::size_t len = utf8_length(shown);
      if (chars < len) {
        append_xml_escaped(label, utf8_prefix(shown, chars - 2));
        label += "..";
      } else {
        label = name;
      }
    }
    out += fmt::format("<text x=\"{:.2f}\" y=\"{}\">{}</text></g>\n", x1 + 3, 3 + (y1 + y2) / 2, label);
    if (out.size() > (1 << 20)) flush();
  }
  out += "</g>\n</svg>\n";
  flush();
}

}  // namespace kperf::fg

// SVG chart rendering: axes with nice ticks, bars, mean lines and whiskers as plain SVG
// elements with <title> tooltips; coordinates printed with two decimals.
#include "kperf/report/charts.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

#include "flamegraph/text.hpp"

namespace kperf::charts {

namespace {

constexpr double kLeft = 80, kRight = 20, kTop = 50, kBottom = 70;
constexpr std::string_view kPalette[] = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759",
                                         "#76b7b2", "#edc948", "#b07aa1", "#9c755f"};

std::string_view color(std::size_t i) { return kPalette[i % std::size(kPalette)]; }

std::string num(double v) { return fmt::format("{:.2f}", v); }

// "%g"-like without exponent for the ranges charts use: 2.5 -> "2.5", 3 -> "3".
std::string trim_number(double v) {
  std::string s = fmt::format("{:.3f}", v);
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  if (s == "-0") s = "0";
  return s;
}

struct Plot {
  double x0, y0, x1, y1;  // left, top, right, bottom of the plot area
};

Plot plot_area(const ChartStyle& style) {
  const double w = std::max(style.width, 200), h = std::max(style.height, 150);
  return Plot{kLeft, kTop, w - kRight, h - kBottom};
}

void open_svg(std::string& out, const ChartStyle& style) {
  const int w = std::max(style.width, 200), h = std::max(style.height, 150);
  out += fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" "
      "viewBox=\"0 0 {0} {1}\" font-family=\"Verdana, sans-serif\" font-size=\"12\">\n"
      "<rect x=\"0\" y=\"0\" width=\"{0}\" height=\"{1}\" fill=\"#ffffff\"/>\n",
      w, h);
  if (!style.title.empty()) {
    out += fmt::format("<text class=\"title\" x=\"{}\" y=\"24\" text-anchor=\"middle\" font-size=\"16\">{}</text>\n",
                       num(w / 2.0), xml_escape(style.title));
  }
}

void no_data(std::string& out, const ChartStyle& style) {
  const Plot p = plot_area(style);
  out += fmt::format("<text class=\"nodata\" x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#666666\">no data</text>\n",
                     num((p.x0 + p.x1) / 2), num((p.y0 + p.y1) / 2));
  out += "</svg>\n";
}

// Horizontal grid lines and tick labels; `y_of` maps a value to its y coordinate.
template <typename F, typename L>
void y_axis(std::string& out, const Plot& p, const Axis& axis, F y_of, L label, std::string_view unit) {
  out += "<g class=\"y-axis\">\n";
  for (double t : axis.ticks) {
    const double y = y_of(t);
    out += fmt::format("<line x1=\"{0}\" y1=\"{2}\" x2=\"{1}\" y2=\"{2}\" stroke=\"#dddddd\"/>\n", num(p.x0),
                       num(p.x1), num(y));
    out += fmt::format("<text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n", num(p.x0 - 6),
                       num(y + 4), xml_escape(label(t)));
  }
  out += fmt::format("<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"#000000\"/>\n", num(p.x0),
                     num(p.y0), num(p.y1));
  out += fmt::format("<line x1=\"{0}\" y1=\"{2}\" x2=\"{1}\" y2=\"{2}\" stroke=\"#000000\"/>\n", num(p.x0),
                     num(p.x1), num(p.y1));
  out += fmt::format(
      "<text class=\"unit\" x=\"{0}\" y=\"{1}\" text-anchor=\"middle\" transform=\"rotate(-90 {0} {1})\">{2}</text>\n",
      num(18.0), num((p.y0 + p.y1) / 2), xml_escape(unit));
  out += "</g>\n";
}

std::string us_label(double v) { return format_us(v); }

void legend(std::string& out, const Plot& p, const std::vector<std::string>& names) {
  double x = p.x0;
  const double y = p.y1 + 50;
  out += "<g class=\"legend\">\n";
  for (std::size_t i = 0; i < names.size(); ++i) {
    out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"10\" height=\"10\" fill=\"{}\"/>\n", num(x), num(y - 9),
                       color(i));
    out += fmt::format("<text x=\"{}\" y=\"{}\">{}</text>\n", num(x + 14), num(y), xml_escape(names[i]));
    x += 24 + 7.0 * static_cast<double>(names[i].size());
  }
  out += "</g>\n";
}

}  // namespace

std::string xml_escape(std::string_view s) {
  std::string out;
  fg::append_xml_escaped(out, s);  // the renderers' one escaper: invalid UTF-8 -> U+FFFD
  return out;
}

Axis nice_linear_axis(double max_value, int target_ticks) {
  Axis a;
  a.min = 0;
  if (!(max_value > 0) || !std::isfinite(max_value)) {
    a.max = 1;
    a.ticks = {0, 0.2, 0.4, 0.6, 0.8, 1};
    return a;
  }
  target_ticks = std::max(target_ticks, 1);
  const double raw = max_value / target_ticks;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = 10 * mag;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  }
  const double n = std::ceil(max_value / step - 1e-9);
  a.max = n * step;
  for (int i = 0; i <= static_cast<int>(n); ++i) a.ticks.push_back(i * step);
  return a;
}

Axis log_axis(double min_value, double max_value) {
  if (!(min_value > 0) || !std::isfinite(min_value)) min_value = 1;
  if (!(max_value > 0) || !std::isfinite(max_value)) max_value = 1;
  if (max_value < min_value) std::swap(min_value, max_value);
  int lo = static_cast<int>(std::floor(std::log10(min_value) + 1e-9));
  int hi = static_cast<int>(std::ceil(std::log10(max_value) - 1e-9));
  if (hi <= lo) hi = lo + 1;
  Axis a;
  a.min = std::pow(10.0, lo);
  a.max = std::pow(10.0, hi);
  const bool dense = hi - lo <= 3;
  for (int d = lo; d <= hi; ++d) {
    const double base = std::pow(10.0, d);
    a.ticks.push_back(base);
    if (dense && d < hi) {
      a.ticks.push_back(2 * base);
      a.ticks.push_back(5 * base);
    }
  }
  return a;
}

std::string percentile_label(double p) {
  if (p >= 100) return "max";
  return "p" + trim_number(p);
}

std::string format_us(double us) {
  if (us >= 1e6) return trim_number(us / 1e6) + "s";
  if (us >= 1e3) return trim_number(us / 1e3) + "ms";
  return trim_number(us) + "us";
}

std::string format_number(double v) {
  const double a = std::fabs(v);
  if (a >= 1e6) return trim_number(v / 1e6) + "M";
  if (a >= 1e4) return trim_number(v / 1e3) + "k";
  return trim_number(v);
}

std::string rps_chart(const std::vector<RpsSeries>& series, const ChartStyle& style) {
  std::string out;
  open_svg(out, style);
  std::size_t runs = 0;
  double max_v = 0;
  for (const auto& s : series) {
    runs += s.runs.size();
    for (double v : s.runs) max_v = std::max(max_v, v);
  }
  if (runs == 0) {
    no_data(out, style);
    return out;
  }
  const Plot p = plot_area(style);
  const Axis axis = nice_linear_axis(max_v);
  auto y_of = [&](double v) {
    v = std::clamp(v, axis.min, axis.max);
    return p.y1 - (v - axis.min) / (axis.max - axis.min) * (p.y1 - p.y0);
  };
  // One unit for all tick labels: thousands once the axis reaches 10k.
  const bool kilo = axis.max >= 1e4 && axis.max < 1e6;
  auto tick_label = [kilo](double v) { return kilo && v != 0 ? trim_number(v / 1e3) + "k" : format_number(v); };
  y_axis(out, p, axis, y_of, tick_label, "requests/s");

  // One slot per run plus one per series (its whisker and the gap to the next group).
  std::size_t nonempty = 0;
  for (const auto& s : series) nonempty += s.runs.empty() ? 0 : 1;
  const double unit = (p.x1 - p.x0) / static_cast<double>(runs + nonempty);
  double x = p.x0 + unit * 0.25;
  std::vector<std::string> names;
  for (std::size_t si = 0; si < series.size(); ++si) {
    const auto& s = series[si];
    names.push_back(s.name);
    if (s.runs.empty()) continue;
    const double group_x = x;
    out += fmt::format("<g class=\"series\" data-name=\"{}\">\n", xml_escape(s.name));
    for (std::size_t r = 0; r < s.runs.size(); ++r) {
      const double v = s.runs[r];
      const double top = y_of(v);
      out += fmt::format(
          "<rect class=\"bar\" data-value=\"{}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\">"
          "<title>{} run {}: {} requests/s</title></rect>\n",
          trim_number(v), num(x + unit * 0.1), num(top), num(unit * 0.8), num(p.y1 - top), color(si),
          xml_escape(s.name), r + 1, trim_number(v));
      out += fmt::format("<text class=\"run\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
                         num(x + unit * 0.5), num(p.y1 + 14), r + 1);
      x += unit;
    }
    const auto [mn, mx] = std::minmax_element(s.runs.begin(), s.runs.end());
    const double mean = std::accumulate(s.runs.begin(), s.runs.end(), 0.0) / static_cast<double>(s.runs.size());
    const double wx = x + unit * 0.35;
    out += fmt::format(
        "<line class=\"mean\" data-value=\"{0}\" x1=\"{1}\" y1=\"{2}\" x2=\"{3}\" y2=\"{2}\" stroke=\"#000000\" "
        "stroke-dasharray=\"4 3\"><title>{4} mean: {5} requests/s</title></line>\n",
        trim_number(mean), num(group_x), num(y_of(mean)), num(wx + unit * 0.15), xml_escape(s.name),
        trim_number(mean));
    out += fmt::format(
        "<g class=\"whisker\" data-min=\"{0}\" data-max=\"{1}\" stroke=\"#333333\"><title>{2} min {0} / max {1}</title>"
        "<line x1=\"{3}\" y1=\"{4}\" x2=\"{3}\" y2=\"{5}\"/>"
        "<line x1=\"{6}\" y1=\"{4}\" x2=\"{7}\" y2=\"{4}\"/>"
        "<line x1=\"{6}\" y1=\"{5}\" x2=\"{7}\" y2=\"{5}\"/></g>\n",
        trim_number(*mn), trim_number(*mx), xml_escape(s.name), num(wx), num(y_of(*mn)), num(y_of(*mx)),
        num(wx - 5), num(wx + 5));
    out += fmt::format("<text class=\"group\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
                       num((group_x + x) / 2), num(p.y1 + 30), xml_escape(s.name));
    out += "</g>\n";
    x += unit;
  }
  if (series.size() > 1) legend(out, p, names);
  out += "</svg>\n";
  return out;
}

std::string latency_chart(const std::vector<LatencySeries>& series, const ChartStyle& style) {
  std::string out;
  open_svg(out, style);
  std::vector<double> pcts;
  double lo = 0, hi = 0;
  for (const auto& s : series) {
    for (const auto& pt : s.points) {
      pcts.push_back(pt.percentile);
      if (pt.us > 0) {
        lo = lo > 0 ? std::min(lo, pt.us) : pt.us;
        hi = std::max(hi, pt.us);
      }
    }
  }
  std::sort(pcts.begin(), pcts.end());
  pcts.erase(std::unique(pcts.begin(), pcts.end()), pcts.end());
  if (pcts.empty()) {
    no_data(out, style);
    return out;
  }
  const Plot p = plot_area(style);
  const Axis axis = log_axis(lo, hi);
  const double llo = std::log10(axis.min), lhi = std::log10(axis.max);
  auto y_of = [&](double v) {
    const double l = v > 0 ? std::clamp(std::log10(v), llo, lhi) : llo;
    return p.y1 - (l - llo) / (lhi - llo) * (p.y1 - p.y0);
  };
  y_axis(out, p, axis, y_of, us_label, "latency");

  const std::size_t n = std::max<std::size_t>(series.size(), 1);
  const double group_w = (p.x1 - p.x0) / static_cast<double>(pcts.size());
  const double bar_w = group_w * 0.8 / static_cast<double>(n);
  for (std::size_t gi = 0; gi < pcts.size(); ++gi) {
    const double gx = p.x0 + group_w * static_cast<double>(gi) + group_w * 0.1;
    const std::string label = percentile_label(pcts[gi]);
    out += fmt::format("<g class=\"percentile\" data-percentile=\"{}\">\n", xml_escape(label));
    for (std::size_t si = 0; si < series.size(); ++si) {
      const auto& pts = series[si].points;
      const auto it = std::find_if(pts.begin(), pts.end(),
                                   [&](const LatencyPoint& pt) { return pt.percentile == pcts[gi]; });
      if (it == pts.end()) continue;
      const double top = y_of(it->us);
      out += fmt::format(
          "<rect class=\"bar\" data-value=\"{}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\">"
          "<title>{} {}: {}</title></rect>\n",
          trim_number(it->us), num(gx + bar_w * static_cast<double>(si)), num(top), num(bar_w), num(p.y1 - top),
          color(si), xml_escape(series[si].name), xml_escape(label), xml_escape(format_us(it->us)));
    }
    out += fmt::format("<text class=\"label\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
                       num(gx + group_w * 0.4), num(p.y1 + 16), xml_escape(label));
    out += "</g>\n";
  }
  std::vector<std::string> names;
  for (const auto& s : series) names.push_back(s.name);
  legend(out, p, names);
  out += "</svg>\n";
  return out;
}

}  // namespace kperf::charts

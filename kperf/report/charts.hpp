// Self-contained SVG charts for `kperf profile` reports (no script): requests/s per run
// (bars, mean line, min/max whisker per series) and latency percentiles (grouped bars
// on a logarithmic axis). Deterministic output: same input, same bytes.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace kperf::charts {

// One version / workload: the requests/s of each of its runs, in run order.
struct RpsSeries {
  std::string name;
  std::vector<double> runs;
};

// A latency percentile: 50, 75, 90, 99, 99.9; 100 is the maximum.
struct LatencyPoint {
  double percentile = 0;
  double us = 0;  // microseconds
};

// One run / version: its percentiles (any subset, any order).
struct LatencySeries {
  std::string name;
  std::vector<LatencyPoint> points;
};

struct ChartStyle {
  std::string title;
  int width = 800;
  int height = 400;
};

// A value axis: [min, max] and the labelled tick values within it.
struct Axis {
  double min = 0;
  double max = 1;
  std::vector<double> ticks;
};

// Linear axis from 0 to a multiple of a "nice" step (1, 2, 2.5 or 5 x 10^k) >= max_value,
// with about `target_ticks` intervals. max_value <= 0 gives [0, 1].
Axis nice_linear_axis(double max_value, int target_ticks = 5);
// Logarithmic axis from the decade at or below min_value to the decade at or above
// max_value (at least one decade); ticks at 1, 2, 5 x 10^k (decades only when the
// axis spans more than 3 decades). Non-positive values are treated as 1.
Axis log_axis(double min_value, double max_value);

// "p50", "p99.9", "max" (100).
std::string percentile_label(double percentile);
// Microseconds as "500us", "2.5ms", "1s".
std::string format_us(double us);
// A count as "950", "12.5k", "1.2M".
std::string format_number(double v);
// Text escaped for XML character data and attribute values (flamegraph/text's escaper:
// invalid UTF-8 and forbidden control bytes become U+FFFD).
std::string xml_escape(std::string_view s);

// Bars: one per run, grouped per series, each group with a dashed mean line and a
// min/max whisker; bar rects carry class="bar" and data-value. Empty input (or series
// without runs) gives a chart saying "no data".
std::string rps_chart(const std::vector<RpsSeries>& series, const ChartStyle& style = {});

// Grouped bars: one group per percentile (union over the series, ascending), one bar
// per series, heights on a log axis; bar rects carry class="bar" and data-value (us).
std::string latency_chart(const std::vector<LatencySeries>& series, const ChartStyle& style = {});

}  // namespace kperf::charts

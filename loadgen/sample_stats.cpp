// SampleStats: plain two-pass statistics over the stored samples.
#include "loadgen/sample_stats.hpp"

#include <algorithm>
#include <cmath>

namespace kperf::loadgen {

double SampleStats::mean() const {
  if (samples.empty()) return 0.0;
  double sum = 0;
  for (double v : samples) sum += v;
  return sum / static_cast<double>(samples.size());
}

double SampleStats::stdev() const {
  if (samples.size() < 2) return 0.0;
  const double m = mean();
  double sq = 0;
  for (double v : samples) sq += (v - m) * (v - m);
  return std::sqrt(sq / static_cast<double>(samples.size() - 1));
}

double SampleStats::max() const {
  return samples.empty() ? 0.0 : *std::max_element(samples.begin(), samples.end());
}

double SampleStats::within_stdev(double n) const {
  if (samples.empty()) return 0.0;
  const double m = mean(), s = stdev();
  size_t in = 0;
  for (double v : samples) in += (v >= m - n * s && v <= m + n * s) ? 1 : 0;
  return 100.0 * static_cast<double>(in) / static_cast<double>(samples.size());
}

}  // namespace kperf::loadgen

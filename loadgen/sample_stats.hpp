// Summary statistics of a small series of samples (per-thread requests/sec taken every
// 100 ms, like wrk's "Req/Sec" row): mean, stdev, max, percentage within +/- 1 stdev.
#pragma once

#include <vector>

namespace kperf::loadgen {

struct SampleStats {
  std::vector<double> samples;

  void add(double v) { samples.push_back(v); }
  void merge(const SampleStats& other) {
    samples.insert(samples.end(), other.samples.begin(), other.samples.end());
  }
  double mean() const;
  double stdev() const;
  double max() const;
  double within_stdev(double n) const;
};

}  // namespace kperf::loadgen

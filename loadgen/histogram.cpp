// Histogram: 2048 exact buckets for 0..2047 us, then 1024 sub-buckets per power of two
// (relative bucket width <= 1/1024), so every value keeps 3 significant digits.
#include "loadgen/histogram.hpp"

#include <algorithm>
#include <cmath>

namespace kperf::loadgen {


uint64_t Histogram::lowest_of(size_t index) {
  if (index < kLinear) return index;
  const uint64_t k = index - kLinear;
  const uint64_t shift = k / kHalf + 1;
  const uint64_t sub = k % kHalf + kHalf;
  return sub << shift;
}

uint64_t Histogram::highest_of(size_t index) {
  if (index < kLinear) return index;
  const uint64_t shift = (index - kLinear) / kHalf + 1;
  return lowest_of(index) + (uint64_t{1} << shift) - 1;
}

size_t Histogram::bucket_count() { return index_of(kMaxValue) + 1; }

Histogram::Histogram() : counts_(bucket_count(), 0) {}

void Histogram::record_n(uint64_t us, uint64_t n) {
  if (n == 0) return;
  if (us > kMaxValue) us = kMaxValue;
  counts_[index_of(us)] += n;
  count_ += n;
  if (us < min_) min_ = us;
  if (us > max_) max_ = us;
  sum_ += static_cast<unsigned __int128>(us) * n;
  sum_sq_ += static_cast<unsigned __int128>(us * us) * n;
}

void Histogram::merge(const Histogram& other) {
  if (other.count_ == 0) return;
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
  sum_sq_ += other.sum_sq_;
}

void Histogram::reset() {
  std::fill(counts_.begin(), counts_.end(), 0);
  count_ = 0;
  min_ = UINT64_MAX;
  max_ = 0;
  sum_ = 0;
  sum_sq_ = 0;
}

double Histogram::mean() const {
  return count_ ? static_cast<double>(static_cast<long double>(sum_) / static_cast<long double>(count_))
                : 0.0;
}

double Histogram::stdev() const {
  if (count_ < 2) return 0.0;
  const long double n = static_cast<long double>(count_);
  const long double m = static_cast<long double>(sum_) / n;
  long double var = (static_cast<long double>(sum_sq_) - n * m * m) / (n - 1);
  if (var < 0) var = 0;
  return static_cast<double>(std::sqrt(var));
}

uint64_t Histogram::percentile(double p) const {
  if (count_ == 0) return 0;
  p = std::clamp(p, 0.0, 100.0);
  uint64_t target = static_cast<uint64_t>(std::ceil(p / 100.0 * static_cast<double>(count_)));
  target = std::clamp<uint64_t>(target, 1, count_);
  uint64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= target) return std::clamp(highest_of(i), min_, max_);
  }
  return max_;
}

double Histogram::within_stdev(double mean, double stdev, double n) const {
  if (count_ == 0) return 0.0;
  const double lower = mean - n * stdev;
  const double upper = mean + n * stdev;
  uint64_t sum = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    if (counts_[i] == 0) continue;
    const double mid = (static_cast<double>(lowest_of(i)) + static_cast<double>(highest_of(i))) / 2.0;
    if (mid >= lower && mid <= upper) sum += counts_[i];
  }
  return 100.0 * static_cast<double>(sum) / static_cast<double>(count_);
}

}  // namespace kperf::loadgen

// Latency histogram: log-linear buckets (HDR-style), 1 us to 1 h at 3 significant digits.
// One per worker thread (no locks), merged at the end of a run and across runs.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace kperf::loadgen {

class Histogram {
 public:
  static constexpr uint64_t kMaxValue = 3'600'000'000ULL;  // 1 hour in microseconds
  // 2048 exact buckets for 0..2047 us, then 1024 sub-buckets per power of two.
  static constexpr uint64_t kLinear = 2048;
  static constexpr uint64_t kHalf = 1024;

  Histogram();

  // Records one value in microseconds; values above kMaxValue are clamped to it.
  void record(uint64_t us) {
    if (us > kMaxValue) us = kMaxValue;
    ++counts_[index_of(us)];
    ++count_;
    if (us < min_) min_ = us;
    if (us > max_) max_ = us;
    sum_ += us;
    sum_sq_ += static_cast<unsigned __int128>(us * us);
  }
  void record_n(uint64_t us, uint64_t n);
  void merge(const Histogram& other);
  void reset();

  uint64_t count() const { return count_; }
  uint64_t min() const { return count_ ? min_ : 0; }
  uint64_t max() const { return max_; }
  // Exact mean and standard deviation of the recorded values (not of the buckets).
  double mean() const;
  double stdev() const;
  // The value at percentile p (0..100]: the highest value equivalent (within the
  // bucket's resolution, < 0.1%) to the ceil(p/100*count)-th smallest recorded value.
  uint64_t percentile(double p) const;
  // Percentage of values within mean +/- n * stdev (wrk's "+/- Stdev" column).
  double within_stdev(double mean, double stdev, double n) const;

  // Bucket layout, exposed for tests: index of a value and the value range of an index.
  static size_t index_of(uint64_t v) {
    if (v < kLinear) return static_cast<size_t>(v);
    const int msb = 63 - std::countl_zero(v);  // >= 11
    const int shift = msb - 10;
    const uint64_t sub = v >> shift;  // in [1024, 2047]
    return static_cast<size_t>(kLinear + static_cast<uint64_t>(shift - 1) * kHalf + (sub - kHalf));
  }
  static uint64_t lowest_of(size_t index);
  static uint64_t highest_of(size_t index);
  static size_t bucket_count();

 private:
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
  // Exact sums in integers (cheap on the hot path, no rounding): values are <= 2^32 us.
  unsigned __int128 sum_ = 0;
  unsigned __int128 sum_sq_ = 0;
};

}  // namespace kperf::loadgen

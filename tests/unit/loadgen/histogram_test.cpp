// Histogram: percentile accuracy against an exact sort of random data, bucket layout,
// merging, exact mean/stdev.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "loadgen/histogram.hpp"

namespace kperf::loadgen {
namespace {

uint64_t exact_percentile(const std::vector<uint64_t>& sorted, double p) {
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

void check_accuracy(const std::vector<uint64_t>& values) {
  Histogram h;
  for (uint64_t v : values) h.record(v);
  std::vector<uint64_t> sorted = values;
  std::sort(sorted.begin(), sorted.end());
  for (double p : {0.1, 1.0, 10.0, 25.0, 50.0, 75.0, 90.0, 99.0, 99.9, 99.99, 100.0}) {
    const uint64_t exact = exact_percentile(sorted, p);
    const uint64_t got = h.percentile(p);
    // 3 significant digits: within 0.1% (and never below the exact value).
    EXPECT_GE(got, exact) << "p" << p;
    EXPECT_LE(static_cast<double>(got - exact), static_cast<double>(exact) / 1000.0) << "p" << p;
  }
  EXPECT_EQ(h.max(), sorted.back());
  EXPECT_EQ(h.min(), sorted.front());
  EXPECT_EQ(h.percentile(100), sorted.back());
}

TEST(Histogram, PercentilesMatchExactSortOfLogNormalData) {
  std::mt19937_64 rng(1);
  std::lognormal_distribution<double> d(7.0, 1.5);  // ~1 ms median, long tail
  std::vector<uint64_t> v(200000);
  for (auto& x : v) x = static_cast<uint64_t>(std::min(d(rng), 3.6e9));
  check_accuracy(v);
}

TEST(Histogram, PercentilesMatchExactSortOfUniformWideRange) {
  std::mt19937_64 rng(2);
  std::uniform_int_distribution<uint64_t> e(0, 31);
  std::vector<uint64_t> v(100000);
  for (auto& x : v) x = std::min<uint64_t>((rng() >> 1) >> (63 - e(rng)), Histogram::kMaxValue) + 1;
  check_accuracy(v);
}

TEST(Histogram, BucketsCoverTheRangeWithThreeSignificantDigits) {
  EXPECT_EQ(Histogram::index_of(0), 0u);
  EXPECT_EQ(Histogram::index_of(2047), 2047u);
  size_t prev = 0;
  for (uint64_t v = 1; v <= Histogram::kMaxValue; v = v * 3 / 2 + 1) {
    const size_t i = Histogram::index_of(v);
    EXPECT_GE(i, prev);
    prev = i;
    EXPECT_LE(Histogram::lowest_of(i), v);
    EXPECT_GE(Histogram::highest_of(i), v);
    EXPECT_LE(static_cast<double>(Histogram::highest_of(i) - Histogram::lowest_of(i)),
              static_cast<double>(Histogram::lowest_of(i)) / 1000.0);
    EXPECT_EQ(Histogram::index_of(Histogram::highest_of(i) + 1), i + 1);
  }
  EXPECT_LT(Histogram::index_of(Histogram::kMaxValue), Histogram::bucket_count());
}

TEST(Histogram, MergeEqualsRecordingEverything) {
  std::mt19937_64 rng(3);
  std::exponential_distribution<double> d(1.0 / 5000);
  Histogram a, b, all;
  for (int i = 0; i < 50000; ++i) {
    const auto v = static_cast<uint64_t>(d(rng));
    (i % 3 ? a : b).record(v);
    all.record(v);
  }
  a.merge(b);
  EXPECT_EQ(a.count(), all.count());
  EXPECT_EQ(a.max(), all.max());
  EXPECT_EQ(a.min(), all.min());
  EXPECT_DOUBLE_EQ(a.mean(), all.mean());
  for (double p : {50.0, 90.0, 99.0, 99.99}) EXPECT_EQ(a.percentile(p), all.percentile(p));
}

TEST(Histogram, MeanAndStdevAreExactAndValuesClamp) {
  Histogram h;
  for (uint64_t v : {100, 200, 300, 400}) h.record(v);
  EXPECT_DOUBLE_EQ(h.mean(), 250.0);
  EXPECT_NEAR(h.stdev(), 129.0994, 1e-3);  // sample stdev
  EXPECT_DOUBLE_EQ(h.within_stdev(h.mean(), h.stdev(), 1), 50.0);
  h.record(Histogram::kMaxValue * 10);
  EXPECT_EQ(h.max(), Histogram::kMaxValue);
  Histogram empty;
  EXPECT_EQ(empty.percentile(50), 0u);
  EXPECT_EQ(empty.mean(), 0.0);
}

}  // namespace
}  // namespace kperf::loadgen

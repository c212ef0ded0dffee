// auto_ring_bytes: the ring buffer sized from the sampling rate, the copied stack and the
// CPUs (a quarter of a second of the largest records, Lua windows included), a power of
// 2 within 4..64 MiB.
#include <gtest/gtest.h>

#include "profiler/bpf/sample.h"
#include "profiler/sampler.hpp"

namespace {

using kperf::prof::auto_ring_bytes;

bool pow2(size_t v) { return v && (v & (v - 1)) == 0; }

TEST(RingSize, LowRatesGetTheFloor) {
  EXPECT_EQ(auto_ring_bytes(99, 16 * 1024, 2), 4u << 20);
  EXPECT_EQ(auto_ring_bytes(1, 8, 1), 4u << 20);
}

TEST(RingSize, HoldsAQuarterSecondOfLargestRecords) {
  for (int hz : {99, 499, 999, 4999}) {
    for (uint32_t stack : {8u * 1024, 16u * 1024, 64u * 1024}) {
      for (unsigned cpus : {1u, 2u, 8u}) {
        const size_t ring = auto_ring_bytes(hz, stack, cpus);
        EXPECT_TRUE(pow2(ring)) << ring;
        EXPECT_GE(ring, 4u << 20);
        EXPECT_LE(ring, 64u << 20);
        const double need =
            (8.0 + sizeof(struct kperf_sample) + stack + KPERF_LUA_WINDOW_BYTES + KPERF_LUA_RES_WINDOW_BYTES) * hz *
            cpus / 4;
        if (need <= double(64u << 20)) {
          EXPECT_GE(double(ring), need) << hz << " Hz, " << stack << " B, " << cpus << " CPUs";
          EXPECT_LT(double(ring), 2 * need + double(4u << 20)) << "no more than the next power of 2";
        } else {
          EXPECT_EQ(ring, 64u << 20);
        }
      }
    }
  }
}

TEST(RingSize, DefaultAt999HzOnTwoCpusKeepsPeakRssUnder64MiB) {
  // Mapped twice: 2 x 16 MiB, plus ~27 MiB of kperf itself recording an nginx worker.
  EXPECT_EQ(auto_ring_bytes(999, 16 * 1024, 2), 16u << 20);
}

TEST(RingSize, GrowsWithRateUntilTheCeiling) {
  EXPECT_LT(auto_ring_bytes(99, 16 * 1024, 2), auto_ring_bytes(999, 16 * 1024, 2));
  EXPECT_EQ(auto_ring_bytes(20000, 64 * 1024, 64), 64u << 20);
}

}  // namespace

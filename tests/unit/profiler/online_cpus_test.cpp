// parse_cpu_list: the kernel's cpu list format ("0-3,5\n").
#include <gtest/gtest.h>

#include <stdexcept>
#include <unistd.h>

#include "profiler/online_cpus.hpp"

namespace kperf::prof {
namespace {

TEST(OnlineCpus, ParsesRangesAndSingles) {
  EXPECT_EQ(parse_cpu_list("0\n"), (std::vector<int>{0}));
  EXPECT_EQ(parse_cpu_list("0-3,5,7-8"), (std::vector<int>{0, 1, 2, 3, 5, 7, 8}));
}

TEST(OnlineCpus, RejectsGarbage) {
  EXPECT_THROW(parse_cpu_list(""), std::runtime_error);
  EXPECT_THROW(parse_cpu_list("3-1"), std::runtime_error);
  EXPECT_THROW(parse_cpu_list("a"), std::runtime_error);
  EXPECT_THROW(parse_cpu_list("1,,2"), std::runtime_error);
}

TEST(OnlineCpus, MatchesTheMachine) {
  const auto cpus = online_cpus();
  EXPECT_EQ(static_cast<long>(cpus.size()), sysconf(_SC_NPROCESSORS_ONLN));
}

}  // namespace
}  // namespace kperf::prof

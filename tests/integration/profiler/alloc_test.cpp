// The sample path allocates nothing per sample in steady state (issue 14): `kperf record`
// on a busy luajit (JIT-compiled, interpreted, coroutines) for 6 s under a malloc counter
// (malloc_count.c, LD_PRELOAD) that logs its count every 100 ms: the allocations between
// 2.5 s and 5.5 s per sample of that window. Every sample's native unwind, Lua walk,
// frame texts and stack are built in reused buffers. Before, 21 allocations per sample
// (vectors and strings of each walk, a header copy per proto lookup, the unwinder's result).
#include <gtest/gtest.h>

#include <unistd.h>

#include <fstream>
#include <iostream>
#include <regex>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <fmt/core.h>

#include "tests/support/folded_stacks.hpp"
#include "tests/support/kperf_child.hpp"
#include "tests/support/lua_stacks.hpp"
#include "tests/support/root.hpp"
#include "tests/support/temp_dir.hpp"

namespace kperf::test {
namespace {

constexpr const char* kLuajit = "/usr/bin/luajit";

// A coroutine yielding from `inner` to the main chunk's loop (JIT on), for 9 s.
constexpr const char* kCoroutineLua = R"(
local function inner(n) local s = 0 for i = 1, n do s = s + i % 7 end coroutine.yield(s) end
local co = coroutine.wrap(function() while true do inner(1000) end end)
local t = os.clock() while os.clock() - t < 9 do co() end
)";

struct Recording {
  uint64_t samples = 0;
  double seconds = 0;                                   // the recording's duration
  std::vector<std::pair<long, uint64_t>> counts;        // kperf's (ms since start, allocations)
  uint64_t with_inner = 0;                              // samples with the Lua frame `inner`
  std::string summary;
  // Allocations by the time t (ms): the last count taken at or before it.
  uint64_t at(long t) const {
    uint64_t n = 0;
    for (const auto& [ms, c] : counts)
      if (ms <= t) n = c;
    return n;
  }
};

class SteadyState : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_ROOT();
    if (access(kLuajit, X_OK) != 0) GTEST_SKIP() << "no " << kLuajit << " (apt install luajit)";
  }

  // args: the script's arguments (kHotLua: "on" / "off", seconds).
  Recording record(const std::string& lua, const std::vector<std::string>& args) {
    const std::string log = dir_.file(fmt::format("mallocs-{}", ++runs_));
    const std::string folded = dir_.file(fmt::format("out-{}.folded", runs_));
    std::vector<std::string> argv{"record", "-F", "999", "-d", "6", "-o", folded, "--", kLuajit, lua};
    argv.insert(argv.end(), args.begin(), args.end());
    KperfChild k(argv, dir_.path(), {{"LD_PRELOAD", MALLOC_COUNT_LIB}, {"KPERF_TEST_MALLOC_LOG", log}});
    EXPECT_EQ(k.wait(40), 0) << k.err();
    Recording r;
    static const std::regex re(R"(kperf record: (\d+) samples in ([0-9.]+) s)");
    std::smatch m;
    const std::string err = k.err();
    if (std::regex_search(err, m, re)) {
      r.samples = std::stoull(m[1]);
      r.seconds = std::stod(m[2]);
    }
    r.summary = err.substr(0, err.find('\n'));
    std::ifstream in(log);
    long pid = 0, ms = 0;
    uint64_t count = 0;
    while (in >> pid >> ms >> count)
      if (pid == k.pid()) r.counts.emplace_back(ms, count);
    for (const Stack& st : parse_folded(read_file(folded)))
      for (const std::string& f : st.frames)
        if (f.rfind("inner ", 0) == 0) {
          r.with_inner += st.count;
          break;
        }
    return r;
  }

  void expect_no_allocation_per_sample(const char* name, const char* text, const std::vector<std::string>& args) {
    const std::string lua = dir_.file(std::string(name) + ".lua");
    std::ofstream(lua) << text;
    const Recording r = record(lua, args);
    ASSERT_GT(r.seconds, 5.0) << r.summary;
    ASSERT_GT(r.samples, 1000u) << r.summary;  // ~6,000 at 999 Hz on a quiet machine
    ASSERT_GT(r.at(6000), 0u) << "the malloc counter did not report";
    // The walk ran: Lua frames are there (the exact bounds are the Lua frame tests').
    EXPECT_GE(r.with_inner * 2, r.samples) << r.summary;
    // The window: 2.5 s to 5.5 s of kperf's life, well after its start (BPF load, symbols,
    // the VM's detection, the first traces, under a second) and before its end.
    const uint64_t before = r.at(2500), after = r.at(5500);
    const double window_samples = double(r.samples) * 3.0 / r.seconds;
    const double per_sample = (double(after) - double(before)) / window_samples;
    std::cout << fmt::format("{}: {} samples in {:.1f} s; allocations at 2.5 s {}, at 5.5 s {}: {:.3f} per sample\n",
                             name, r.samples, r.seconds, before, after, per_sample);
    // Measured 0.02-0.07, all in caches meeting something new (a kernel frame's name, a
    // CFI row, a native symbol, a trie leaf); the sample path itself allocates nothing.
    // The bound leaves room for a busier kernel: one allocation in five samples (before,
    // 21 per sample).
    EXPECT_LT(per_sample, 0.2) << name;
  }

  TempDir dir_;
  int runs_ = 0;
};

// kHotLua (tests/support/lua_stacks): main chunk -> outer -> inner, for 9 s.
TEST_F(SteadyState, JitCompiledLuaAllocatesNothingPerSample) {
  expect_no_allocation_per_sample("jit", kHotLua, {"on", "9"});
}
TEST_F(SteadyState, InterpretedLuaAllocatesNothingPerSample) {
  expect_no_allocation_per_sample("interpreted", kHotLua, {"off", "9"});
}
TEST_F(SteadyState, CoroutinesAllocateNothingPerSample) {
  expect_no_allocation_per_sample("coroutine", kCoroutineLua, {});
}

}  // namespace
}  // namespace kperf::test

// `kperf record` overloaded (issue 17): at -F 20000 with a 1 MiB ring buffer the ring
// overflows and lost samples are counted, and the samples that arrive unwind as well as
// at a low rate, in every run — also while LuaJIT keeps mapping new trace code (the Lua
// splicer used to keep a process's maps for 1 s: a third of some runs failed as
// `jit_code`). Failures are reported by cause, and the causes add up to the total.
#include <gtest/gtest.h>

#include <unistd.h>

#include <fstream>
#include <iostream>
#include <regex>
#include <string>

#include <fmt/core.h>
#include <fmt/ranges.h>

#include "tests/support/process.hpp"
#include "tests/support/root.hpp"
#include "tests/support/temp_dir.hpp"

namespace kperf::test {
namespace {

constexpr const char* kLuajit = "/usr/bin/luajit";

// A tight loop of named function calls (JIT-compiled after a moment).
constexpr const char* kBusyLua = R"(
local function leaf(n) local s = 0 for i = 1, n do s = s + i % 7 end return s end
local function mid(n) return leaf(n) + 1 end
local function top(n) return mid(n) end
local t = os.clock() while os.clock() - t < 8 do top(1000) end
)";

// New trace code all the time: small machine-code areas, a fresh function every round.
constexpr const char* kChurnLua = R"(
jit.opt.start("sizemcode=4", "maxmcode=65536")
local function outer(f) return f(2000) end
local t, k = os.clock(), 0
while os.clock() - t < 8 do
  k = k + 1
  local f = loadstring("return function(n) local s = 0 for i = 1, n do s = s + i % " .. (k % 97 + 2) ..
                       " end return s end", "=round")()
  for _ = 1, 1000 do outer(f) end
end
)";

struct Figures {
  uint64_t samples = 0, lost = 0, unwound = 0, failures = 0, cause_sum = 0;
  uint64_t lua_samples = 0, lua_captured = 0;  // in LuaJIT code; with the VM state captured
  std::string lua_line;
  std::string causes, line;
  double failure_share() const { return unwound + failures == 0 ? 1.0 : double(failures) / double(unwound + failures); }
};

Figures parse(const std::string& err) {
  static const std::regex re(
      R"((\d+) samples in [0-9.]+ s \([^)]*\), (\d+) lost \(ring buffer full\), (\d+) user stacks unwound to a root, (\d+) unwind failures( \(([^)]*)\))?)");
  std::smatch m;
  Figures f;
  if (!std::regex_search(err, m, re)) return f;
  f.line = m[0];
  static const std::regex lua_re(R"(lua: (\d+) samples in LuaJIT code .* (\d+) with captured VM state)");
  std::smatch lm;
  if (std::regex_search(err, lm, lua_re)) {
    f.lua_samples = std::stoull(lm[1]);
    f.lua_captured = std::stoull(lm[2]);
    f.lua_line = lm[0];
  }
  f.samples = std::stoull(m[1]);
  f.lost = std::stoull(m[2]);
  f.unwound = std::stoull(m[3]);
  f.failures = std::stoull(m[4]);
  f.causes = m[6];
  static const std::regex cause_re(R"(([a-z_]+) (\d+))");
  for (auto it = std::sregex_iterator(f.causes.begin(), f.causes.end(), cause_re); it != std::sregex_iterator(); ++it)
    f.cause_sum += std::stoull((*it)[2]);
  return f;
}

class Overload : public ::testing::Test {
 protected:
  void SetUp() override {
    REQUIRE_ROOT();
    if (access(kLuajit, X_OK) != 0) GTEST_SKIP() << "no " << kLuajit << " (apt install luajit)";
  }
  std::string script(const char* name, const char* text) {
    const std::string path = dir_.file(name);
    std::ofstream(path) << text;
    return path;
  }
  Figures record(const std::string& lua, const std::vector<std::string>& flags) {
    std::vector<std::string> argv{KPERF_BINARY, "record", "-d", "3", "-o", dir_.file("out.folded")};
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.insert(argv.end(), {"--", kLuajit, lua});
    const auto r = run(argv, 60);
    EXPECT_EQ(r.status, 0) << r.err;
    Figures f = parse(r.err);
    EXPECT_FALSE(f.line.empty()) << "no summary line in: " << r.err;
    std::cout << fmt::format("{}: {}\n", fmt::join(flags, " "), f.line);
    // The causes are printed when there are failures, and add up to the total.
    EXPECT_EQ(f.cause_sum, f.failures) << f.line;
    EXPECT_EQ(f.causes.empty(), f.failures == 0) << f.line;
    return f;
  }
  TempDir dir_;
};

TEST_F(Overload, OverflowingRingUnwindsAsWellAsALowRate) {
  const std::string lua = script("busy.lua", kBusyLua);
  const Figures low = record(lua, {"-F", "199"});
  ASSERT_GT(low.samples, 30u) << low.line;  // ~600 on a quiet machine, ~120 at load 17
  // A few hundred samples: 1% and 1 sample to spare. The bug: 7-10 of ~590 failed as
  // lua_walk, the first samples (trace exits) taken before userspace had found G and
  // walked from live memory; the kernel side now finds G in the first sample (0 of 600).
  EXPECT_LE(double(low.failures), 0.01 * double(low.unwound + low.failures) + 1) << low.line;
  // From the process's first Lua code on (the kernel side finds G itself), every sample in
  // LuaJIT code carries its VM state (600 of 600 here, also two recordings at once). Two to
  // spare: a sample before kperf has read the new process's VM layout (after its exec), or
  // with r14 not yet DISPATCH at the VM's entry.
  EXPECT_GT(low.lua_samples, 0u) << low.line;
  EXPECT_GE(low.lua_captured + 2, low.lua_samples) << low.lua_line;
  uint64_t lost = 0;
  for (int i = 0; i < 4; ++i) {
    const Figures f = record(lua, {"-F", "20000", "--ring-buffer", "1"});
    ASSERT_GT(f.samples, 1000u) << f.line;
    lost += f.lost;
    // Every run, not on average (the bug: 33-43% in 2 runs of 5): 1% at most, and no worse
    // than the low rate plus 1%. Measured at load 8 on 2 CPUs: 0-30 of 19-44k. The bursts
    // of 1-2% that were left came from the process's start: ld.so's _start (no CFI, now
    // the root) and the first trace hidden for 20 ms by the execve sample's stale pc.
    EXPECT_LE(f.failure_share(), 0.01) << "run " << i << ": " << f.line;
    EXPECT_LE(f.failure_share(), low.failure_share() + 0.01) << "run " << i << ": " << f.line;
  }
  EXPECT_GT(lost, 0u) << "a 1 MiB ring at 20 kHz never overflowed";
}

TEST_F(Overload, NewTraceCodeUnwindsWhileTheRingOverflows) {
  const std::string lua = script("churn.lua", kChurnLua);
  for (int i = 0; i < 3; ++i) {
    const Figures f = record(lua, {"-F", "20000", "--ring-buffer", "1"});
    ASSERT_GT(f.samples, 1000u) << f.line;
    EXPECT_LE(f.failure_share(), 0.01) << "run " << i << ": " << f.line;  // the bug: 82-85%
  }
}

}  // namespace
}  // namespace kperf::test

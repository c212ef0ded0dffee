// Google Benchmark: collapse_perf_script throughput (bytes/s) on synthetic `perf script`
// text generated in memory: nginx-like stacks with kernel, library and JIT frames.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <istream>
#include <sstream>
#include <streambuf>
#include <vector>
#include <string>

#include "flamegraph/collapse_perf.hpp"

namespace {

// About `bytes` of perf script text; `distinct` different stacks of 8..40 frames.
std::string synthetic_perf_script(size_t bytes, int distinct) {
  std::mt19937 rng(42);
  std::vector<std::string> samples;
  for (int s = 0; s < distinct; ++s) {
    std::string text;
    const int depth = 8 + static_cast<int>(rng() % 33);
    for (int d = 0; d < depth; ++d) {
      const unsigned f = rng() % 200;
      char line[160];
      if (d < 3 && rng() % 2) {
        std::snprintf(line, sizeof line, "\tffffffff81%06x __x64_sys_call_%u+0x%x ([kernel.kallsyms])\n", f, f, f);
      } else if (f % 7 == 0) {
        std::snprintf(line, sizeof line, "\t    7f12%08x [unknown] (/tmp/perf-1234.map)\n", f);
      } else if (f % 5 == 0) {
        std::snprintf(line, sizeof line, "\t    7f34%08x lj_BC_FUNCC+0x%x (/usr/lib/x86_64-linux-gnu/libluajit-5.1.so.2.1.0)\n", f, f);
      } else {
        std::snprintf(line, sizeof line, "\t    55d1%08x ngx_http_core_run_phase_%u+0x%x (/usr/sbin/nginx)\n", f, f, f);
      }
      text += line;
    }
    samples.push_back(std::move(text));
  }
  std::string out;
  out.reserve(bytes + 8192);
  uint64_t t = 0;
  while (out.size() < bytes) {
    const auto& stack = samples[rng() % samples.size()];
    char header[128];
    std::snprintf(header, sizeof header, "nginx %u/%u [%03u] %llu.%06u: 1010101 cpu-clock:\n",
                  1000 + static_cast<unsigned>(rng() % 4), 1000 + static_cast<unsigned>(rng() % 4),
                  static_cast<unsigned>(rng() % 8), static_cast<unsigned long long>(100 + t / 1000000),
                  static_cast<unsigned>(t % 1000000));
    t += 1001;
    out += header;
    out += stack;
    out += '\n';
  }
  return out;
}

// Reads a string in place (an istringstream would copy the input every iteration).
struct MemoryBuf : std::streambuf {
  explicit MemoryBuf(const std::string& s) {
    char* p = const_cast<char*>(s.data());
    setg(p, p, p + s.size());
  }
};

void BM_CollapsePerfScript(benchmark::State& state, kperf::fg::CollapseOptions options) {
  const std::string input = synthetic_perf_script(64u << 20, static_cast<int>(state.range(0)));
  for (auto _ : state) {
    MemoryBuf buf(input);
    std::istream in(&buf);
    std::ostringstream out;
    const auto stats = kperf::fg::collapse_perf_script(in, out, options);
    benchmark::DoNotOptimize(stats.samples);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(input.size()));
}

kperf::fg::CollapseOptions all_tid() {
  kperf::fg::CollapseOptions o;
  o.tid = true;
  o.set_all();
  return o;
}

BENCHMARK_CAPTURE(BM_CollapsePerfScript, default_mode, kperf::fg::CollapseOptions{})
    ->Arg(100)->Arg(10000)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_CollapsePerfScript, tid_all, all_tid())->Arg(10000)->Unit(benchmark::kMillisecond);

}  // namespace

// Google Benchmark: the load generator's per-request work — parsing a response (whole,
// split across reads, chunked) and recording a latency — plus histogram merge/percentiles.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "loadgen/histogram.hpp"
#include "loadgen/response_parser.hpp"

namespace {

using kperf::loadgen::Histogram;
using kperf::loadgen::ResponseParser;

// What nginx sends for `return 200 "hello\n"` (the loadgen-vs-wrk target).
const std::string kNginxResponse =
    "HTTP/1.1 200 OK\r\n"
    "Server: nginx/1.22.1\r\n"
    "Date: Sat, 28 Nov 2026 15:00:00 GMT\r\n"
    "Content-Type: application/octet-stream\r\n"
    "Content-Length: 6\r\n"
    "Connection: keep-alive\r\n"
    "\r\n"
    "hello\n";

const std::string kChunkedResponse =
    "HTTP/1.1 200 OK\r\n"
    "Server: nginx/1.22.1\r\n"
    "Content-Type: text/plain\r\n"
    "Transfer-Encoding: chunked\r\n"
    "Connection: keep-alive\r\n"
    "\r\n"
    "6\r\nhello\n\r\n"
    "10\r\n0123456789abcdef\r\n"
    "0\r\n\r\n";

// One response per iteration, fed as `pieces` reads of about equal size.
void parse(benchmark::State& state, const std::string& response, size_t pieces) {
  ResponseParser parser;
  const size_t step = (response.size() + pieces - 1) / pieces;
  for (auto _ : state) {
    parser.reset();
    ResponseParser::Result r = ResponseParser::Result::kNeedMore;
    for (size_t pos = 0; pos < response.size(); pos += step) {
      size_t consumed = 0;
      const size_t n = std::min(step, response.size() - pos);
      r = parser.feed(response.data() + pos, n, consumed);
    }
    if (r != ResponseParser::Result::kComplete) state.SkipWithError("response not complete");
    benchmark::DoNotOptimize(parser.status());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(response.size()));
}

void BM_ParseNginxWhole(benchmark::State& state) { parse(state, kNginxResponse, 1); }
void BM_ParseNginxSplit3(benchmark::State& state) { parse(state, kNginxResponse, 3); }
void BM_ParseChunked(benchmark::State& state) { parse(state, kChunkedResponse, 1); }
BENCHMARK(BM_ParseNginxWhole);
BENCHMARK(BM_ParseNginxSplit3);
BENCHMARK(BM_ParseChunked);

// Loopback-like latencies (mostly 100 us .. 5 ms) with a long tail up to seconds.
std::vector<uint64_t> latencies(size_t n) {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> dist(6.5, 0.8);
  std::vector<uint64_t> v(n);
  for (auto& x : v) x = static_cast<uint64_t>(dist(rng));
  return v;
}

void BM_HistogramRecord(benchmark::State& state) {
  const auto values = latencies(1 << 16);
  Histogram h;
  size_t i = 0;
  for (auto _ : state) {
    h.record(values[i]);
    i = (i + 1) & (values.size() - 1);
  }
  benchmark::DoNotOptimize(h.count());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HistogramRecord);

// Merging two threads' histograms (the end of every run, and --runs).
void BM_HistogramMerge(benchmark::State& state) {
  const auto values = latencies(100'000);
  Histogram a, b;
  for (size_t i = 0; i < values.size(); ++i) (i % 2 ? a : b).record(values[i]);
  for (auto _ : state) {
    Histogram m;
    m.merge(a);
    m.merge(b);
    benchmark::DoNotOptimize(m.count());
  }
}
BENCHMARK(BM_HistogramMerge);

// The report's percentiles (50, 75, 90, 99, 99.9, 99.99, max).
void BM_HistogramPercentiles(benchmark::State& state) {
  const auto values = latencies(100'000);
  Histogram h;
  for (uint64_t v : values) h.record(v);
  for (auto _ : state) {
    uint64_t sum = 0;
    for (double p : {50.0, 75.0, 90.0, 99.0, 99.9, 99.99, 100.0}) sum += h.percentile(p);
    benchmark::DoNotOptimize(sum);
  }
}
BENCHMARK(BM_HistogramPercentiles);

}  // namespace

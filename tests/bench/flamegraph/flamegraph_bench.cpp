// Google Benchmark: the folded parser (bytes/s into the trie) and the SVG writer
// (layout + SVG of a parsed profile), on synthetic gateway stacks.
#include <benchmark/benchmark.h>

#include <sstream>

#include "flamegraph/folded.hpp"
#include "flamegraph/render.hpp"
#include "gateway_stacks.hpp"

namespace {

std::string folded_text(int lines) {
  kperf::fg::bench::GatewayStacks gen;
  std::string s;
  for (int i = 0; i < lines; ++i) gen.folded_line(s);
  return s;
}

void BM_ParseFolded(benchmark::State& state) {
  const std::string text = folded_text(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    kperf::fg::StackTrie trie;
    kperf::fg::FoldedReader r(trie);
    r.add_text(text, "bench");
    benchmark::DoNotOptimize(trie.total());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_ParseFolded)->Arg(1000)->Arg(20000)->Unit(benchmark::kMillisecond);

void BM_WriteSvg(benchmark::State& state) {
  const std::string text = folded_text(static_cast<int>(state.range(0)));
  kperf::fg::StackTrie trie;
  kperf::fg::FoldedReader r(trie);
  r.add_text(text, "bench");
  kperf::fg::RenderOptions opts;
  opts.svg.palette = kperf::fg::Palette::Lua;
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::ostringstream out;
    kperf::fg::render(trie, opts, out);
    bytes = out.str().size();
    benchmark::DoNotOptimize(bytes);
  }
  state.counters["svg_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_WriteSvg)->Arg(1000)->Arg(20000)->Unit(benchmark::kMillisecond);

}  // namespace

// Google Benchmark: the folded parser (bytes/s into the trie), its parts (frame
// interning, trie inserts, small tries as the fuzzers make them), the layout walk and
// the SVG writer (layout + SVG of a parsed profile), on synthetic gateway stacks.
#include <benchmark/benchmark.h>

#include <sstream>
#include <string_view>
#include <vector>

#include "flamegraph/layout.hpp"

#include "flamegraph/folded.hpp"
#include "flamegraph/render.hpp"
#include "flamegraph/stack_order.hpp"
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

// Interning every frame of the lines (the parser's per-frame hash + lookup).
void BM_InternFrames(benchmark::State& state) {
  const std::string text = folded_text(static_cast<int>(state.range(0)));
  std::vector<std::string_view> frames;
  std::vector<std::string_view> all;
  for (std::size_t start = 0; start < text.size();) {
    const std::size_t nl = text.find('\n', start);
    std::string_view line(text.data() + start, nl - start);
    line = line.substr(0, line.rfind(' '));
    kperf::fg::split_frames(line, frames);
    all.insert(all.end(), frames.begin(), frames.end());
    start = nl + 1;
  }
  for (auto _ : state) {
    kperf::fg::FrameTable table;
    for (std::string_view f : all) benchmark::DoNotOptimize(table.intern(f));
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * all.size()));
}
BENCHMARK(BM_InternFrames)->Arg(20000)->Unit(benchmark::kMillisecond);

// Trie inserts of interned stacks (child lookups, node creation, counts).
void BM_TrieAdd(benchmark::State& state) {
  kperf::fg::bench::GatewayStacks gen;
  kperf::fg::FrameTable names;
  std::vector<std::vector<kperf::fg::FrameId>> stacks(static_cast<std::size_t>(state.range(0)));
  std::vector<const std::string*> frames;
  std::uint64_t count = 0;
  std::size_t total = 0;
  for (auto& s : stacks) {
    gen.next_stack(frames, count);
    for (const std::string* f : frames) s.push_back(names.intern(*f));
    total += s.size();
  }
  for (auto _ : state) {
    kperf::fg::StackTrie trie;
    for (const auto& s : stacks) trie.add(s, 1);
    benchmark::DoNotOptimize(trie.size());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * total));
}
BENCHMARK(BM_TrieAdd)->Arg(1000)->Arg(100000)->Unit(benchmark::kMillisecond);

// Many small tries, as the fuzz targets create them: a trie must start cheap.
void BM_SmallTrie(benchmark::State& state) {
  const std::string text = folded_text(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    kperf::fg::StackTrie trie;
    kperf::fg::FoldedReader r(trie);
    r.add_text(text, "bench");
    benchmark::DoNotOptimize(trie.total());
  }
}
BENCHMARK(BM_SmallTrie)->Arg(1)->Arg(10)->Unit(benchmark::kMicrosecond);

// The layout walk alone (sorted visit + flow) over a parsed profile.
void BM_Layout(benchmark::State& state) {
  const std::string text = folded_text(static_cast<int>(state.range(0)));
  kperf::fg::StackTrie trie;
  kperf::fg::FoldedReader r(trie);
  r.add_text(text, "bench");
  kperf::fg::LayoutOptions lo;
  lo.min_samples = kperf::fg::min_samples_for("0.1", trie.total(), 1200);
  for (auto _ : state) {
    const auto layout = kperf::fg::layout_stacks(trie, lo);
    benchmark::DoNotOptimize(layout.boxes.size());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * trie.size()));
}
BENCHMARK(BM_Layout)->Arg(20000)->Unit(benchmark::kMillisecond);

// The sorted walk alone (flamegraph.pl's line order over the trie), no layout.
void BM_VisitSorted(benchmark::State& state) {
  const std::string text = folded_text(static_cast<int>(state.range(0)));
  kperf::fg::StackTrie trie;
  kperf::fg::FoldedReader r(trie);
  r.add_text(text, "bench");
  for (auto _ : state) {
    std::size_t visited = 0;
    kperf::fg::visit_sorted(trie, [&](kperf::fg::NodeId, std::span<const kperf::fg::FrameId>) { ++visited; });
    benchmark::DoNotOptimize(visited);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * trie.size()));
}
BENCHMARK(BM_VisitSorted)->Arg(20000)->Unit(benchmark::kMillisecond);

// The coarse walk a plain flame graph uses (subtrees narrower than 0.1 px as one stack),
// beside BM_VisitSorted's walk of every stack.
void BM_VisitSortedCoarse(benchmark::State& state) {
  const std::string text = folded_text(static_cast<int>(state.range(0)));
  kperf::fg::StackTrie trie;
  kperf::fg::FoldedReader r(trie);
  r.add_text(text, "bench");
  const double min = kperf::fg::min_samples_for("0.1", trie.total(), 1200);
  for (auto _ : state) {
    std::size_t visited = 0;
    kperf::fg::visit_sorted_coarse(trie, min, [&](std::span<const kperf::fg::FrameId>, double) { ++visited; });
    benchmark::DoNotOptimize(visited);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * trie.size()));
}
BENCHMARK(BM_VisitSortedCoarse)->Arg(20000)->Unit(benchmark::kMillisecond);

// A frame table for a handful of names, as every small trie (and fuzz input) makes one.
void BM_SmallFrameTable(benchmark::State& state) {
  for (auto _ : state) {
    kperf::fg::FrameTable table;
    benchmark::DoNotOptimize(table.intern("main"));
    benchmark::DoNotOptimize(table.intern("ngx_http_handler"));
    benchmark::DoNotOptimize(table.intern("fib app.lua:3"));
  }
}
BENCHMARK(BM_SmallFrameTable)->Unit(benchmark::kNanosecond);

}  // namespace

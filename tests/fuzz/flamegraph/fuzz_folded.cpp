// libFuzzer target: arbitrary bytes as folded input (plain, reversed and differential
// merged), then one layout of each: the plain trie as a flame chart with every box, the
// differential one as a flame graph pruned at 1%. The writers (SVG, speedscope, folded)
// have their own target (fuzz_render.cpp): writing them per input made this one too slow
// to reach depth (issue 17: >= 10k exec/s).
// Must never crash, hang or leak; the only exception allowed is FoldedError for bad input.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "flamegraph/diff.hpp"
#include "flamegraph/folded.hpp"
#include "flamegraph/layout.hpp"

namespace {

// One layout per trie: `min_share` of the total as the minimum width (0: everything).
void lay_out(const kperf::fg::StackTrie& trie, bool flamechart, double min_share) {
  if (!(trie.total() > 0)) return;
  kperf::fg::LayoutOptions o;
  o.min_samples = trie.total() * min_share;
  o.flamechart = flamechart && trie.records_order();
  const auto l = kperf::fg::layout_stacks(trie, o);
  // The root box spans the total whenever it is not narrower than the minimum.
  if (l.total >= o.min_samples && (l.boxes.empty() || l.boxes.front().end - l.boxes.front().start != l.total)) {
    __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    kperf::fg::StackTrie plain(true);
    kperf::fg::FoldedReader r(plain);
    r.add_text(text, "fuzz");
    lay_out(plain, true, 0);  // the flame chart, every box

    kperf::fg::StackTrie reversed;
    kperf::fg::FoldedOptions fo;
    fo.reverse = true;
    fo.strip_hex = true;
    kperf::fg::FoldedReader rr(reversed, fo);
    rr.add_text(text, "fuzz");
    kperf::fg::DiffOptions d;
    d.normalize = true;
    const auto diff = kperf::fg::diff_tries(plain, reversed, d);
    lay_out(diff, false, 0.01);  // the graph, pruned at 1%
  } catch (const kperf::fg::FoldedError&) {
  }
  return 0;
}

// libFuzzer target: arbitrary bytes as folded input (plain, reversed and differential
// merged), then layout, SVG and speedscope output. Must never crash, hang or leak; the
// only exception allowed is FoldedError/invalid_argument/runtime_error for bad input.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string_view>

#include "flamegraph/diff.hpp"
#include "flamegraph/folded.hpp"
#include "flamegraph/render.hpp"
#include "flamegraph/speedscope.hpp"

namespace {

void render_all(const kperf::fg::StackTrie& trie, bool flamechart) {
  if (!(trie.total() > 0)) return;
  kperf::fg::RenderOptions o;
  o.svg.flamechart = flamechart && trie.records_order();
  o.svg.palette = kperf::fg::Palette::Lua;
  o.minwidth = "0";
  std::ostringstream out;
  kperf::fg::render(trie, o, out);
  o.svg.inverted = true;
  o.minwidth = "0.1";
  kperf::fg::render(trie, o, out);
  kperf::fg::write_speedscope(trie, {}, out);
  kperf::fg::write_folded(trie, out);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    kperf::fg::StackTrie plain(true);
    kperf::fg::FoldedReader r(plain);
    r.add_text(text, "fuzz");
    render_all(plain, true);

    kperf::fg::StackTrie reversed;
    kperf::fg::FoldedOptions fo;
    fo.reverse = true;
    fo.strip_hex = true;
    kperf::fg::FoldedReader rr(reversed, fo);
    rr.add_text(text, "fuzz");
    kperf::fg::DiffOptions d;
    d.normalize = true;
    const auto diff = kperf::fg::diff_tries(plain, reversed, d);
    render_all(diff, false);
  } catch (const kperf::fg::FoldedError&) {
  }
  return 0;
}

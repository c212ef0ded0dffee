// libFuzzer target: arbitrary bytes as folded input written out: whole SVGs (flame graph
// and flame chart, inverted, Lua palette, differential: the SVG writer, its text
// escaping and the title/width arithmetic), speedscope JSON and folded text. Must never
// crash, hang or leak; FoldedError is the only exception allowed for bad input.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string_view>

#include "flamegraph/diff.hpp"
#include "flamegraph/folded.hpp"
#include "flamegraph/render.hpp"
#include "flamegraph/speedscope.hpp"

namespace {

void render_both(const kperf::fg::StackTrie& trie, bool flamechart) {
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
  if (out.str().find("</svg>") == std::string::npos) __builtin_trap();
  std::ostringstream other;
  kperf::fg::write_speedscope(trie, {}, other);
  kperf::fg::write_folded(trie, other);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    kperf::fg::StackTrie plain(true);
    kperf::fg::FoldedReader r(plain);
    r.add_text(text, "fuzz");
    render_both(plain, true);
    kperf::fg::DiffOptions d;
    const auto diff = kperf::fg::diff_tries(plain, plain, d);
    render_both(diff, false);
  } catch (const kperf::fg::FoldedError&) {
  }
  return 0;
}

// Layout: turns a StackTrie into flame graph boxes in sample units (start, end, depth),
// merging adjacent frames the way flamegraph.pl's flow() does: stacks sorted (or, for
// flame charts, in input order), boxes narrower than a minimum omitted.
#pragma once

#include <cstdint>
#include <vector>

#include "flamegraph/trie.hpp"

namespace kperf::fg {

struct Box {
  FrameId frame;       // FrameTable::kNone for the root ("all")
  std::uint32_t depth; // root 0
  double start;        // in samples from the left edge
  double end;
  double delta;        // differential: after - before of the stacks ending in this box
  bool has_delta;
};

struct LayoutOptions {
  double min_samples = 0;  // boxes narrower than this are omitted
  bool flamechart = false; // input order, no sorting (needs a trie that records order)
};

struct Layout {
  std::vector<Box> boxes;       // sorted by depth, then start; root first
  double total = 0;             // samples in the root
  double max_delta = 1;         // largest |delta| of one stack (at least 1)
  std::uint32_t max_depth = 0;  // of the boxes kept
  bool differential = false;
};

Layout layout_stacks(const StackTrie& trie, const LayoutOptions& opts);

// The minimum box width in samples for a flamegraph.pl --minwidth value: pixels
// ("0.1") or percent of the total ("0.5%"), for a graph `image_width` pixels wide.
// Throws std::invalid_argument when the value is not a number.
double min_samples_for(std::string_view minwidth, double total, double image_width);

}  // namespace kperf::fg

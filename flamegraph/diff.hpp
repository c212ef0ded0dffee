// Differential profiles (difffolded.pl): two folded inputs merged into one
// differential StackTrie — per stack a "before" count (A) and an "after" count (B).
// Rendered, widths come from B; red where B grew, blue where it shrank.
#pragma once

#include "flamegraph/trie.hpp"

namespace kperf::fg {

struct DiffOptions {
  bool normalize = false;  // -n: scale A's counts so both totals match
};

// Builds the differential trie from two plain tries (their differential flags are
// ignored: each stack's count is used). `record_order` as for StackTrie.
StackTrie diff_tries(const StackTrie& before, const StackTrie& after, const DiffOptions& opts,
                     bool record_order = false);

}  // namespace kperf::fg

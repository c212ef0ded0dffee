// speedscope export (https://www.speedscope.app/file-format-schema.json): one sampled
// profile per count column — "after" alone, or "before" and "after" for differential
// tries. Lua frames ("NAME CHUNK:LINE") also carry file and line.
#pragma once

#include <iosfwd>
#include <string>

#include "flamegraph/trie.hpp"

namespace kperf::fg {

struct SpeedscopeOptions {
  std::string name = "kperf profile";
  std::string unit = "none";  // none, nanoseconds, ..., bytes (the schema's ValueUnit)
  std::string exporter = "kperf";
};

void write_speedscope(const StackTrie& trie, const SpeedscopeOptions& opts, std::ostream& out);

}  // namespace kperf::fg

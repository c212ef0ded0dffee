// Lua test scripts and the checks on their folded stacks that more than one test folder
// runs (tests/integration/lua_frames on Debian's LuaJIT, luajit_matrix on each peer build):
// the hot outer -> inner chain, collected closures; share of samples, frame search.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tests/support/folded_stacks.hpp"

namespace kperf::test {

// main chunk -> outer (line 7) -> inner (line 1) in a loop; arg[1] "off": jit.off();
// arg[2]: seconds (default 5).
extern const char* const kHotLua;
// A closure `f` (line 11) per iteration calling spin (line 2), collected right after.
extern const char* const kClosuresLua;
// outer (line 15) -> inner (line 10) -> leaf (line 4): inner and leaf have no loop of
// their own, so the trace of outer's loop inlines them (their frames come from its
// snapshots).
extern const char* const kInlinedLua;

bool starts_with(const std::string& s, const std::string& p);
// Index of the first frame (from `from`) matching pred, or npos.
std::size_t find_frame(const Stack& s, const std::function<bool(const std::string&)>& pred, std::size_t from = 0);
// Share of samples whose stack satisfies pred (0 without samples).
double share(const std::vector<Stack>& stacks, const std::function<bool(const Stack&)>& pred);
// The n heaviest stacks, one per line (for failure messages).
std::string top_stacks(const std::vector<Stack>& stacks, std::size_t n = 6);
// The main chunk's frame (first line 0, or its executing line with --lua-lines).
bool is_main_chunk(const std::string& f, const std::string& chunk);
// main chunk -> outer -> inner with the given lines; jit: inner carries `_[j]` (outer
// may); inner_line 0: any line of inner.
bool hot_chain(const Stack& s, const std::string& chunk, int outer_line, int inner_line, bool jit);
// Any frame of `chunk` (a Lua frame of the script).
bool has_lua_frame(const Stack& s, const std::string& chunk);

// kInlinedLua's stacks: samples with outer_[j] -> inner_[j] -> leaf_[j]; samples with an
// inner or leaf frame not right above its caller; chain samples whose inner / leaf lines
// are not theirs (lines: executing lines inner 11-12, leaf 5-7; else first lines 10, 4).
struct InlinedCounts {
  uint64_t chain = 0, misplaced = 0, bad_line = 0;
};
InlinedCounts count_inlined(const std::vector<Stack>& stacks, const std::string& chunk, bool lines);

}  // namespace kperf::test

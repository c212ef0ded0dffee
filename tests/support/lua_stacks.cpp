// Shared Lua scripts and folded-stack checks for the Lua frame tests; see lua_stacks.hpp.
#include "tests/support/lua_stacks.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <cstdlib>

namespace kperf::test {

const char* const kHotLua = R"(local function inner(n)
  local s = 0
  for i = 1, n do s = s + (i % 7) * 3 end
  return s
end

local function outer(n)
  local t = 0
  for k = 1, 10 do t = t + inner(n) end
  return t
end

if arg[1] == "off" then jit.off() end
local deadline = os.clock() + tonumber(arg[2] or 5)
local acc = 0
while os.clock() < deadline do
  acc = acc + outer(1000)
end
print(acc)
)";

// A closure per iteration, collected right after its call; strings of its size then
// take its memory (as other objects do on a busy server) before kperf walks the sample.
const char* const kClosuresLua = R"(if arg[1] == "off" then jit.off() end
local function spin(n)
  local s = 0
  for i = 1, n do s = s + i % 7 end
  return s
end
local keep, it = {}, 0
local deadline = os.clock() + 5
while os.clock() < deadline do
  it = it + 1
  local f = function(n)
    return spin(n) + it
  end
  f(20000)
  f = nil
  collectgarbage()
  for j = 1, 8 do keep[j] = string.format("%021d-%d", it, j) end
end
)";

const char* const kInlinedLua = R"(local t = {}
for i = 1, 64 do t[i] = i * 7 end

local function leaf(x)
  local v = t[x % 64 + 1]
  if v > 400 then v = v - 400 end
  return v
end

local function inner(x)
  local y = leaf(x)
  return y + leaf(y + x)
end

local function outer(n)
  local acc = 0
  for i = 1, n do
    acc = (acc + inner(acc + i)) % 100003
  end
  return acc
end

local deadline = os.clock() + 4
while os.clock() < deadline do outer(200000) end
)";

bool starts_with(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }

std::size_t find_frame(const Stack& s, const std::function<bool(const std::string&)>& pred, std::size_t from) {
  for (std::size_t i = from; i < s.frames.size(); ++i)
    if (pred(s.frames[i])) return i;
  return std::string::npos;
}

double share(const std::vector<Stack>& stacks, const std::function<bool(const Stack&)>& pred) {
  uint64_t n = 0, all = 0;
  for (const auto& s : stacks) {
    all += s.count;
    if (pred(s)) n += s.count;
  }
  return all ? double(n) / double(all) : 0;
}

std::string top_stacks(const std::vector<Stack>& stacks, std::size_t n) {
  std::vector<Stack> v = stacks;
  std::sort(v.begin(), v.end(), [](const Stack& a, const Stack& b) { return a.count > b.count; });
  std::string out;
  for (std::size_t i = 0; i < v.size() && i < n; ++i) {
    std::string line;
    for (const auto& f : v[i].frames) line += (line.empty() ? "" : ";") + f;
    out += fmt::format("{} {}\n", v[i].count, line.substr(0, 600));
  }
  return out;
}

bool is_main_chunk(const std::string& f, const std::string& chunk) { return starts_with(f, "? " + chunk + ":"); }

bool hot_chain(const Stack& s, const std::string& chunk, int outer_line, int inner_line, bool jit) {
  const std::size_t m = find_frame(s, [&](const std::string& f) { return is_main_chunk(f, chunk); });
  if (m == std::string::npos || m + 2 >= s.frames.size()) return false;
  const std::string outer = fmt::format("outer {}:{}", chunk, outer_line);
  const std::string inner = fmt::format("inner {}:{}", chunk, inner_line);
  if (s.frames[m + 1] != outer && s.frames[m + 1] != outer + "_[j]") return false;
  if (jit) return s.frames[m + 2] == inner + "_[j]";
  if (inner_line == 0) return starts_with(s.frames[m + 2], "inner " + chunk + ":");  // any line
  return s.frames[m + 2] == inner;
}

bool has_lua_frame(const Stack& s, const std::string& chunk) {
  return find_frame(s, [&](const std::string& f) { return f.find(" " + chunk + ":") != std::string::npos; }) !=
         std::string::npos;
}

InlinedCounts count_inlined(const std::vector<Stack>& stacks, const std::string& chunk, bool lines) {
  const std::string outer = "outer " + chunk + ":", inner = "inner " + chunk + ":", leaf = "leaf " + chunk + ":";
  InlinedCounts c;
  for (const auto& s : stacks) {
    const size_t o = find_frame(s, [&](const std::string& f) { return starts_with(f, outer); });
    const size_t i = find_frame(s, [&](const std::string& f) { return starts_with(f, inner); });
    const size_t l = find_frame(s, [&](const std::string& f) { return starts_with(f, leaf); });
    if (i != std::string::npos && (o == std::string::npos || i != o + 1)) c.misplaced += s.count;
    if (l != std::string::npos && (i == std::string::npos || l != i + 1)) c.misplaced += s.count;
    if (o == std::string::npos || i != o + 1 || l != i + 1) continue;
    if (!s.frames[o].ends_with("_[j]") || !s.frames[i].ends_with("_[j]") || !s.frames[l].ends_with("_[j]")) continue;
    c.chain += s.count;
    const int il = std::atoi(s.frames[i].c_str() + inner.size()), ll = std::atoi(s.frames[l].c_str() + leaf.size());
    if (lines ? !(il >= 11 && il <= 12 && ll >= 5 && ll <= 7) : !(il == 10 && ll == 4)) c.bad_line += s.count;
  }
  return c;
}

}  // namespace kperf::test

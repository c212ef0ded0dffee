// Lua frames in `kperf record` stacks (real BPF, real luajit and nginx + lua module):
// names, chunks and lines of Lua functions, JIT traces (`_[j]`), native frames below
// the VM down to main, deep recursion, Lua -> C -> Lua order, nginx content handlers.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "tests/support/folded_stacks.hpp"
#include "tests/support/lua_stacks.hpp"
#include "tests/support/nginx_recording.hpp"
#include "tests/support/process.hpp"
#include "tests/support/root.hpp"
#include "tests/support/temp_dir.hpp"

namespace kperf::test {
namespace {

#define REQUIRE_LUAJIT() \
  if (access("/usr/bin/luajit", X_OK) != 0) GTEST_SKIP() << "needs Debian's luajit"

const char* kDeepLua = R"(jit.off()
local function spin() local s = 0 for i = 1, 100000 do s = s + i % 3 end return s end
local function rec(n)
  if n == 0 then local r = spin() return r end
  return rec(n - 1) + 1
end
local deadline = os.clock() + 5
while os.clock() < deadline do rec(100) end
)";

const char* kSortLua = R"(jit.off()
local function cmp(a, b)
  return a > b
end
local function sorter(t)
  table.sort(t, cmp)
end
local deadline = os.clock() + 5
while os.clock() < deadline do
  local t = {}
  for i = 1, 2000 do t[i] = (i * 7919) % 2003 end
  sorter(t)
end
)";

// A producer resumed with coroutine.resume and one wrapped with coroutine.wrap, both
// called from consumer; the main chunk also sorts and reads the clock between rounds
// (where a resumer read after it ran on would leave the coroutines' samples).
const char* kCoroutineLua = R"(if arg[1] == "off" then jit.off() end
local function burn(n)
  local s = 0
  for i = 1, n do s = s + (i % 7) end
  return s
end

local function producer()
  while true do
    coroutine.yield(burn(20000))
  end
end

local function wrapped_producer()
  while true do
    coroutine.yield(burn(20000))
  end
end

local function consumer(co, gen)
  local t = 0
  for i = 1, 20 do
    local _, v = coroutine.resume(co)
    t = t + v + gen()
  end
  return t
end

local deadline = os.clock() + tonumber(arg[2] or 5)
local co = coroutine.create(producer)
local gen = coroutine.wrap(wrapped_producer)
local acc = 0
while os.clock() < deadline do
  local t = {}
  for i = 1, 200 do t[i] = (i * 7919) % 2003 end
  table.sort(t)
  acc = acc + consumer(co, gen)
end
print(acc)
)";

// The summary's Lua failures by cause add up to the counts they split: samples in a VM
// kperf cannot read (no_vm_layout, no_global_state), incomplete walks (walk_*).
void check_lua_causes(const std::string& err) {
  std::smatch m;
  const std::regex line(R"((\d+) in a VM kperf cannot read\), .* (\d+) incomplete walks(?: \(failures: ([^)]*)\))?)");
  if (!std::regex_search(err, m, line)) return ADD_FAILURE() << "no Lua counts in kperf's summary: " << err;
  std::map<std::string, uint64_t> causes;
  std::istringstream in(m[3].str());
  std::string name, count;
  while (in >> name >> count) causes[name] = std::stoull(count);  // "name N, name N"
  EXPECT_EQ(causes["no_vm_layout"] + causes["no_global_state"], std::stoull(m[1].str())) << err;
  EXPECT_EQ(causes["walk_stopped"] + causes["walk_threw"], std::stoull(m[2].str())) << err;
}

// kperf record -F 499 -d 3 [extra] -- cmd; returns the folded stacks.
std::vector<Stack> record(const TempDir& dir, const std::vector<std::string>& cmd,
                          const std::vector<std::string>& extra = {}) {
  std::vector<std::string> argv{KPERF_BINARY, "record", "-F", "499", "-d", "3", "-o", dir.file("out.folded")};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back("--");
  argv.insert(argv.end(), cmd.begin(), cmd.end());
  const auto r = run(argv, 60);
  EXPECT_EQ(r.status, 0) << r.err;
  auto stacks = parse_folded(read_file(dir.file("out.folded")));
  EXPECT_GT(total_samples(stacks), 300u) << r.err;
  check_lua_causes(r.err);
  return stacks;
}

bool reaches_main(const Stack& s) {
  return s.frames.size() > 1 && find_frame(s, [](const std::string& f) { return f == "main"; }) != std::string::npos;
}

void check_hot(const std::vector<Stack>& stacks, const std::string& chunk, bool jit, bool lines) {
  const int outer_line = lines ? 9 : 7, inner_line = lines ? 3 : 1;
  const double chains =
      share(stacks, [&](const Stack& s) { return hot_chain(s, chunk, outer_line, lines ? 0 : inner_line, jit); });
  EXPECT_GE(chains, 0.90) << top_stacks(stacks);
  if (lines) {
    // The executing lines: outer at its call of inner, inner mostly in its loop (line 3).
    EXPECT_GE(share(stacks, [&](const Stack& s) { return hot_chain(s, chunk, outer_line, inner_line, jit); }), 0.6)
        << top_stacks(stacks);
  }
  EXPECT_GE(share(stacks, reaches_main), 0.90) << top_stacks(stacks);
  // Lua frames sit above the native frames of the VM's host (lua_pcall), never below main.
  EXPECT_GE(share(stacks,
                  [&](const Stack& s) {
                    const size_t m = find_frame(s, [](const std::string& f) { return f == "main"; });
                    const size_t l = find_frame(s, [&](const std::string& f) { return is_main_chunk(f, chunk); });
                    return m != std::string::npos && l != std::string::npos && m < l;
                  }),
            0.90);
}

TEST(LuaFrames, InterpreterChains) {
  REQUIRE_ROOT();
  REQUIRE_LUAJIT();
  TempDir dir;
  write_file(dir.file("hot.lua"), kHotLua);
  check_hot(record(dir, {"/usr/bin/luajit", dir.file("hot.lua"), "off", "5"}), dir.file("hot.lua"), false, false);
}

TEST(LuaFrames, InterpreterExecutingLines) {
  REQUIRE_ROOT();
  REQUIRE_LUAJIT();
  TempDir dir;
  write_file(dir.file("hot.lua"), kHotLua);
  check_hot(record(dir, {"/usr/bin/luajit", dir.file("hot.lua"), "off", "5"}, {"--lua-lines"}),
            dir.file("hot.lua"), false, true);
}

// --lua-lines inside compiled traces: the executing line comes from the trace's snapshot
// whose machine code holds the sample's pc (the loop body, lines 4-5), not only the line
// where the trace starts (the loop's line 3).
TEST(LuaFrames, JitTraceExecutingLines) {
  REQUIRE_ROOT();
  REQUIRE_LUAJIT();
  TempDir dir;
  write_file(dir.file("loop.lua"), R"(local function inner(n)
  local s = 0
  for i = 1, n do
    s = s + (i % 7) * 3
    if i % 3 == 0 then s = s + math.floor(i / 5) end
  end
  return s
end
local deadline = os.clock() + 5
local acc = 0
while os.clock() < deadline do acc = acc + inner(1000) end
print(acc)
)");
  const std::string chunk = dir.file("loop.lua");
  const auto stacks = record(dir, {"/usr/bin/luajit", chunk}, {"--lua-lines"});
  uint64_t in_trace = 0, body = 0, in_range = 0;
  for (const auto& s : stacks) {
    const size_t i = find_frame(s, [&](const std::string& f) { return starts_with(f, "inner " + chunk + ":"); });
    if (i == std::string::npos || !s.frames[i].ends_with("_[j]")) continue;
    in_trace += s.count;
    const std::string line = s.frames[i].substr(("inner " + chunk + ":").size());
    const int n = std::atoi(line.c_str());
    if (n == 4 || n == 5) body += s.count;
    if (n >= 1 && n <= 8) in_range += s.count;
  }
  EXPECT_GE(double(in_trace), 0.5 * double(total_samples(stacks))) << top_stacks(stacks);
  EXPECT_EQ(in_range, in_trace) << top_stacks(stacks);
  EXPECT_GE(double(body), 0.3 * double(in_trace)) << top_stacks(stacks, 10);
}

TEST(LuaFrames, JitTraceChains) {
  REQUIRE_ROOT();
  REQUIRE_LUAJIT();
  TempDir dir;
  write_file(dir.file("hot.lua"), kHotLua);
  check_hot(record(dir, {"/usr/bin/luajit", dir.file("hot.lua"), "on", "5"}), dir.file("hot.lua"), true, false);
}

// The command line running `script ARGS` with the vanilla LuaJIT build that scripts/setup
// unpacks into the build tree (its packages conflict with luajit2's).
std::vector<std::string> vanilla_luajit(const std::string& script, std::vector<std::string> args = {}) {
  const std::string root = KPERF_BUILD_DIR "/peers/luajit-vanilla/root";
  std::vector<std::string> cmd = {"/usr/bin/env", "LD_LIBRARY_PATH=" + root + "/usr/lib/x86_64-linux-gnu",
                                  root + "/usr/bin/luajit", script};
  cmd.insert(cmd.end(), args.begin(), args.end());
  return cmd;
}

TEST(LuaFrames, VanillaLuajitJitTraceChains) {
  REQUIRE_ROOT();
  const auto cmd = vanilla_luajit("hot.lua");
  ASSERT_EQ(access(cmd[2].c_str(), X_OK), 0) << cmd[2] << " is missing: run scripts/setup";
  TempDir dir;
  write_file(dir.file("hot.lua"), kHotLua);
  check_hot(record(dir, vanilla_luajit(dir.file("hot.lua"), {"on", "5"})), dir.file("hot.lua"), true, false);
}

// Functions inlined into a trace (kInlinedLua): every leaf frame sits right under inner,
// every inner right under outer (never out of order); with --lua-lines their lines are
// real lines of their bodies (leaf 5-7, inner 11-12), else first lines.
void check_inlined(const std::vector<Stack>& stacks, const std::string& chunk, bool lines) {
  const InlinedCounts c = count_inlined(stacks, chunk, lines);
  EXPECT_EQ(c.misplaced, 0u) << top_stacks(stacks, 10);
  EXPECT_GE(double(c.chain), 0.3 * double(total_samples(stacks))) << top_stacks(stacks, 10);
  EXPECT_EQ(c.bad_line, 0u) << top_stacks(stacks, 10);
}

TEST(LuaFrames, InlinedFunctionsInTraces) {
  REQUIRE_ROOT();
  REQUIRE_LUAJIT();
  TempDir dir;
  write_file(dir.file("inl.lua"), kInlinedLua);
  check_inlined(record(dir, {"/usr/bin/luajit", dir.file("inl.lua")}), dir.file("inl.lua"), false);
  check_inlined(record(dir, {"/usr/bin/luajit", dir.file("inl.lua")}, {"--lua-lines"}), dir.file("inl.lua"), true);
}

TEST(LuaFrames, VanillaLuajitInlinedFunctionsInTraces) {
  REQUIRE_ROOT();
  const auto cmd = vanilla_luajit("inl.lua");
  ASSERT_EQ(access(cmd[2].c_str(), X_OK), 0) << cmd[2] << " is missing: run scripts/setup";
  TempDir dir;
  write_file(dir.file("inl.lua"), kInlinedLua);
  check_inlined(record(dir, vanilla_luajit(dir.file("inl.lua")), {"--lua-lines"}), dir.file("inl.lua"), true);
}

// Samples in spin (first line 2, whatever its name) whose chain is main chunk -> the
// collected closure `f` (line 11) -> `spin`: the closure's frame needs the function
// captured at sample time (its memory holds a string by the time kperf walks).
void check_closures(const std::vector<Stack>& stacks, const std::string& chunk, bool jit) {
  const auto in_spin = [&](const Stack& s) {
    return find_frame(s, [&](const std::string& f) {
             return f.ends_with(" " + chunk + ":2") || f.ends_with(" " + chunk + ":2_[j]");
           }) != std::string::npos;
  };
  const auto named = [&](const Stack& s) {
    const size_t m = find_frame(s, [&](const std::string& f) { return is_main_chunk(f, chunk); });
    if (m == std::string::npos || m + 2 >= s.frames.size()) return false;
    const std::string f = "f " + chunk + ":11", spin = "spin " + chunk + ":2";
    return (s.frames[m + 1] == f || s.frames[m + 1] == f + "_[j]") &&
           (s.frames[m + 2] == spin || (jit && s.frames[m + 2] == spin + "_[j]"));
  };
  uint64_t spin_samples = 0, chains = 0;
  for (const auto& s : stacks) {
    if (!in_spin(s)) continue;
    spin_samples += s.count;
    if (named(s)) chains += s.count;
  }
  EXPECT_GE(double(spin_samples), 0.5 * double(total_samples(stacks))) << top_stacks(stacks);
  EXPECT_GE(double(chains), 0.9 * double(spin_samples)) << top_stacks(stacks);
}

TEST(LuaFrames, CollectedClosuresStayNamed) {
  REQUIRE_ROOT();
  REQUIRE_LUAJIT();
  TempDir dir;
  write_file(dir.file("closures.lua"), kClosuresLua);
  const std::string chunk = dir.file("closures.lua");
  check_closures(record(dir, {"/usr/bin/luajit", chunk, "off"}), chunk, false);
}

TEST(LuaFrames, CollectedClosuresStayNamedInTraces) {
  REQUIRE_ROOT();
  REQUIRE_LUAJIT();
  TempDir dir;
  write_file(dir.file("closures.lua"), kClosuresLua);
  const std::string chunk = dir.file("closures.lua");
  check_closures(record(dir, {"/usr/bin/luajit", chunk, "on"}), chunk, true);
}

// Lua -> a named lua_CFunction of the host (lj_test_host's cspin) -> Lua: the C function
// is one frame, its native symbol, between the Lua frames (not the walker's call-site
// name `cspin` and then the native frame again).
TEST(LuaFrames, CFunctionCalledFromLuaShownOnce) {
  REQUIRE_ROOT();
#ifndef KPERF_LJ_TEST_HOST
  GTEST_SKIP() << "needs luajit2's shared libluajit (lj_test_host)";
#else
  TempDir dir;
  write_file(dir.file("cfunc.lua"), R"(jit.off()
local function cb()
  local s = 0
  for i = 1, 3000 do s = s + i % 5 end
  return s
end
local function caller()
  cspin(cb, 20)
end
local deadline = os.clock() + 5
while os.clock() < deadline do caller() end
)");
  const std::string chunk = dir.file("cfunc.lua");
  const auto stacks = record(dir, {KPERF_LJ_TEST_HOST, chunk});
  // cb is called by lua_call from C: no call-site name, like debug.getinfo.
  const std::string caller = "caller " + chunk + ":7", cb = "? " + chunk + ":2";
  uint64_t in_caller = 0, once = 0, in_cb = 0, cb_ordered = 0;
  for (const auto& s : stacks) {
    const size_t c = find_frame(s, [&](const std::string& f) { return f == caller; });
    if (c == std::string::npos) continue;
    in_caller += s.count;
    const auto n = std::count(s.frames.begin(), s.frames.end(), "lj_host_cspin");
    const bool no_alias = find_frame(s, [](const std::string& f) { return f == "cspin"; }) == std::string::npos;
    if (c + 1 < s.frames.size() && s.frames[c + 1] == "lj_host_cspin" && n == 1 && no_alias) once += s.count;
    const size_t b = find_frame(s, [&](const std::string& f) { return f == cb; }, c + 1);
    if (b != std::string::npos) {
      in_cb += s.count;
      if (s.frames[c + 1] == "lj_host_cspin" && b == s.frames.size() - 1 && reaches_main(s)) cb_ordered += s.count;
    }
  }
  EXPECT_GE(double(in_caller), 0.9 * double(total_samples(stacks))) << top_stacks(stacks);
  EXPECT_GE(double(in_cb), 0.3 * double(in_caller)) << top_stacks(stacks);
  EXPECT_GE(double(once), 0.9 * double(in_caller)) << top_stacks(stacks);
  EXPECT_GE(double(cb_ordered), 0.9 * double(in_cb)) << top_stacks(stacks);
#endif
}

TEST(LuaFrames, DeepRecursionComesOutWhole) {
  REQUIRE_ROOT();
  REQUIRE_LUAJIT();
  TempDir dir;
  write_file(dir.file("deep.lua"), kDeepLua);
  const std::string chunk = dir.file("deep.lua");
  const auto stacks = record(dir, {"/usr/bin/luajit", chunk});
  const double whole = share(stacks, [&](const Stack& s) {
    const size_t m = find_frame(s, [&](const std::string& f) { return f == "? " + chunk + ":0"; });
    if (m == std::string::npos || m + 102 >= s.frames.size()) return false;
    for (size_t i = 1; i <= 101; ++i)
      if (s.frames[m + i] != "rec " + chunk + ":3") return false;
    return s.frames[m + 102] == "spin " + chunk + ":2" && reaches_main(s);
  });
  EXPECT_GE(whole, 0.85) << top_stacks(stacks, 2);
}

TEST(LuaFrames, LuaCLuaSandwichInOrder) {
  REQUIRE_ROOT();
  REQUIRE_LUAJIT();
  TempDir dir;
  write_file(dir.file("sort.lua"), kSortLua);
  const std::string chunk = dir.file("sort.lua");
  const auto stacks = record(dir, {"/usr/bin/luajit", chunk});
  auto is_cmp = [&](const std::string& f) { return f.ends_with(" " + chunk + ":2"); };
  const auto in_cmp = [&](const Stack& s) { return find_frame(s, is_cmp) != std::string::npos; };
  EXPECT_GE(share(stacks, in_cmp), 0.2) << top_stacks(stacks);
  // main chunk -> sorter -> table.sort -> (native sort code, lua_call) -> cmp
  uint64_t cmp_samples = 0, ordered = 0;
  for (const auto& s : stacks) {
    if (!in_cmp(s)) continue;
    cmp_samples += s.count;
    const size_t m = find_frame(s, [&](const std::string& f) { return f == "? " + chunk + ":0"; });
    const size_t so = find_frame(s, [&](const std::string& f) { return f == "sorter " + chunk + ":5"; }, m + 1);
    const size_t ts = find_frame(s, [](const std::string& f) { return f == "table.sort"; }, so + 1);
    const size_t c = find_frame(s, is_cmp, ts + 1);
    if (m != std::string::npos && so == m + 1 && ts == so + 1 && c != std::string::npos && c > ts + 1 &&
        reaches_main(s))
      ordered += s.count;
  }
  EXPECT_GE(double(ordered), 0.9 * double(cmp_samples)) << top_stacks(stacks);
}

// Samples inside a coroutine body continue with its resumer's stack: main chunk ->
// consumer -> coroutine.resume (or wrap's coroutine.wrap_aux) -> the body, and never
// under an unrelated frame; an unknown resumer only as [lua:coroutine].
void check_coroutine_callers(const std::string& mode) {
  TempDir dir;
  write_file(dir.file("co.lua"), kCoroutineLua);
  const std::string chunk = dir.file("co.lua");
  const auto stacks = record(dir, {"/usr/bin/luajit", chunk, mode, "5"});
  uint64_t body = 0, right = 0, unknown = 0;
  std::string unrelated;
  for (const auto& s : stacks) {
    const size_t b = find_frame(s, [&](const std::string& f) {
      return f == "? " + chunk + ":8" || f == "? " + chunk + ":14" || f == "? " + chunk + ":8_[j]" ||
             f == "? " + chunk + ":14_[j]";
    });
    if (b == std::string::npos) continue;
    body += s.count;
    const bool wrapped = starts_with(s.frames[b], "? " + chunk + ":14");
    const std::string resume = wrapped ? "coroutine.wrap_aux" : "coroutine.resume";
    if (b >= 3 && s.frames[b - 1] == resume && starts_with(s.frames[b - 2], "consumer " + chunk + ":20") &&
        starts_with(s.frames[b - 3], "? " + chunk + ":0") && reaches_main(s))
      right += s.count;
    else if (b >= 1 && s.frames[b - 1] == "[lua:coroutine]")
      unknown += s.count;
    else {
      unrelated += std::to_string(s.count);
      for (const auto& f : s.frames) unrelated += (&f == &s.frames[0] ? " " : ";") + f;
      unrelated += "\n";
    }
  }
  std::printf("  %s: %llu coroutine samples, %llu with the right caller, %llu [lua:coroutine]\n", mode.c_str(),
              static_cast<unsigned long long>(body), static_cast<unsigned long long>(right),
              static_cast<unsigned long long>(unknown));
  ASSERT_GT(body, 300u) << top_stacks(stacks);
  EXPECT_GE(double(right), 0.95 * double(body)) << top_stacks(stacks);
  // Never under an unrelated frame, also for samples taken while the VM switches between
  // a coroutine and its resumer (yield cleared the coroutine's C frame, cur_L and BASE not
  // yet the resumer's: [lua:coroutine]). Printed so a failure shows which frames they were.
  if (!unrelated.empty()) std::printf("  %s: samples under an unrelated frame:\n%s", mode.c_str(), unrelated.c_str());
  EXPECT_EQ(body - right - unknown, 0u)
      << "coroutine samples under an unrelated frame\n" << unrelated;
}

TEST(LuaFrames, CoroutinesKeepTheirCallersInterpreted) {
  REQUIRE_ROOT();
  REQUIRE_LUAJIT();
  check_coroutine_callers("off");
}

TEST(LuaFrames, CoroutinesKeepTheirCallersJit) {
  REQUIRE_ROOT();
  REQUIRE_LUAJIT();
  check_coroutine_callers("on");
}

// ngx_lua runs coroutine.resume / wrap by yielding the parent coroutine and resuming the
// child from C, and light threads (ngx.thread.spawn) likewise: each body's samples go on
// with the parent's frames (the handler, a per-request closure) and the call that
// started it, named.
TEST(LuaFrames, NginxCoroutinesAndLightThreadsKeepTheirParents) {
  REQUIRE_ROOT();
  if (const std::string why = nginx_lua_unavailable(); !why.empty()) GTEST_SKIP() << why;
  TempDir dir;
  NginxRecordOptions opts;
  opts.connections = 2;
  const NginxRecording rec = record_lua_handler(dir, R"(local function burn(n)
  local s = 0
  for i = 1, n do s = s + i % 7 end
  return s
end

local function handle()
  local co = coroutine.create(function() burn(30000) coroutine.yield() end)
  coroutine.resume(co)
  local w = coroutine.wrap(function() burn(30000) end)
  w()
  local t = ngx.thread.spawn(function() local r = burn(30000) return r end)
  ngx.thread.wait(t)
  ngx.say("ok")
end

handle()
)", opts);
  ASSERT_EQ(rec.problem(201), "");
  const std::string& chunk = rec.chunk;
  const auto& stacks = rec.stacks;

  // body line -> the call that runs it in the parent (handle's frame right above).
  const std::vector<std::pair<int, std::string>> bodies = {{8, "resume"}, {10, "w"}, {12, "spawn"}};
  for (const auto& [line, call] : bodies) {
    const std::string body = fmt::format("? {}:{}", chunk, line);
    uint64_t in_body = 0, right = 0;
    for (const auto& s : stacks) {
      const size_t b = find_frame(s, [&](const std::string& f) { return f == body || f == body + "_[j]"; });
      if (b == std::string::npos) continue;
      in_body += s.count;
      if (b >= 3 && s.frames[b - 1] == call && starts_with(s.frames[b - 2], "handle " + chunk + ":7") &&
          starts_with(s.frames[b - 3], "? " + chunk + ":0"))
        right += s.count;
    }
    std::printf("  body at line %d (%s): %llu samples, %llu under handle -> %s\n", line, call.c_str(),
                static_cast<unsigned long long>(in_body), static_cast<unsigned long long>(right), call.c_str());
    EXPECT_GT(in_body, 30u) << top_stacks(stacks);
    EXPECT_GE(double(right), 0.9 * double(in_body)) << call << "\n" << top_stacks(stacks);
  }
}

TEST(LuaFrames, NginxContentHandler) {
  REQUIRE_ROOT();
  if (const std::string why = nginx_lua_unavailable(); !why.empty()) GTEST_SKIP() << why;
  TempDir dir;
  NginxRecordOptions opts;
  opts.connections = 4;
  const NginxRecording rec = record_lua_handler(dir, R"(local function work(n)
  local s = 0
  for i = 1, n do s = s + (i % 13) end
  return s
end

local function handle()
  local t = 0
  for k = 1, 20 do t = t + work(500) end
  ngx.say("sum ", t)
end

handle()
)", opts);
  ASSERT_EQ(rec.problem(201), "");
  const std::string& chunk = rec.chunk;
  const auto& stacks = rec.stacks;

  auto is_handler = [&](const std::string& f) { return starts_with(f, "handle " + chunk + ":7"); };
  const auto has_handler = [&](const Stack& s) { return find_frame(s, is_handler) != std::string::npos; };
  EXPECT_GE(share(stacks, has_handler), 0.3) << top_stacks(stacks);
  uint64_t handler = 0, ordered = 0, with_work = 0;
  for (const auto& s : stacks) {
    if (!has_handler(s)) continue;
    handler += s.count;
    const size_t ev = find_frame(s, [](const std::string& f) { return f == "ngx_process_events_and_timers"; });
    const size_t ch = find_frame(s, [](const std::string& f) { return starts_with(f, "ngx_http_lua_content"); },
                                 ev == std::string::npos ? 0 : ev + 1);
    const size_t main_chunk = find_frame(s, [&](const std::string& f) { return f == "? " + chunk + ":0"; },
                                         ch == std::string::npos ? 0 : ch + 1);
    const size_t h = find_frame(s, is_handler);
    if (ev != std::string::npos && ch != std::string::npos && main_chunk != std::string::npos &&
        h == main_chunk + 1)
      ordered += s.count;
    if (h + 1 < s.frames.size() && starts_with(s.frames[h + 1], "work " + chunk + ":1")) with_work += s.count;
  }
  EXPECT_GE(double(ordered), 0.9 * double(handler)) << top_stacks(stacks);
  EXPECT_GE(double(with_work), 0.5 * double(handler)) << top_stacks(stacks);

  // handle and work are closures created per request, collected soon after: samples
  // under the main chunk name them all the same (no `?`, no bare call-site names).
  const auto bad = [&](const std::string& f) {
    if (f == "?" || starts_with(f, "? ") || f == "handle" || f == "work" || starts_with(f, "0x")) return true;
    if (f.find(chunk) == std::string::npos) return false;
    for (const std::string& ok : {"handle " + chunk + ":7", "work " + chunk + ":1"})
      if (f == ok || f == ok + "_[j]") return false;
    return true;
  };
  uint64_t lua = 0, whole = 0;
  for (const auto& s : stacks) {
    const size_t m = find_frame(s, [&](const std::string& f) { return f == "? " + chunk + ":0"; });
    if (m == std::string::npos) continue;
    lua += s.count;
    if (find_frame(s, bad, m + 1) == std::string::npos) whole += s.count;
  }
  EXPECT_GE(double(whole), 0.9 * double(lua)) << top_stacks(stacks);
}

}  // namespace
}  // namespace kperf::test

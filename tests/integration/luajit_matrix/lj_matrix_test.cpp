// The LuaJIT build matrix: for every build of KPERF_SHARED_DIR/luajit (built into
// BUILD/peers by the luajit_peers fixture), the layout kperf reads from the build's
// machine code against offsetof from the build's own headers, the fields it learns from
// the live process, and `kperf record -F 499 -d 3` on Lua scripts (JIT on and off,
// pcall, coroutines, collected closures, a C host linking the build's libluajit), and
// a copy of one build patched so that its layout cannot be read (said, counted).
// Each record case prints one row of the matrix table (build, script, samples, % whole
// chain, % with a Lua frame, JIT frames).
#include <gtest/gtest.h>

#include <fmt/core.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <elf.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <ostream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "profiler/luajit/find_vm.hpp"
#include "profiler/luajit/remote_memory.hpp"
#include "profiler/luajit/vm_layout.hpp"
#include "tests/integration/luajit/lj_test_target.hpp"
#include "tests/support/folded_stacks.hpp"
#include "tests/support/kong_testbed.hpp"
#include "tests/support/lua_stacks.hpp"
#include "tests/support/nginx_recording.hpp"
#include "tests/support/process.hpp"
#include "tests/support/root.hpp"
#include "tests/support/temp_dir.hpp"

namespace kperf::test {
namespace {

using namespace std::chrono_literals;
namespace lj = kperf::prof::lj;

struct Peer {
  const char* name;  // BUILD/peers/luajit-NAME (scripts/peers/luajit)
  bool gc64;
  bool lua20;  // LuaJIT 2.0: no global_State.cur_L (jit_L and the C frame's lua_State)
};
const Peer kPeers[] = {
    {"20190507", false, false}, {"20190507-gc64", true, false}, {"20201027", true, false}, {"20231117", true, false},
    {"2.1-2026", true, false},  {"2.1-2026-nogc64", false, false}, {"2.0.5", false, true},
};

void PrintTo(const Peer& p, std::ostream* os) { *os << p.name; }  // ctest names: the build

std::string peer_dir(const Peer& p) { return std::string(KPERF_BUILD_DIR) + "/peers/luajit-" + p.name; }

#define REQUIRE_PEERS()                                                                                  \
  if (access(KPERF_SHARED_DIR "/luajit", F_OK) != 0)                                                     \
    GTEST_SKIP() << "needs the project's shared folder: KPERF_SHARED_DIR/luajit holds the LuaJIT sources"; \
  ASSERT_EQ(access((peer_dir(GetParam()) + "/.built").c_str(), F_OK), 0)                                 \
      << peer_dir(GetParam()) << " not built: run ctest -R luajit_peers_build (scripts/peers/luajit)"
class LuajitPeer : public ::testing::TestWithParam<Peer> {};

// offsetof(...) of the peer's own headers, compiled with its XCFLAGS.
std::map<std::string, long> header_offsets(const Peer& p, const TempDir& dir) {
  const std::string d = peer_dir(p);
  std::vector<std::string> argv{"gcc"};
  std::istringstream xc(read_file(d + "/xcflags"));
  for (std::string f; xc >> f;) argv.push_back(f);
  argv.insert(argv.end(), {"-I", d + "/tree/src", "-o", dir.file("offsets"), KPERF_LJ_OFFSETS_C});
  const auto cc = run(argv, 60);
  EXPECT_EQ(cc.status, 0) << cc.err;
  const auto r = run({dir.file("offsets")}, 10);
  std::map<std::string, long> m;
  std::istringstream in(r.out);
  for (std::string k; in >> k;) in >> m[k];
  return m;
}

void expect_code_layout(const lj::VmOffsets& o, std::map<std::string, long>& h, const std::string& what) {
  SCOPED_TRACE(what);
  EXPECT_EQ(o.lua20, h["G_cur_L"] == 0);  // LuaJIT 2.0: no cur_L in its headers
  EXPECT_EQ(o.gc64, h["gc64"] == 1);
#define CHECK_FIELD(f) EXPECT_EQ(long(o.f), h[#f]) << #f;
  CHECK_FIELD(L_glref) CHECK_FIELD(L_base) CHECK_FIELD(L_top) CHECK_FIELD(L_stack) CHECK_FIELD(L_cframe)
  CHECK_FIELD(L_stacksize) CHECK_FIELD(G_vmstate) CHECK_FIELD(G_cur_L) CHECK_FIELD(G_jit_base)
  CHECK_FIELD(dispatch_from_G) CHECK_FIELD(J_from_G) CHECK_FIELD(J_trace) CHECK_FIELD(J_sizetrace)
  CHECK_FIELD(tr_nsnap) CHECK_FIELD(tr_ir) CHECK_FIELD(tr_nk) CHECK_FIELD(tr_snap) CHECK_FIELD(tr_snapmap)
  CHECK_FIELD(tr_startpt) CHECK_FIELD(tr_startpc) CHECK_FIELD(tr_szmcode) CHECK_FIELD(tr_mcode)
  CHECK_FIELD(tr_traceno) CHECK_FIELD(fn_gct) CHECK_FIELD(fn_ffid) CHECK_FIELD(fn_pc) CHECK_FIELD(fn_cfunc)
  CHECK_FIELD(pt_sizebc) CHECK_FIELD(pt_k) CHECK_FIELD(pt_sizept) CHECK_FIELD(pt_chunkname)
  CHECK_FIELD(pt_firstline) CHECK_FIELD(pt_numline) CHECK_FIELD(pt_lineinfo) CHECK_FIELD(pt_uvinfo)
  CHECK_FIELD(pt_varinfo) CHECK_FIELD(sizeof_GCproto) CHECK_FIELD(cframe_pc) CHECK_FIELD(G_jit_L)
#undef CHECK_FIELD
}

// The layout read from the machine code of the shared library and of the executable
// (static VM) equals offsetof from the tree's headers (LuaJIT 2.0 too: jit_L for cur_L).
TEST_P(LuajitPeer, LayoutFromMachineCodeMatchesHeaders) {
  REQUIRE_PEERS();
  TempDir dir;
  auto h = header_offsets(GetParam(), dir);
  ASSERT_GT(h.size(), 40u) << "offsets of " << GetParam().name << "'s headers";
  for (const std::string f : {"/lib/libluajit-5.1.so.2", "/bin/luajit"}) {
    const auto d = lj::layout_of_file(peer_dir(GetParam()) + f);
    ASSERT_TRUE(d.found) << f << ": " << d.message;
    ASSERT_TRUE(d.usable) << d.message;
    expect_code_layout(d.layout.off, h, f);
  }
}

const char* kSpinLua = R"(jit.off()
local function inner(n)
  local s = 0
  for i = 1, n do s = s + (i % 7) * 3 end
  return s
end
io.stdout:write("ready\n") io.stdout:flush()
while true do inner(100000) end
)";

// What only the live process tells (the GG layout: sizeof(lua_State)) is
// learned at the first G found from r14 in the interpreter, and equals offsetof.
TEST_P(LuajitPeer, LiveFieldsMatchHeaders) {
  REQUIRE_ROOT();
  REQUIRE_PEERS();
  TempDir dir;
  auto h = header_offsets(GetParam(), dir);
  write_file(dir.file("spin.lua"), kSpinLua);
  ChildProcess child({peer_dir(GetParam()) + "/bin/luajit", dir.file("spin.lua")}, {}, dir.file("out"));
  ASSERT_TRUE(wait_for_text(dir.file("out"), "ready", 10s)) << read_file(dir.file("out"));
  lj::VmFinder finder(child.pid());
  ASSERT_TRUE(finder.usable()) << finder.message();
  lj::RemoteMemory mem(child.pid());
  Tracer tr(child.pid());
  ASSERT_TRUE(tr.ok()) << tr.error();
  std::optional<std::uint64_t> G;
  for (int i = 0; i < 200 && !G; ++i) {
    std::this_thread::sleep_for(2ms);
    lj::UserRegs regs;
    ASSERT_TRUE(tr.interrupt(regs));
    mem.clear();
    G = finder.from_registers(mem, regs);
    tr.resume();
  }
  ASSERT_TRUE(G) << "no G from r14 in 200 stops: " << finder.refusal();
  EXPECT_EQ(long(finder.layout().off.sizeof_lua_State), h["sizeof_lua_State"]);
  EXPECT_TRUE(lj::validate_G(mem, finder.layout().off, *G));
}

struct Recorded {
  std::vector<Stack> stacks;
  std::string err;  // kperf's stderr
};

Recorded record(const TempDir& dir, const std::vector<std::string>& cmd, const std::vector<std::string>& flags = {}) {
  std::vector<std::string> argv{KPERF_BINARY, "record", "-F", "499", "-d", "3", "-o", dir.file("out.folded")};
  argv.insert(argv.end(), flags.begin(), flags.end());
  argv.push_back("--");
  argv.insert(argv.end(), cmd.begin(), cmd.end());
  const auto r = run(argv, 60);
  EXPECT_EQ(r.status, 0) << r.err;
  Recorded out{parse_folded(read_file(dir.file("out.folded"))), r.err};
  // 499 Hz for 3 s is ~1500 samples of a busy process; on 2 shared cores, with other
  // builds and tests running, it may get a tenth of a CPU.
  EXPECT_GT(total_samples(out.stacks), 100u) << r.err;
  // The summary's counts add up: Lua counts are parts of the samples in LuaJIT code,
  // which are part of all samples.
  std::smatch m;
  const std::regex summary(R"((\d+) samples in [0-9.]+ s .*lua: (\d+) samples in LuaJIT code \((\d+) with Lua )"
                           R"(frames, (\d+) in a VM kperf cannot read\), (\d+) in traces)");
  if (std::regex_search(r.err, m, summary)) {
    const auto n = [&](int i) { return std::stoull(m[i].str()); };
    EXPECT_LE(n(2), n(1)) << r.err;
    EXPECT_LE(n(3) + n(4), n(2)) << r.err;
    EXPECT_LE(n(5), n(2)) << r.err;
    EXPECT_EQ(n(1), total_samples(out.stacks)) << r.err;
  } else {
    ADD_FAILURE() << "no Lua counts in kperf's summary: " << r.err;
  }
  return out;
}

bool has_jit_frame(const std::vector<Stack>& stacks) {
  return std::any_of(stacks.begin(), stacks.end(), [](const Stack& s) {
    return find_frame(s, [](const std::string& f) { return f.ends_with("_[j]"); }) != std::string::npos;
  });
}

// One row of the matrix table; returns the whole-chain share.
double row(const Peer& p, const std::string& script, const Recorded& r, const std::string& chunk,
           const std::function<bool(const Stack&)>& chain) {
  const double whole = share(r.stacks, chain);
  const double lua = share(r.stacks, [&](const Stack& s) { return has_lua_frame(s, chunk); });
  std::printf("| %s | %s | %llu | %.1f%% | %.1f%% | %s |\n", p.name, script.c_str(),
              static_cast<unsigned long long>(total_samples(r.stacks)), 100 * whole, 100 * lua,
              has_jit_frame(r.stacks) ? "yes" : "no");
  return whole;
}

// runner: the command before the script's path.
void hot(const Peer& p, bool jit, const std::vector<std::string>& runner, const std::string& label) {
  TempDir dir;
  const std::string chunk = dir.file("hot.lua");
  // The C host passes no arguments: the script's first line sets them (lines unchanged).
  const std::string args = fmt::format(R"(arg = {{"{}", "5"}} )", jit ? "on" : "off");
  write_file(chunk, (runner.size() == 1 && runner[0].ends_with("/host") ? args : "") + kHotLua);
  std::vector<std::string> cmd = runner;
  cmd.insert(cmd.end(), {chunk, jit ? "on" : "off", "5"});
  const auto r = record(dir, cmd);
  const double whole = row(p, label + (jit ? " JIT on" : " JIT off"), r, chunk,
                           [&](const Stack& s) { return hot_chain(s, chunk, 7, 1, jit); });
  EXPECT_GE(whole, 0.90) << top_stacks(r.stacks);
  if (jit) EXPECT_TRUE(has_jit_frame(r.stacks)) << top_stacks(r.stacks);
}

std::vector<std::string> luajit_of(const Peer& p) { return {peer_dir(p) + "/bin/luajit"}; }

TEST_P(LuajitPeer, HotChainJitOn) {
  REQUIRE_ROOT();
  REQUIRE_PEERS();
  hot(GetParam(), true, luajit_of(GetParam()), "hot");
}

TEST_P(LuajitPeer, HotChainJitOff) {
  REQUIRE_ROOT();
  REQUIRE_PEERS();
  hot(GetParam(), false, luajit_of(GetParam()), "hot");
}

// The embedded case: a small C host linking this build's libluajit-5.1.so.
TEST_P(LuajitPeer, EmbeddedHostChains) {
  REQUIRE_ROOT();
  REQUIRE_PEERS();
  TempDir dir;
  const std::string lib = peer_dir(GetParam()) + "/lib";
  const auto cc = run({"gcc", "-o", dir.file("host"), KPERF_LJ_HOST_C, "-L" + lib, "-l:libluajit-5.1.so.2",
                       "-Wl,-rpath," + lib},
                      60);
  ASSERT_EQ(cc.status, 0) << cc.err;
  for (bool jit : {true, false}) hot(GetParam(), jit, {dir.file("host")}, "embedded");
}

const char* kPcallLua = R"(jit.off()
local function work(n)
  local s = 0
  for i = 1, n do s = s + i % 7 end
  return s
end
local function guarded(n)
  local ok, v = pcall(work, n)
  return v
end
local deadline = os.clock() + 5
while os.clock() < deadline do guarded(20000) end
)";

TEST_P(LuajitPeer, PcallChain) {
  REQUIRE_ROOT();
  REQUIRE_PEERS();
  TempDir dir;
  const std::string chunk = dir.file("pcall.lua");
  write_file(chunk, kPcallLua);
  const auto r = record(dir, {luajit_of(GetParam())[0], chunk});
  const double whole = row(GetParam(), "pcall", r, chunk, [&](const Stack& s) {
    // Called by pcall: no call-site name (as debug.getinfo says).
    return has_sequence(s, {"guarded " + chunk + ":7", "pcall", "? " + chunk + ":2"});
  });
  EXPECT_GE(whole, 0.90) << top_stacks(r.stacks);
}

const char* kCoroutineLua = R"(jit.off()
local function work(n)
  local s = 0
  for i = 1, n do s = s + i % 7 end
  return s
end
local function body()
  while true do coroutine.yield(work(20000)) end
end
local co = coroutine.wrap(body)
local deadline = os.clock() + 5
while os.clock() < deadline do co() end
)";

// A coroutine's frames under its resumer: main chunk -> coroutine.wrap_aux -> body (no
// call-site name: resumed from C) -> work, GC64 or with 32-bit references (one-slot
// frames and 32-bit GCrefs in the captured resumer since session 13; before, body -> work
// under [lua:coroutine]).
TEST_P(LuajitPeer, CoroutineChain) {
  REQUIRE_ROOT();
  REQUIRE_PEERS();
  TempDir dir;
  const std::string chunk = dir.file("co.lua");
  write_file(chunk, kCoroutineLua);
  const auto r = record(dir, {luajit_of(GetParam())[0], chunk});
  const double whole = row(GetParam(), "coroutine", r, chunk, [&](const Stack& s) {
    return has_sequence(s, {"? " + chunk + ":0", "coroutine.wrap_aux", "? " + chunk + ":7", "work " + chunk + ":2"});
  });
  EXPECT_GE(whole, 0.90) << top_stacks(r.stacks);
}

// Closures created and collected per iteration: main chunk -> f -> spin, named from the
// functions the kernel side captured at sample time (GC64 and 32-bit frames alike).
TEST_P(LuajitPeer, CollectedClosures) {
  REQUIRE_ROOT();
  REQUIRE_PEERS();
  TempDir dir;
  const std::string chunk = dir.file("closures.lua");
  write_file(chunk, kClosuresLua);
  const auto r = record(dir, {luajit_of(GetParam())[0], chunk, "off"});
  const auto spin = [&](const Stack& s) {
    return find_frame(s, [&](const std::string& f) { return starts_with(f, "spin " + chunk + ":2"); }) !=
           std::string::npos;
  };
  const double whole = row(GetParam(), "closures", r, chunk, [&](const Stack& s) {
    const size_t m = find_frame(s, [&](const std::string& f) { return is_main_chunk(f, chunk); });
    return m != std::string::npos && m + 2 < s.frames.size() && s.frames[m + 1] == "f " + chunk + ":11" &&
           s.frames[m + 2] == "spin " + chunk + ":2";
  });
  EXPECT_GE(share(r.stacks, spin), 0.5) << top_stacks(r.stacks);
  EXPECT_GE(whole, 0.45) << top_stacks(r.stacks);
}

// nginx with Debian's lua module on Kong 2.4's LuaJIT (luajit2 2.1-20201027, which has
// every symbol the module needs), swapped in with LD_LIBRARY_PATH: the handler's Lua
// frames under the content phase, from that build's layout.
TEST(LuajitPeerNginx, ContentHandlerOnKong24Luajit) {
  REQUIRE_ROOT();
  if (access(KPERF_SHARED_DIR "/luajit", F_OK) != 0)
    GTEST_SKIP() << "needs the project's shared folder: KPERF_SHARED_DIR/luajit holds the LuaJIT sources";
  if (const std::string why = nginx_lua_unavailable(); !why.empty()) GTEST_SKIP() << why;
  const Peer peer = kPeers[2];
  ASSERT_STREQ(peer.name, "20201027");
  const std::string lib = peer_dir(peer) + "/lib";
  ASSERT_EQ(access((lib + "/libluajit-5.1.so.2").c_str(), R_OK), 0) << "run ctest -R luajit_peers_build";
  TempDir dir;
  NginxRecordOptions opts;
  opts.env = {"LD_LIBRARY_PATH=" + lib};
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
  EXPECT_NE(rec.master_maps.find(lib + "/libluajit-5.1.so"), std::string::npos)
      << "nginx did not load the peer's libluajit";
  ASSERT_EQ(rec.problem(201), "");
  const std::string& chunk = rec.chunk;
  const auto& stacks = rec.stacks;
  EXPECT_EQ(rec.kperf_err.find("no Lua frames for"), std::string::npos) << rec.kperf_err;
  const auto in_handle = [&](const Stack& s) {
    return find_frame(s, [&](const std::string& f) { return starts_with(f, "handle " + chunk + ":6"); }) !=
           std::string::npos;
  };
  const auto chain = [&](const Stack& s) {
    const size_t c = find_frame(s, [](const std::string& f) { return starts_with(f, "ngx_http_lua_content"); });
    const size_t m = find_frame(s, [&](const std::string& f) { return f == "? " + chunk + ":0"; },
                                c == std::string::npos ? 0 : c + 1);
    return c != std::string::npos && m != std::string::npos && m + 2 < s.frames.size() &&
           starts_with(s.frames[m + 1], "handle " + chunk + ":6") && starts_with(s.frames[m + 2], "work " + chunk + ":1");
  };
  const double handler = share(stacks, in_handle), whole = share(stacks, chain);
  std::printf("| 20201027 | nginx content handler (LD_LIBRARY_PATH) | %llu | %.1f%% of handler samples | %.1f%% | - |\n",
              static_cast<unsigned long long>(total_samples(stacks)), handler > 0 ? 100 * whole / handler : 0.0,
              100 * handler);
  EXPECT_GE(handler, 0.3) << top_stacks(stacks);
  EXPECT_GE(whole, 0.5 * handler) << top_stacks(stacks);
}

Recorded record_lines(const TempDir& dir, const std::vector<std::string>& cmd) {
  std::vector<std::string> with{"--lua-lines"};  // passed through record()'s command
  return record(dir, cmd, with);
}

// --lua-lines: the executing lines — outer at its call of inner (line 9), inner in its
// loop (line 3) — interpreted, and inside the trace (JIT on) from its snapshot (by mcofs,
// or by the guards' exit stubs on builds without it); in a helper the trace calls
// (lj_vm_modi for `%`, a third of the samples) there is no trace pc: inner's trace frame
// has its first line (1), under the helper, never another one (the trace's start line
// was wrong in some runs: a side trace or another start picked by a hotcount collision).
// (Counting only line 3 made the share the trace body's share of the CPU, 64-66% quiet
// and 57-59% under load: a property of the machine, not of kperf.)
TEST_P(LuajitPeer, ExecutingLines) {
  REQUIRE_ROOT();
  REQUIRE_PEERS();
  for (bool jit : {false, true}) {
    TempDir dir;
    const std::string chunk = dir.file("hot.lua");
    write_file(chunk, kHotLua);
    const auto r = record_lines(dir, {luajit_of(GetParam())[0], chunk, jit ? "on" : "off", "5"});
    const auto in_helper = [&](const Stack& s) {  // inner's trace frame at its first line, a frame above
      if (!hot_chain(s, chunk, 9, 1, jit)) return false;
      const size_t i = find_frame(s, [&](const std::string& f) { return f == "inner " + chunk + ":1_[j]"; });
      return i != std::string::npos && i + 1 < s.frames.size();
    };
    const double whole = row(GetParam(), jit ? "--lua-lines JIT on" : "--lua-lines JIT off", r, chunk,
                             [&](const Stack& s) {
                               return hot_chain(s, chunk, 9, 3, jit) || (jit && in_helper(s));
                             });
    EXPECT_GE(whole, 0.9) << top_stacks(r.stacks);
  }
}

// Functions inlined into a trace come out as frames from its snapshots (the one for rip by
// mcofs, or by the guards' exit stubs on builds whose snapshots have none: luajit2 before
// 2021, LuaJIT 2.0), GC64 and with 32-bit references: never out of order, never a wrong
// line.
TEST_P(LuajitPeer, InlinedFrames) {
  REQUIRE_ROOT();
  REQUIRE_PEERS();
  TempDir dir;
  const std::string chunk = dir.file("inl.lua");
  write_file(chunk, kInlinedLua);
  const auto r = record_lines(dir, {luajit_of(GetParam())[0], chunk});
  const InlinedCounts c = count_inlined(r.stacks, chunk, true);
  const double all = double(total_samples(r.stacks));
  std::printf("| %s | inlined (--lua-lines) | %llu | %.1f%% | %.1f%% | %s |\n", GetParam().name,
              static_cast<unsigned long long>(total_samples(r.stacks)), all > 0 ? 100 * double(c.chain) / all : 0.0,
              100 * share(r.stacks, [&](const Stack& s) { return has_lua_frame(s, chunk); }),
              has_jit_frame(r.stacks) ? "yes" : "no");
  EXPECT_EQ(c.misplaced, 0u) << top_stacks(r.stacks, 10);
  EXPECT_EQ(c.bad_line, 0u) << top_stacks(r.stacks, 10);
  EXPECT_GE(double(c.chain), 0.3 * all) << top_stacks(r.stacks, 10);
  EXPECT_TRUE(has_jit_frame(r.stacks)) << top_stacks(r.stacks, 10);
}

const char* kFastFunctionLua = R"(jit.off()
local t = {}
for i = 1, 400 do t[i] = tostring(i) end
local function work()
  local s = table.concat(t, ",")
  return s
end
local deadline = os.clock() + 5
while os.clock() < deadline do work() end
)";

// Fast functions by their names in this build (ffids moved between builds: 2019's
// luajit2 lacks thread.exdata2): from the build's installed jit/vmdef.lua.
TEST_P(LuajitPeer, FastFunctionNames) {
  REQUIRE_ROOT();
  REQUIRE_PEERS();
  const auto d = lj::layout_of_file(peer_dir(GetParam()) + "/lib/libluajit-5.1.so.2");
  ASSERT_GT(d.layout.own_ffnames.size(), 150u) << "no jit/vmdef.lua found next to the build";
  EXPECT_EQ(d.layout.own_ffnames[0], "Lua");
  if (GetParam().lua20)  // the built-in 2.0 list, for a 2.0 installed without its vmdef.lua
    EXPECT_TRUE(std::equal(d.layout.ffnames.begin(), d.layout.ffnames.end(), d.layout.own_ffnames.begin(),
                           d.layout.own_ffnames.end()));
  TempDir dir;
  const std::string chunk = dir.file("ff.lua");
  write_file(chunk, kFastFunctionLua);
  const auto r = record(dir, {luajit_of(GetParam())[0], chunk});
  const double whole = row(GetParam(), "table.concat", r, chunk, [&](const Stack& s) {
    return has_sequence(s, {"work " + chunk + ":4", "table.concat"});
  });
  EXPECT_GE(whole, 0.5) << top_stacks(r.stacks);
  EXPECT_EQ(share(r.stacks, [](const Stack& s) {
              return find_frame(s, [](const std::string& f) { return starts_with(f, "ffid#"); }) != std::string::npos;
            }),
            0.0);
}

std::string peer_name(const ::testing::TestParamInfo<Peer>& info) {
  std::string n = info.param.name;
  std::replace_if(n.begin(), n.end(), [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); }, '_');
  return "v" + n;
}

INSTANTIATE_TEST_SUITE_P(Builds, LuajitPeer, ::testing::ValuesIn(kPeers), peer_name);


// The memory map of the first child (nginx's worker) of pid, "" if none.
std::string first_child_pid_maps(pid_t pid) {
  std::istringstream children(read_file(fmt::format("/proc/{}/task/{}/children", pid, pid)));
  pid_t child = 0;
  return children >> child ? read_file(fmt::format("/proc/{}/maps", child)) : std::string();
}

// Kong 2.4.0 (the test bed) on the LuaJIT its OpenResty shipped, luajit2 2.1-20201027 (GC64,
// snapshots without mcofs), swapped in with LUAJIT_LIBDIR: `kperf attach` under load names
// Kong's own Lua code in its traces and in the interpreter, as on Debian's luajit2.
TEST(LuajitPeerKong, Kong24OnItsOwnLuajit) {
  if (access(KPERF_SHARED_DIR "/luajit", F_OK) != 0)
    GTEST_SKIP() << "needs the project's shared folder: KPERF_SHARED_DIR/luajit holds the LuaJIT sources";
  if (const std::string why = kong_testbed_unavailable(); !why.empty()) GTEST_SKIP() << why;
  const Peer peer = kPeers[2];
  ASSERT_STREQ(peer.name, "20201027");
  const std::string lib = peer_dir(peer) + "/lib";
  ASSERT_EQ(access((lib + "/libluajit-5.1.so.2").c_str(), R_OK), 0) << "run ctest -R luajit_peers_build";
  KongTestbedOptions opts;
  opts.luajit_libdir = lib;
  KongTestbed tb(opts);
  const std::string worker = first_child_pid_maps(tb.master_pid());
  EXPECT_NE(worker.find(lib + "/libluajit-5.1.so"), std::string::npos) << "Kong's worker did not map the peer's libluajit";
  TempDir t;
  const std::string out = t.file("out");
  const auto r = run({KPERF_BINARY, "attach", "--prefix", tb.prefix(), "--duration", "5s", "--url",
                      tb.proxy_url() + "/key?apikey=alice-key", "-c", "16", "-t", "1", "--out", out},
                     60);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err.find("no Lua frames for"), std::string::npos) << r.err;
  const auto stacks = parse_folded(read_file(out + "/profile.folded"));
  uint64_t luajit = 0, with_lua = 0, jit = 0;
  for (const auto& st : stacks) {
    bool vm = false, lua = false, j = false;
    for (const auto& f : st.frames) {
      vm = vm || f.find("libluajit") != std::string::npos || f.find(".lua:") != std::string::npos ||
           f.starts_with("[lua:");
      lua = lua || f.find(".lua:") != std::string::npos;
      j = j || (f.ends_with("_[j]") && f.find("kong/") != std::string::npos);
    }
    if (vm) luajit += st.count;
    if (vm && lua) with_lua += st.count;
    if (j) jit += st.count;
  }
  std::printf("| 20201027 | Kong 2.4.0 key-auth under load (attach) | %llu LuaJIT samples | %.1f%% with Lua frames | "
              "%llu in Kong's traces |\n",
              static_cast<unsigned long long>(luajit), luajit ? 100.0 * double(with_lua) / double(luajit) : 0.0,
              static_cast<unsigned long long>(jit));
  for (const char* chunk : {"kong/init.lua:", "kong/runloop/handler.lua:", "kong/plugins/key-auth/handler.lua:"})
    EXPECT_TRUE(std::any_of(stacks.begin(), stacks.end(), [&](const Stack& st) {
      return find_frame(st, [&](const std::string& f) { return f.find(chunk) != std::string::npos; }) !=
             std::string::npos;
    })) << chunk;
  ASSERT_GT(luajit, 20u) << "too few samples in Kong's VM to judge (a busy machine?)";
  EXPECT_GE(with_lua * 10, luajit * 9) << with_lua << " of " << luajit << " LuaJIT samples have Lua frames";
  EXPECT_GT(jit, 0u) << "no frame of Kong's Lua code in a trace";
}

// A copy of the 2.1 rolling executable whose interpreter FDE says CFA = rsp+88 instead of
// rsp+80 (the first instruction of its .eh_frame FDE patched; nothing else changes and
// the script raises no error, so nothing unwinds through it): a LuaJIT whose layout
// cannot be read. kperf says so in one line (path, build-id, what failed) and counts its
// samples as "in a VM kperf cannot read"; it does not guess.
std::string unreadable_luajit(const TempDir& dir) {
  EXPECT_STREQ(kPeers[4].name, "2.1-2026");
  const std::string orig = peer_dir(kPeers[4]) + "/bin/luajit";
  const auto layout = lj::layout_of_file(orig);
  EXPECT_TRUE(layout.usable) << layout.message;
  std::string elf = read_file(orig);
  Elf64_Ehdr eh;
  std::memcpy(&eh, elf.data(), sizeof eh);
  std::uint64_t fde_at = 0;
  for (int i = 0; i < eh.e_shnum && !fde_at; ++i) {
    Elf64_Shdr sh, names;
    std::memcpy(&sh, elf.data() + eh.e_shoff + i * sizeof sh, sizeof sh);
    std::memcpy(&names, elf.data() + eh.e_shoff + eh.e_shstrndx * sizeof names, sizeof names);
    if (std::string(elf.data() + names.sh_offset + sh.sh_name) != ".eh_frame") continue;
    for (std::uint64_t p = 0; p + 16 < sh.sh_size;) {  // CIEs and FDEs, 32-bit lengths
      std::uint32_t len, id;
      std::int32_t pc_rel;
      std::memcpy(&len, elf.data() + sh.sh_offset + p, 4);
      std::memcpy(&id, elf.data() + sh.sh_offset + p + 4, 4);
      std::memcpy(&pc_rel, elf.data() + sh.sh_offset + p + 8, 4);
      if (len == 0 || len == 0xffffffffu) break;
      // An FDE's pc_begin is pcrel sdata4; the augmentation data length (0) follows the
      // range, then the instructions: DW_CFA_def_cfa_offset 80 first (0x0e 0x50).
      if (id != 0 && sh.sh_addr + p + 8 + pc_rel == layout.layout.vm_lo) fde_at = sh.sh_offset + p + 17;
      p += 4 + len;
    }
  }
  EXPECT_NE(fde_at, 0u) << "no FDE for the interpreter in " << orig;
  EXPECT_EQ(elf.substr(fde_at, 2), std::string("\x0e\x50", 2));
  elf[fde_at + 1] = 0x58;
  const std::string copy = dir.file("luajit-unreadable");
  write_file(copy, elf);
  chmod(copy.c_str(), 0755);
  return copy;
}

TEST(LuajitUnreadable, SaidInOneLineAndCounted) {
  REQUIRE_ROOT();
  if (access(KPERF_SHARED_DIR "/luajit", F_OK) != 0)
    GTEST_SKIP() << "needs the project's shared folder: KPERF_SHARED_DIR/luajit holds the LuaJIT sources";
  ASSERT_EQ(access((peer_dir(kPeers[4]) + "/.built").c_str(), F_OK), 0) << "run ctest -R luajit_peers_build";
  TempDir dir;
  const std::string luajit = unreadable_luajit(dir);
  const auto d = lj::layout_of_file(luajit);
  EXPECT_TRUE(d.found);
  EXPECT_FALSE(d.usable);
  write_file(dir.file("hot.lua"), kHotLua);
  const auto r = record(dir, {luajit, dir.file("hot.lua"), "on", "5"});
  std::istringstream lines(r.err);
  int said = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.find("no Lua frames for process") == std::string::npos) continue;
    ++said;
    EXPECT_EQ(line.rfind("kperf record: no Lua frames for process ", 0), 0u) << line;
    EXPECT_NE(line.find(luajit), std::string::npos) << line;
    EXPECT_NE(line.find("build-id"), std::string::npos) << line;
    EXPECT_NE(line.find("interpreter code range not found"), std::string::npos) << line;
  }
  EXPECT_EQ(said, 1) << r.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.err, m, std::regex(R"((\d+) in a VM kperf cannot read)"))) << r.err;
  std::printf("| 2.1-2026, interpreter FDE patched | hot JIT on | %llu | unreadable: %s counted |\n",
              static_cast<unsigned long long>(total_samples(r.stacks)), m[1].str().c_str());
  // All but its startup (before the VM is mapped): interpreter, traces, C code it calls.
  EXPECT_GT(std::stoull(m[1].str()), 0.95 * total_samples(r.stacks)) << r.err;
  EXPECT_EQ(share(r.stacks, [&](const Stack& s) { return has_lua_frame(s, dir.file("hot.lua")); }), 0.0);
}

}  // namespace
}  // namespace kperf::test

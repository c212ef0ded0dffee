// The steps LuaSplicer is made of, on synthetic stacks and VM state: VM groups in a
// native stack, Lua runs merged into them (a C function called from Lua shown once),
// the BPF-captured VM state served as snapshots, and the failure causes' names and
// summary text.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "profiler/lua_frame_merge.hpp"
#include "profiler/lua_splicer.hpp"
#include "profiler/lua_vm_capture.hpp"
#include "profiler/luajit/remote_memory.hpp"
#include "profiler/luajit/vm_layout.hpp"
#include "profiler/recorder.hpp"

namespace kperf::prof {
namespace {

constexpr uint64_t kVm = 0x5000;  // the pcs of interpreter frames in these stacks

NativeStack stack(const std::vector<uint64_t>& pcs) {
  NativeStack n;
  for (uint64_t pc : pcs) n.push(pc, pc == kVm);
  return n;
}

// Names for the merger: a fixed table, "[unknown]" otherwise.
struct Names {
  std::map<uint64_t, std::string> by_pc;
  std::string unknown = "[unknown]";
  int lookups = 0;
  LuaFrameMerger::NameOf fn() {
    return [this](uint64_t pc, bool) -> const std::string& {
      ++lookups;
      auto it = by_pc.find(pc);
      return it == by_pc.end() ? unknown : it->second;
    };
  }
};

// out as "text" for Lua frames and "0xPC" / "0xPC r" for native ones.
std::vector<std::string> show(const std::vector<SplicedFrame>& out) {
  std::vector<std::string> v;
  for (const auto& f : out)
    v.push_back(f.text.empty() ? fmt::format("{:#x}{}", f.pc, f.is_return ? " r" : "") : std::string(f.text));
  return v;
}

// Texts are literals: a run frame only points at its text.
LuaRunFrame lua(std::string_view text, uint64_t cfunc = 0, bool native_named = false) {
  return LuaRunFrame{text, cfunc, native_named};
}

TEST(LuaSpliceSteps, FindsVmGroupsInnermostFirst) {
  std::vector<size_t> starts{99};  // cleared first
  find_vm_groups({false, true, true, false, true, false, true}, starts);
  EXPECT_EQ(starts, (std::vector<size_t>{1, 4, 6}));
  find_vm_groups({true, true, true}, starts);
  EXPECT_EQ(starts, (std::vector<size_t>{0}));
  find_vm_groups({false, false}, starts);
  EXPECT_TRUE(starts.empty());
  find_vm_groups({}, starts);
  EXPECT_TRUE(starts.empty());
}

TEST(LuaSpliceSteps, RunsAreCutAfterFramesCalledFromC) {
  LuaRuns runs;
  EXPECT_EQ(runs.runs(), 0u);
  runs.add(lua("a"), false);
  runs.add(lua("b"), true);
  runs.add(lua("c"), false);
  EXPECT_EQ(runs.runs(), 2u);
  EXPECT_EQ(runs.run_begin(1), 2u);
  EXPECT_EQ(runs.run_end(0), 2u);
  EXPECT_EQ(runs.run_end(1), 3u);
  runs.add(lua("d"), true);  // the last frame called from C: no empty run after it
  EXPECT_EQ(runs.runs(), 2u);
  runs.clear();
  EXPECT_EQ(runs.runs(), 0u);
  EXPECT_TRUE(runs.frames().empty());
}

TEST(LuaSpliceSteps, EachVmGroupGetsItsRunAndTheOutermostTheRest) {
  // native: leaf, VM, VM, C, VM, main; Lua: a b | c d | e (three runs, two groups).
  const NativeStack n = stack({0x100, kVm, kVm, 0x200, kVm, 0x300});
  LuaRuns runs;
  runs.add(lua("a"), false);
  runs.add(lua("b"), true);
  runs.add(lua("c"), false);
  runs.add(lua("d"), true);
  runs.add(lua("e"), false);
  Names names;
  LuaFrameMerger m;
  std::vector<SplicedFrame> out{SplicedFrame{1, false, "stale"}};
  m.merge(n, runs, names.fn(), out);
  EXPECT_EQ(show(out), (std::vector<std::string>{"0x100", "a", "b", "0x200 r", "c", "d", "e", "0x300 r"}));
  EXPECT_EQ(names.lookups, 0);  // no C function in the runs
}

TEST(LuaSpliceSteps, GroupsWithoutARunShowTheInterpreter) {
  const NativeStack n = stack({kVm, 0x200, kVm, kVm, 0x300});
  LuaRuns runs;  // no walk (no G)
  Names names;
  LuaFrameMerger m;
  std::vector<SplicedFrame> out;
  m.merge(n, runs, names.fn(), out);
  EXPECT_EQ(show(out), (std::vector<std::string>{"[lua:interpreter]", "0x200 r", "[lua:interpreter]", "0x300 r"}));
  // One run for two groups: the inner group takes it, the outer shows the interpreter.
  runs.add(lua("f"), false);
  m.merge(n, runs, names.fn(), out);
  EXPECT_EQ(show(out), (std::vector<std::string>{"f", "0x200 r", "[lua:interpreter]", "0x300 r"}));
}

TEST(LuaSpliceSteps, CFunctionCalledFromLuaIsShownOnce) {
  // The C function 0x9000 runs at native pc 0x9010 right above the VM group calling it.
  const NativeStack n = stack({0x9010, kVm, 0x300});
  Names names;
  LuaFrameMerger m;
  std::vector<SplicedFrame> out;
  const auto merge = [&](const LuaRunFrame& top) {
    LuaRuns runs;
    runs.add(top, false);
    runs.add(lua("caller"), false);
    m.merge(n, runs, names.fn(), out);
    return show(out);
  };
  // A real symbol: the native frame stays, the Lua C frame goes.
  names.by_pc = {{0x9000, "my_cfunc"}, {0x9010, "my_cfunc"}};
  EXPECT_EQ(merge(lua("mod.cfunc", 0x9000)), (std::vector<std::string>{"0x9010", "caller", "0x300 r"}));
  // An unnamed native frame (lib+0xSTART) takes the call-site name.
  names.by_pc = {{0x9000, "lib.so+0x9000"}, {0x9010, "lib.so+0x9000"}};
  EXPECT_EQ(merge(lua("mod.cfunc", 0x9000)), (std::vector<std::string>{"mod.cfunc", "caller", "0x300 r"}));
  // ... unless the Lua frame's text is that native name already.
  EXPECT_EQ(merge(lua("lib.so+0x9000", 0x9000, true)), (std::vector<std::string>{"0x9010", "caller", "0x300 r"}));
  // Different functions, or no name: both stay.
  names.by_pc = {{0x9000, "my_cfunc"}, {0x9010, "other"}};
  EXPECT_EQ(merge(lua("mod.cfunc", 0x9000)), (std::vector<std::string>{"0x9010", "mod.cfunc", "caller", "0x300 r"}));
  names.by_pc.clear();
  EXPECT_EQ(merge(lua("mod.cfunc", 0x9000)), (std::vector<std::string>{"0x9010", "mod.cfunc", "caller", "0x300 r"}));
}

// Only a C frame (its lua_CFunction known) is matched; a group left without frames shows none.
TEST(LuaSpliceSteps, CFunctionNeedsItsAddressToBeMatched) {
  const NativeStack n = stack({0x9010, kVm});
  Names names;
  names.by_pc = {{0x9000, "my_cfunc"}, {0x9010, "my_cfunc"}};
  LuaFrameMerger m;
  std::vector<SplicedFrame> out;
  LuaRuns runs;
  runs.add(lua("mod.cfunc", 0x9000), false);
  m.merge(n, runs, names.fn(), out);
  EXPECT_EQ(show(out), (std::vector<std::string>{"0x9010"}));
  runs.clear();
  runs.add(lua("mod.cfunc"), false);  // a Lua frame (no cfunc): never merged
  m.merge(n, runs, names.fn(), out);
  EXPECT_EQ(show(out), (std::vector<std::string>{"0x9010", "mod.cfunc"}));
}

// A ring buffer record with a user stack, in 8-aligned memory.
struct Record {
  std::vector<uint64_t> words;
  explicit Record(size_t stack_bytes) : words((sizeof(kperf_sample) + stack_bytes + 7) / 8) {
    raw()->ustack_len = static_cast<uint32_t>(stack_bytes);
  }
  kperf_sample* raw() { return reinterpret_cast<kperf_sample*>(words.data()); }
  SampleView view() {
    SampleView v;
    v.raw = raw();
    v.ustack = {reinterpret_cast<const uint8_t*>(words.data()) + sizeof(kperf_sample), raw()->ustack_len};
    return v;
  }
  uint8_t* ustack() { return reinterpret_cast<uint8_t*>(words.data()) + sizeof(kperf_sample); }
};

// Addresses no page of this process holds: reads can only come from snapshots.
constexpr uint64_t kG = 0x10000000, kL = 0x10001000, kFn = 0x10002000;

TEST(LuaSpliceSteps, CapturedStateIsReadAsSnapshots) {
  for (const bool gc64 : {true, false}) {
    const lj::VmOffsets o = lj::family_offsets(gc64);
    Record r(0);
    auto& w = r.raw()->lua.words;
    w[KPERF_LUA_W_FLAGS] = KPERF_LUA_CAPTURED;
    w[KPERF_LUA_W_G] = kG;
    w[KPERF_LUA_W_VMSTATE] = static_cast<uint64_t>(-3);
    w[KPERF_LUA_W_CUR_L] = kL;
    w[KPERF_LUA_W_JIT_BASE] = 0;
    w[KPERF_LUA_W_L_BASE] = 0x20000010;
    w[KPERF_LUA_W_L_STACK] = 0x20000000;
    w[KPERF_LUA_W_L_STACKSIZE] = 77;
    w[KPERF_LUA_W_L_CFRAME] = 0x30000000 | 1;  // low bits are flags
    w[KPERF_LUA_W_CFRAME_PC] = 0x40404040;
    w[KPERF_LUA_W_NFUNCS] = 1;
    w[KPERF_LUA_W_FUNCS] = kFn | (uint64_t{1} << 48);  // a C function (ffid 1)
    w[KPERF_LUA_W_FUNCS + 1] = 0x7777;
    lj::RemoteMemory mem(getpid());
    add_captured_state(r.view(), o, mem);
    EXPECT_EQ(mem.read<int32_t>(kG + o.G_vmstate), -3);
    EXPECT_EQ(mem.ref(kG + o.G_cur_L, o.ref_size), kL);
    EXPECT_EQ(mem.ref(kG + o.G_jit_base, o.ref_size), 0u);
    EXPECT_EQ(mem.u64(kL + o.L_base), 0x20000010u);
    EXPECT_EQ(mem.ref(kL + o.L_stack, o.ref_size), 0x20000000u);
    EXPECT_EQ(mem.u32(kL + o.L_stacksize), 77u);
    EXPECT_EQ(mem.u64(kL + o.L_cframe), 0x30000001u);
    EXPECT_EQ(mem.ref(0x30000000 + o.cframe_pc, o.ref_size), 0x40404040u);
    EXPECT_EQ(mem.read<uint8_t>(kFn + o.fn_gct), 8u);  // ~LJ_TFUNC
    EXPECT_EQ(mem.read<uint8_t>(kFn + o.fn_ffid), 1u);
    EXPECT_EQ(mem.u64(kFn + o.fn_cfunc), 0x7777u);
    EXPECT_EQ(mem.syscalls(), 0u) << "gc64 " << gc64;
    // Without GC64 a reference is 4 bytes: the word after it is not the snapshot's.
    if (!gc64) EXPECT_FALSE(mem.u64(kG + o.G_cur_L).has_value());
    mem.clear();
    EXPECT_FALSE(mem.u64(kL + o.L_base).has_value());  // gone with clear()
  }
}

// LuaJIT 2.0 has no cur_L: the thread the sampler found is G->jit_L while a trace's frame
// is current (jit_base set), and jit_L is NULL otherwise (the walker is handed the thread).
TEST(LuaSpliceSteps, Lua20CapturedThreadIsJitLOnlyInTraces) {
  lj::VmOffsets o = lj::family_offsets(false);
  o.lua20 = true;
  o.G_cur_L = 0;
  o.G_jit_L = 0xf4;
  o.G_jit_base = 0xf8;
  for (const uint64_t jit_base : {uint64_t{0x20000100}, uint64_t{0}}) {
    Record r(0);
    auto& w = r.raw()->lua.words;
    w[KPERF_LUA_W_FLAGS] = KPERF_LUA_CAPTURED;
    w[KPERF_LUA_W_G] = kG;
    w[KPERF_LUA_W_VMSTATE] = jit_base ? 3 : static_cast<uint64_t>(-1);
    w[KPERF_LUA_W_CUR_L] = kL;
    w[KPERF_LUA_W_JIT_BASE] = jit_base;
    lj::RemoteMemory mem(getpid());
    add_captured_state(r.view(), o, mem);
    EXPECT_EQ(mem.ref(kG + o.G_jit_L, o.ref_size), jit_base ? kL : 0u);
    EXPECT_EQ(mem.ref(kG + o.G_jit_base, o.ref_size), jit_base);
    EXPECT_FALSE(mem.u32(kG).has_value()) << "no cur_L at G + 0";
  }
}

TEST(LuaSpliceSteps, WindowsAndTheResumersCframesAreSnapshots) {
  const lj::VmOffsets o = lj::family_offsets(true);
  Record r(4 * lj::kCframeSize);
  const uint64_t sp = 0x60000000;  // not this process's stack
  r.raw()->regs[KPERF_REG_RSP] = sp;
  for (size_t i = 0; i < 4 * lj::kCframeSize; ++i) r.ustack()[i] = static_cast<uint8_t>(i);
  auto& w = r.raw()->lua.words;
  w[KPERF_LUA_W_G] = kG;
  w[KPERF_LUA_W_L_CFRAME] = sp + lj::kCframeSize;  // cur_L's C frame on the copied stack
  w[KPERF_LUA_W_FLAGS] = KPERF_LUA_CAPTURED | KPERF_LUA_RES_IN_VM;
  w[KPERF_LUA_W_RES_L] = kL;
  w[KPERF_LUA_W_RES_BASE] = 0x20000100;
  w[KPERF_LUA_W_WINDOW_ADDR] = 0x20000000;
  w[KPERF_LUA_W_RES_WINDOW_ADDR] = 0x21000000;
  std::vector<uint8_t> window(64, 0xab), res_window(32, 0xcd);
  SampleView v = r.view();
  v.lua_window = window;
  v.lua_resumer_window = res_window;
  lj::RemoteMemory mem(getpid());
  const lj::ResumerCapture c = add_captured_resumer(v, o, true, mem);
  add_captured_state(v, o, mem);
  EXPECT_TRUE(c.in_vm);
  EXPECT_FALSE(c.ngx);
  EXPECT_TRUE(c.ngx_expected);
  EXPECT_EQ(c.L, kL);
  EXPECT_EQ(mem.u64(kL + o.L_glref), kG);
  EXPECT_EQ(mem.u64(kL + o.L_base), 0x20000100u);
  // Two C frames from the copied stack, from cur_L's on.
  uint64_t word = 0;
  std::memcpy(&word, r.ustack() + lj::kCframeSize, 8);
  EXPECT_EQ(mem.u64(sp + lj::kCframeSize), word);
  std::memcpy(&word, r.ustack() + 3 * lj::kCframeSize - 8, 8);
  EXPECT_EQ(mem.u64(sp + 3 * lj::kCframeSize - 8), word);
  EXPECT_EQ(mem.u64(0x20000000 + 56), 0xababababababababu);
  EXPECT_EQ(mem.u32(0x21000000 + 28), 0xcdcdcdcdu);
  EXPECT_EQ(mem.syscalls(), 0u);
  // Past them: read from the process (nothing there).
  EXPECT_FALSE(mem.u64(sp + 3 * lj::kCframeSize).has_value());
  EXPECT_FALSE(mem.u64(0x20000000 + 60).has_value());
  EXPECT_GT(mem.syscalls(), 0u);
}

TEST(LuaSpliceStats, CausesHaveDistinctNamesAndShowInTheSummary) {
  std::set<std::string_view> names;
  for (size_t i = 0; i < kLuaSpliceCauses; ++i) names.insert(lua_splice_cause_name(static_cast<LuaSpliceCause>(i)));
  EXPECT_EQ(names.size(), kLuaSpliceCauses);
  EXPECT_FALSE(names.contains(""));
  RecordSummary s;
  EXPECT_EQ(format_lua_causes(s.lua), "");
  s.lua.vm_samples = 10;
  s.lua.walk_errors = 3;
  s.lua.causes[static_cast<size_t>(LuaSpliceCause::WalkStopped)] = 2;
  s.lua.causes[static_cast<size_t>(LuaSpliceCause::WalkThrew)] = 1;
  s.lua.causes[static_cast<size_t>(LuaSpliceCause::NoCframe)] = 4;
  EXPECT_EQ(format_lua_causes(s.lua), "no_cframe 4, walk_stopped 2, walk_threw 1");
  EXPECT_NE(format_summary(s).find("3 incomplete walks (failures: no_cframe 4, walk_stopped 2, walk_threw 1)"),
            std::string::npos)
      << format_summary(s);
}

TEST(LuaSpliceStats, AProcessWithoutLuajitIsNotSpliced) {
  sym::Session session;
  LuaSplicer splicer(session, false);
  splicer.add_process(getpid());  // this test has no LuaJIT
  Record r(0);
  r.raw()->tgid = static_cast<uint32_t>(getpid());
  sym::UnwindResult native;
  native.pcs = {0x401000, 0x402000};
  native.reached_root = true;
  std::vector<SplicedFrame> out{SplicedFrame{7, false, {}}};
  bool root = false;
  EXPECT_FALSE(splicer.splice(r.view(), native, out, root));
  splicer.commit_sample();
  EXPECT_EQ(out.size(), 1u);  // left alone
  const LuaSpliceStats st = splicer.stats();
  EXPECT_EQ(st.vm_samples, 0u);
  for (uint64_t n : st.causes) EXPECT_EQ(n, 0u);
}

}  // namespace
}  // namespace kperf::prof

// Splices LuaJIT frames into native stacks: per-pid VM detection, the sample's captured
// VM state as RemoteMemory snapshots, one FrameWalker walk, then VM frames -> Lua runs.
#include "profiler/lua_splicer.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <exception>
#include <optional>
#include <unordered_map>

#include "profiler/luajit/find_vm.hpp"
#include "profiler/luajit/frame_walker.hpp"
#include "profiler/luajit/process_maps.hpp"
#include "profiler/luajit/proto_cache.hpp"
#include "profiler/luajit/remote_memory.hpp"
#include "profiler/luajit/resumer.hpp"

namespace kperf::prof {

namespace {
using Clock = std::chrono::steady_clock;
constexpr auto kMapsReread = std::chrono::milliseconds(1000);
constexpr auto kUselessReread = std::chrono::milliseconds(1);
// Detection attempts for a process without LuaJIT, 100 ms apart, then twice as long each
// time (~12 s in all): a shared libluajit is mapped a moment after exec.
constexpr int kDetectTries = 8;
Clock::duration detect_retry(int tries) { return std::chrono::milliseconds(50) * (1 << std::min(tries, 7)); }
}  // namespace

struct LuaSplicer::Process {
  explicit Process(pid_t pid) : vm(pid), mem(pid) {}
  lj::VmFinder vm;
  lj::RemoteMemory mem;
  lj::ProtoCache protos;
  bool published = false;
  // A coroutine's ngx_lua co_ctx has checked out (lua-nginx-module >= 0.10.19 attaches
  // it with exdata2): from then on, one that does not is an unknown resumer.
  bool ngx_coctx_seen = false;
  // Native frame names by (pc << 1 | is_return): C functions' names and the frames next
  // to VM groups (to show a C function called from Lua once).
  std::unordered_map<uint64_t, std::string> native_names;
  uint64_t published_G = 0;
  std::vector<lj::Mapping> maps;
  Clock::time_point maps_read{};
  Clock::time_point useless_reread{};

  const std::string& native_name(sym::Session& session, uint64_t pc, bool is_return) {
    if (native_names.size() >= (1u << 16)) native_names.clear();
    auto [it, fresh] = native_names.try_emplace(pc << 1 | (is_return ? 1 : 0));
    if (fresh) {
      try {
        it->second = session.native_frame(vm.pid(), pc, is_return);
      } catch (const std::exception&) {
        it->second = "[unknown]";
      }
    }
    return it->second;
  }

  // True if pc lies in an anonymous mapping the CPU ran in (LuaJIT machine code). Maps
  // read before the sample was taken (`sample_ns`, CLOCK_MONOTONIC like steady_clock)
  // that do not show pc in executable memory are re-read at once: trace code is mapped
  // while samples queue, and a 1 s wait made a third of a busy run's samples fail
  // (issue 17). An anonymous mapping not executable when read still counts: the JIT makes
  // its code areas writable while it adds a trace. A re-read that found no mapping at all
  // blocks the next one for kUselessReread (junk pcs): 1 ms, since a single stale pc (the
  // old image's, in a sample taken inside execve) used to hide a new trace for 20 ms.
  bool in_anon_code(uint64_t pc, uint64_t sample_ns) {
    const auto find = [&]() -> const lj::Mapping* {
      for (const auto& m : maps) {
        if (pc >= m.start && pc < m.end) return &m;
      }
      return nullptr;
    };
    const lj::Mapping* hit = find();
    if (hit && hit->exec) return hit->path.empty();
    const auto now = Clock::now();
    const auto read_ns = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(maps_read.time_since_epoch()).count());
    const bool stale = read_ns < sample_ns && now - useless_reread >= kUselessReread;
    if (stale || now - maps_read >= kMapsReread) {
      maps_read = now;
      try {
        maps = lj::read_process_maps(vm.pid());
      } catch (const std::exception&) {
        return false;
      }
      hit = find();
      useless_reread = hit ? Clock::time_point{} : now;
    }
    return hit && hit->path.empty();
  }
};

LuaSplicer::LuaSplicer(sym::Session& session, bool lua_lines) : session_(session), lua_lines_(lua_lines) {}
LuaSplicer::~LuaSplicer() = default;

LuaSplicer::Process* LuaSplicer::process(pid_t tgid, bool adding) {
  auto it = processes_.find(tgid);
  if (it != processes_.end()) {
    if (it->second.process) return it->second.process.get();
    // No LuaJIT seen yet: a shared libluajit may be mapped a moment after exec.
    if (it->second.tries >= kDetectTries || Clock::now() - it->second.last_try < detect_retry(it->second.tries))
      return nullptr;
  }
  Entry& e = processes_[tgid];
  // A process first seen in a sample (-a) gets one detection, a target a few.
  if (e.tries == 0 && !adding) e.tries = kDetectTries - 1;
  e.tries++;
  e.last_try = Clock::now();
  std::unique_ptr<Process> p;
  try {
    p = std::make_unique<Process>(tgid);
  } catch (const std::exception&) {
    p.reset();  // gone: remember "nothing" for it
  }
  // A LuaJIT VM whose layout cannot be read stays known (its samples are counted).
  if (p && !p->vm.has_luajit()) p.reset();
  if (p && p->vm.usable()) {
    // nginx + lua-nginx-module: G before any sample lands in Lua.
    try {
      p->mem.clear();
      p->vm.from_nginx(p->mem);
    } catch (const std::exception&) {
    }
    publish(tgid, *p);  // without G yet: the kernel side keeps interpreter windows
  }
  e.process = std::move(p);
  return e.process.get();
}

void LuaSplicer::publish(pid_t tgid, Process& p) {
  const uint64_t G = p.vm.G().value_or(0);
  if (!listener_ || (p.published && p.published_G == G)) return;
  p.published = true;
  p.published_G = G;
  const lj::VmLayout& l = p.vm.layout();
  kperf_lua_vm v{};
  v.G = G;
  v.vm_lo = l.vm_lo;
  v.vm_hi = l.vm_hi;
  v.G_vmstate = l.off.G_vmstate;
  v.G_cur_L = l.off.G_cur_L;
  v.G_jit_base = l.off.G_jit_base;
  v.L_base = l.off.L_base;
  v.L_stack = l.off.L_stack;
  v.L_stacksize = l.off.L_stacksize;
  v.L_cframe = l.off.L_cframe;
  v.cframe_pc = l.off.cframe_pc;
  v.ref_size = l.off.ref_size;  // 4: the kernel side reads words and window only
  // Coroutine resumers (profiler/luajit/resumer.hpp): the VM's C frames, and in nginx
  // ngx_lua's co_ctx through luajit2's exdata2.
  v.L_glref = l.off.L_glref;
  v.cframe_size = lj::kCframeSize;
  v.cframe_L = lj::cframe_saved_L(l.off);
  if (p.vm.nginx_main_L()) {
    const lj::NgxCoroutineLayout n;
    v.L_exdata2 = lj::exdata2_offset(l);
    v.ngx_coctx_co = n.coctx_co;
    v.ngx_coctx_parent = n.coctx_parent;
  }
  try {
    listener_(tgid, v);
  } catch (const std::exception&) {
    // Without the BPF entry the walker still works from live reads.
  }
}

void LuaSplicer::add_process(pid_t tgid) { process(tgid, true); }

void LuaSplicer::unreadable(pid_t tgid, const std::string& why) {
  ++pending_.unreadable;
  std::string& w = unread_why_[tgid];
  if (!why.empty()) w = why;
}

LuaSpliceStats LuaSplicer::stats() const {
  LuaSpliceStats s = stats_;
  for (const auto& [pid, why] : unread_why_)
    s.problems.push_back(fmt::format("process {}: {}", pid, why.empty() ? "LuaJIT VM found, but no global_State" : why));
  std::sort(s.problems.begin(), s.problems.end());
  return s;
}

void LuaSplicer::commit_sample() {
  stats_.vm_samples += pending_.vm_samples;
  stats_.lua_samples += pending_.lua_samples;
  stats_.trace_samples += pending_.trace_samples;
  stats_.captured += pending_.captured;
  stats_.walk_errors += pending_.walk_errors;
  stats_.unreadable += pending_.unreadable;
  pending_ = LuaSpliceStats{};
}

void LuaSplicer::forget_process(pid_t tgid) { processes_.erase(tgid); }

namespace {

// One Lua frame of a run: its text, and for C functions their lua_CFunction.
struct RunFrame {
  std::string text;
  uint64_t cfunc = 0;
  bool native_named = false;  // no call-site name: the text is the native name
};

template <typename T>
void snap(lj::RemoteMemory& mem, uint64_t addr, T value) {
  std::vector<unsigned char> b(sizeof(T));
  std::memcpy(b.data(), &value, sizeof(T));
  mem.add_snapshot(addr, std::move(b));
}

// The innermost frames' functions as they were at sample time (pairs from word `first`,
// their number in word `count`): a closure collected since (its memory freed or reused)
// still names its frame; its prototype lives on.
void add_funcs(const __u64* w, int count, int first, uint64_t max, const lj::VmOffsets& o, lj::RemoteMemory& mem) {
  const uint64_t nfuncs = std::min<uint64_t>(w[count], max);
  for (uint64_t i = 0; i < nfuncs; ++i) {
    const uint64_t word = w[first + 2 * i];
    const uint64_t fn = word & KPERF_LUA_FN_ADDR_MASK;
    const auto ffid = static_cast<uint8_t>(word >> 48);
    const uint64_t value = w[first + 2 * i + 1];
    if (fn == 0 || o.fn_ffid != o.fn_gct + 1) continue;
    mem.add_snapshot(fn + o.fn_gct, {KPERF_LJ_GCT_FUNC, ffid});
    if (ffid == KPERF_LJ_FFID_LUA) snap(mem, fn + o.fn_pc, value);
    if (ffid == KPERF_LJ_FFID_C) snap(mem, fn + o.fn_cfunc, value);
  }
}

// The BPF-captured words and window as snapshots (consistent with the sample).
void add_captured(const SampleView& s, const lj::VmOffsets& o, lj::RemoteMemory& mem) {
  const auto& w = s.raw->lua.words;
  const uint64_t G = w[KPERF_LUA_W_G];
  snap(mem, G + o.G_vmstate, static_cast<int32_t>(w[KPERF_LUA_W_VMSTATE]));
  // GC references are 4 bytes without GC64 (the kernel side read them so).
  const auto ref = [&](uint64_t addr, uint64_t value) {
    if (o.ref_size == 4) return snap(mem, addr, static_cast<uint32_t>(value));
    snap(mem, addr, value);
  };
  ref(G + o.G_cur_L, w[KPERF_LUA_W_CUR_L]);
  ref(G + o.G_jit_base, w[KPERF_LUA_W_JIT_BASE]);
  const uint64_t L = w[KPERF_LUA_W_CUR_L];
  if (L) {
    snap(mem, L + o.L_base, w[KPERF_LUA_W_L_BASE]);
    ref(L + o.L_stack, w[KPERF_LUA_W_L_STACK]);
    snap(mem, L + o.L_stacksize, static_cast<uint32_t>(w[KPERF_LUA_W_L_STACKSIZE]));
    snap(mem, L + o.L_cframe, w[KPERF_LUA_W_L_CFRAME]);
    const uint64_t cf = w[KPERF_LUA_W_L_CFRAME] & KPERF_LJ_CFRAME_MASK;
    if (cf) ref(cf + o.cframe_pc, w[KPERF_LUA_W_CFRAME_PC]);
  }
  add_funcs(w, KPERF_LUA_W_NFUNCS, KPERF_LUA_W_FUNCS, KPERF_LUA_NFUNCS, o, mem);
}

// What the kernel side found about cur_L's resumer: its words and window as snapshots,
// and cur_L's C frame and the one above it from the copied native stack (the resume
// call's return address and saved lua_State, as at sample time).
// nginx: ngx_lua's co_ctx are found in this process (a coroutine without one is unknown).
lj::ResumerCapture add_resumer(const SampleView& s, const lj::VmOffsets& o, bool nginx, lj::RemoteMemory& mem) {
  const auto& w = s.raw->lua.words;
  const uint64_t flags = w[KPERF_LUA_W_FLAGS];
  lj::ResumerCapture c;
  c.in_vm = flags & KPERF_LUA_RES_IN_VM;
  c.ngx = flags & KPERF_LUA_RES_NGX;
  c.deeper = flags & KPERF_LUA_RES_DEEPER;
  c.ngx_expected = nginx;
  const uint64_t cf = w[KPERF_LUA_W_L_CFRAME] & KPERF_LJ_CFRAME_MASK;
  if (cf >= s.user_sp() && cf - s.user_sp() + 2 * lj::kCframeSize <= s.ustack.size()) {
    const auto* at = s.ustack.data() + (cf - s.user_sp());
    mem.add_snapshot(cf, std::vector<unsigned char>(at, at + 2 * lj::kCframeSize));
  }
  const uint64_t rL = w[KPERF_LUA_W_RES_L];
  if (rL) {
    c.L = rL;
    snap(mem, rL + o.L_glref, w[KPERF_LUA_W_G]);
    snap(mem, rL + o.L_base, w[KPERF_LUA_W_RES_BASE]);
    snap(mem, rL + o.L_stack, w[KPERF_LUA_W_RES_STACK]);
    snap(mem, rL + o.L_stacksize, static_cast<uint32_t>(w[KPERF_LUA_W_RES_STACKSIZE]));
    if (!s.lua_resumer_window.empty()) {
      mem.add_snapshot(w[KPERF_LUA_W_RES_WINDOW_ADDR],
                       std::vector<unsigned char>(s.lua_resumer_window.begin(), s.lua_resumer_window.end()));
    }
    add_funcs(w, KPERF_LUA_W_RES_NFUNCS, KPERF_LUA_W_RES_FUNCS, KPERF_LUA_RES_NFUNCS, o, mem);
  }
  return c;
}

// The captured window alone (the kernel side keeps it before G is known).
void add_window(const SampleView& s, lj::RemoteMemory& mem) {
  if (!s.lua_window.empty()) {
    mem.add_snapshot(s.raw->lua.words[KPERF_LUA_W_WINDOW_ADDR],
                     std::vector<unsigned char>(s.lua_window.begin(), s.lua_window.end()));
  }
}

}  // namespace

bool LuaSplicer::splice(const SampleView& s, const sym::UnwindResult& native, std::vector<SplicedFrame>& out,
                        bool& reached_root) {
  pending_ = LuaSpliceStats{};
  if (native.pcs.empty()) return false;
  Process* p = process(static_cast<pid_t>(s.tgid()), false);
  if (!p) return false;
  const lj::VmLayout* layout = &p->vm.layout();

  // Does the native stack run Lua: a VM frame, or stopped in JIT machine code?
  const auto in_luajit = [&](uint64_t pc) {
    if (layout->vm_hi) return layout->in_vm(pc);
    return std::any_of(layout->exec_ranges.begin(), layout->exec_ranges.end(),
                       [&](const auto& r) { return pc >= r.first && pc < r.second; });
  };
  const bool any_vm = std::any_of(native.pcs.begin(), native.pcs.end(), in_luajit);
  const bool stopped_in_code = !native.reached_root && p->in_anon_code(native.pcs.back(), s.time_ns());
  if (!any_vm && !stopped_in_code) return false;
  if (!p->vm.usable()) {
    // Only a VM range proves Lua ran; without one, LuaJIT's own code on the stack does.
    if (any_vm || layout->vm_hi) {
      ++pending_.vm_samples;
      unreadable(static_cast<pid_t>(s.tgid()), p->vm.message());
    }
    return false;
  }
  ++pending_.vm_samples;

  lj::UserRegs regs;
  std::copy(s.regs().begin(), s.regs().end(), regs.r.begin());
  p->mem.clear();
  std::optional<uint64_t> G = p->vm.G();
  if (!G) G = p->vm.from_registers(p->mem, regs);
  if (!G && stopped_in_code) {
    // Trace code keeps DISPATCH in r14 too: try it (validated like any G).
    lj::UserRegs in_vm = regs;
    in_vm.r[16] = layout->vm_lo;
    G = p->vm.from_registers(p->mem, in_vm);
    // Not with 32-bit references: the VM's C frame on the copied stack has the lua_State.
    if (!G) G = p->vm.from_stack(p->mem, s.ustack.data(), s.ustack.size());
  }
  if (!G && any_vm && !layout->in_vm(s.user_ip())) {
    // C code called from the VM (r14 may be anything there): the VM frame starts right
    // above the return address into it on the copied stack, and holds its lua_State.
    for (size_t i = 1; i < native.pcs.size() && !G; ++i) {
      if (!layout->in_vm(native.pcs[i])) continue;
      for (size_t off = 0; off + 16 <= s.ustack.size(); off += 8) {
        uint64_t word;
        std::memcpy(&word, s.ustack.data() + off, sizeof word);
        if (word != native.pcs[i]) continue;
        G = p->vm.from_stack(p->mem, s.ustack.data() + off + 8, std::min<size_t>(s.ustack.size() - off - 8, 128));
        break;
      }
      break;
    }
  }
  if (G) {
    publish(static_cast<pid_t>(s.tgid()), *p);
    unread_why_.erase(static_cast<pid_t>(s.tgid()));  // a passing refusal (r14 not yet DISPATCH)
  } else {
    unreadable(static_cast<pid_t>(s.tgid()), p->vm.refusal());
  }
  layout = &p->vm.layout();  // from_registers may pick the other flavour
  const bool captured = G && (s.raw->lua.words[KPERF_LUA_W_FLAGS] & KPERF_LUA_CAPTURED) &&
                        s.raw->lua.words[KPERF_LUA_W_G] == *G;
  lj::ResumerCapture resumer;
  if (captured) {
    ++pending_.captured;
    add_captured(s, layout->off, p->mem);
    p->ngx_coctx_seen |= (s.raw->lua.words[KPERF_LUA_W_FLAGS] & KPERF_LUA_RES_NGX) != 0;
    resumer = add_resumer(s, layout->off, p->vm.nginx_main_L() && p->ngx_coctx_seen, p->mem);
  }
  add_window(s, p->mem);

  // Trace code: vmstate >= 0; restart native unwinding from the VM's C frame.
  std::vector<uint64_t> pcs(native.pcs.begin(), native.pcs.end());
  std::vector<bool> vm_frame(pcs.size());
  for (size_t i = 0; i < pcs.size(); ++i) vm_frame[i] = layout->in_vm(pcs[i]);
  bool root = native.reached_root;
  // In the interpreter, but its one FDE did not unwind (VM subroutines called inside it
  // move rsp): restart from the VM's C frame, as for traces.
  const bool vm_unwind_failed =
      layout->in_vm(s.user_ip()) && (native.pcs.size() == 1 || !native.reached_root);
  if ((stopped_in_code || vm_unwind_failed) && G) {
    // In a trace (vmstate >= 0), or in a helper it called that changed vmstate (GC step
    // from a trace: -3) while jit_base still marks the trace's frame.
    const auto vs = p->mem.read<int32_t>(*G + layout->off.G_vmstate);
    const auto jit_base = p->mem.ref(*G + layout->off.G_jit_base, layout->off.ref_size);
    const bool in_trace = (vs && *vs >= 0) || (jit_base && *jit_base != 0);
    const auto L = p->mem.ref(*G + layout->off.G_cur_L, layout->off.ref_size);
    const auto cf = L ? p->mem.u64(*L + layout->off.L_cframe) : std::nullopt;
    if ((vm_unwind_failed || in_trace) && cf && (*cf & KPERF_LJ_CFRAME_MASK)) {
      if (vm_unwind_failed) {
        pcs.clear();
        vm_frame.clear();
      } else {
        ++pending_.trace_samples;
        pcs.pop_back();  // the trace's own pc: it becomes the Lua frames
        vm_frame.pop_back();
      }
      sym::Registers r2;
      std::copy(s.regs().begin(), s.regs().end(), r2.r);
      r2.r[KPERF_REG_RSP] = *cf & KPERF_LJ_CFRAME_MASK;
      // Any PC inside the interpreter: its one FDE says CFA = rsp + 80 throughout.
      r2.r[KPERF_REG_RIP] = layout->vm_lo + (layout->vm_hi - layout->vm_lo) / 2;
      const sym::StackCopy stack{s.user_sp(), s.ustack};
      sym::UnwindResult below;
      try {
        below = session_.unwind(static_cast<pid_t>(s.tgid()), r2, stack);
      } catch (const std::exception&) {
        below.pcs.clear();
      }
      if (below.pcs.empty()) below.pcs.push_back(r2.ip());
      for (size_t i = 0; i < below.pcs.size(); ++i) {
        pcs.push_back(below.pcs[i]);
        vm_frame.push_back(i == 0 || layout->in_vm(below.pcs[i]));
      }
      root = below.reached_root;
    }
  }

  // Walk the Lua stack.
  bool any_lua = false;  // a real Lua / C / fast function frame (not only pseudo frames)
  std::vector<std::vector<RunFrame>> runs;  // innermost run first, each innermost first
  if (G) {
    lj::FrameWalker walker(p->mem, *layout, p->protos);
    // A resumer runs on after the sample: only what was captured names it.
    walker.set_resumer_capture(captured ? &resumer : nullptr, false);
    lj::WalkResult wr;
    try {
      wr = walker.walk_sample(*G, regs);
    } catch (const std::exception& e) {
      wr.error = e.what();
    }
    if (!wr.error.empty()) ++pending_.walk_errors;
    runs.emplace_back();
    for (auto& f : wr.frames) {
      RunFrame rf;
      if (f.kind == lj::LuaFrame::Kind::C && f.cfunc) {
        rf.cfunc = f.cfunc;
        // A C function without a call-site name: its native name.
        if (f.name == "?") {
          f.name = p->native_name(session_, f.cfunc, false);
          rf.native_named = true;
        }
      }
      if (f.kind != lj::LuaFrame::Kind::Pseudo) any_lua = true;
      rf.text = f.text(lua_lines_);
      runs.back().push_back(std::move(rf));
      if (f.called_from_c) runs.emplace_back();
    }
    if (runs.back().empty()) runs.pop_back();
  }

  // VM groups (maximal runs of consecutive VM frames), innermost first.
  std::vector<size_t> group_start;
  for (size_t i = 0; i < pcs.size(); ++i) {
    if (vm_frame[i] && (i == 0 || !vm_frame[i - 1])) group_start.push_back(i);
  }
  // The outermost group takes whatever runs are left (the walk saw fewer C boundaries).
  std::vector<std::vector<RunFrame>> assigned(group_start.size());
  for (size_t g = 0, r = 0; g < group_start.size(); ++g) {
    if (g + 1 == group_start.size()) {
      for (; r < runs.size(); ++r) assigned[g].insert(assigned[g].end(), runs[r].begin(), runs[r].end());
    } else if (r < runs.size()) {
      assigned[g] = std::move(runs[r++]);
    }
    if (assigned[g].empty()) assigned[g].push_back(RunFrame{"[lua:interpreter]", 0, false});
  }
  // A C function called from Lua is the innermost frame of its run and, natively, the
  // frame right above the VM group that called it: show it once. The native frame stays
  // (its real symbol); an unnamed one (`lib+0xSTART`) takes the call-site name instead.
  std::vector<std::string> native_text(pcs.size());
  for (size_t g = 0; g < group_start.size(); ++g) {
    const size_t gs = group_start[g];
    if (gs == 0 || assigned[g].empty() || assigned[g].front().cfunc == 0 || vm_frame[gs - 1]) continue;
    const RunFrame& top = assigned[g].front();
    const std::string cname = p->native_name(session_, top.cfunc, false);
    const std::string& nname = p->native_name(session_, pcs[gs - 1], gs - 1 > 0);
    if (cname != nname || nname == "[unknown]") continue;
    if (!top.native_named && nname.find("+0x") != std::string::npos) native_text[gs - 1] = top.text;
    assigned[g].erase(assigned[g].begin());
  }

  out.clear();
  for (size_t i = 0, g = 0; i < pcs.size(); ++i) {
    if (vm_frame[i]) {
      if (i == 0 || !vm_frame[i - 1]) {
        for (auto& f : assigned[g]) out.push_back(SplicedFrame{0, false, std::move(f.text)});
        ++g;
      }
      continue;
    }
    if (!native_text[i].empty()) {
      out.push_back(SplicedFrame{0, false, std::move(native_text[i])});
    } else {
      out.push_back(SplicedFrame{pcs[i], i > 0, {}});
    }
  }
  if (any_lua) ++pending_.lua_samples;
  reached_root = root;
  return true;
}

}  // namespace kperf::prof

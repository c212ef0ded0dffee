// Splices LuaJIT frames into native stacks: per-pid VM detection, then per sample a few
// steps (splice() reads top-down): does the stack run Lua, find G, load the captured VM
// state (lua_vm_capture), mark the VM frames (restarting the native unwind below a
// trace), one FrameWalker walk, and merge the Lua runs into the VM groups (lua_frame_merge).
#include "profiler/lua_splicer.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <exception>
#include <optional>
#include <unordered_map>

#include "profiler/lua_vm_capture.hpp"
#include "profiler/luajit/find_vm.hpp"
#include "profiler/luajit/frame_walker.hpp"
#include "profiler/luajit/proto_cache.hpp"
#include "profiler/luajit/remote_memory.hpp"
#include "profiler/luajit/resumer.hpp"
#include "profiler/luajit/running_thread.hpp"

namespace kperf::prof {

namespace {
using Clock = std::chrono::steady_clock;
// Detection attempts for a process without LuaJIT, 100 ms apart, then twice as long each
// time (~12 s in all): a shared libluajit is mapped a moment after exec.
constexpr int kDetectTries = 8;
Clock::duration detect_retry(int tries) { return std::chrono::milliseconds(50) * (1 << std::min(tries, 7)); }
}  // namespace

struct LuaSplicer::Process {
  explicit Process(pid_t pid) : vm(pid), mem(pid), walker(mem, vm.layout(), protos) {}
  lj::VmFinder vm;
  lj::RemoteMemory mem;
  lj::ProtoCache protos;
  lj::FrameWalker walker;  // its buffers and `walk` are reused sample after sample
  lj::WalkResult walk;
  bool published = false;
  // A coroutine's ngx_lua co_ctx has checked out (lua-nginx-module >= 0.10.19 attaches
  // it with exdata2): from then on, one that does not is an unknown resumer.
  bool ngx_coctx_seen = false;
  // Native frame names by (pc << 1 | is_return): C functions' names and the frames next
  // to VM groups (to show a C function called from Lua once).
  std::unordered_map<uint64_t, std::string> native_names;
  bool name_failed = false;  // a native_name lookup threw (reset by the caller)
  uint64_t published_G = 0;

  // Names stay valid for the whole splice: the cache is only dropped before one.
  void bound_native_names() {
    if (native_names.size() >= (1u << 16)) native_names.clear();
  }
  const std::string& native_name(sym::Session& session, uint64_t pc, bool is_return) {
    auto [it, fresh] = native_names.try_emplace(pc << 1 | (is_return ? 1 : 0));
    if (fresh) {
      try {
        it->second = session.native_frame(vm.pid(), pc, is_return);
      } catch (const std::exception&) {
        it->second = "[unknown]";
        name_failed = true;
      }
    }
    return it->second;
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
    p.reset();  // gone before detection (not a sample's failure): remember "nothing" for it
  }
  // A LuaJIT VM whose layout cannot be read stays known (its samples are counted).
  if (p && !p->vm.has_luajit()) p.reset();
  if (p && p->vm.usable()) {
    // nginx + lua-nginx-module: G before any sample lands in Lua.
    try {
      p->mem.clear();
      p->vm.from_nginx(p->mem);
    } catch (const std::exception&) {
      // Not a failure: G is then found from a sample's registers.
    }
    publish(tgid, *p);  // without G yet: the kernel side finds it in the interpreter
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
  v.G_jit_L = l.off.lua20 ? l.off.G_jit_L : 0;
  v.G_jit_base = l.off.G_jit_base;
  v.L_base = l.off.L_base;
  v.L_stack = l.off.L_stack;
  v.L_stacksize = l.off.L_stacksize;
  v.L_cframe = l.off.L_cframe;
  v.cframe_pc = l.off.cframe_pc;
  v.ref_size = l.off.ref_size;  // 4: the kernel side reads words and window only
  v.dispatch_from_G = l.off.dispatch_from_G;
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
    ++stats_.causes[static_cast<size_t>(LuaSpliceCause::VmRegister)];
  }
}

void LuaSplicer::add_process(pid_t tgid) { process(tgid, true); }

void LuaSplicer::unreadable(pid_t tgid, const std::string& why, LuaSpliceCause cause) {
  ++pending_.unreadable;
  fail(cause);
  std::string& w = unread_why_[tgid];
  if (!why.empty()) w = why;
}

std::string_view lua_splice_cause_name(LuaSpliceCause c) {
  static constexpr std::array<std::string_view, kLuaSpliceCauses> names = {
      "no_vm_layout", "no_global_state", "maps_unreadable", "no_cframe",  "unwind_below_vm",
      "walk_stopped", "walk_threw",      "native_name",     "vm_register",
      "not_captured"};
  return names[static_cast<size_t>(c)];
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
  for (size_t i = 0; i < kLuaSpliceCauses; ++i) stats_.causes[i] += pending_.causes[i];
  pending_ = LuaSpliceStats{};
}

void LuaSplicer::forget_process(pid_t tgid) { processes_.erase(tgid); }

// One splice: the sample, its process and what the steps found.
struct LuaSplicer::Sample {
  Sample(const SampleView& sv, const sym::UnwindResult& n, Process& pr, pid_t pid)
      : s(sv), native(n), p(pr), tgid(pid), layout(&pr.vm.layout()) {}
  const SampleView& s;
  const sym::UnwindResult& native;
  Process& p;
  pid_t tgid;
  const lj::VmLayout* layout;
  bool any_vm = false;           // a native frame in the interpreter (or LuaJIT's code)
  bool stopped_in_code = false;  // the native unwind stopped in anonymous (JIT) code
  lj::UserRegs regs;
  std::optional<uint64_t> G;
  bool captured = false;  // the BPF-captured VM state is this G's
  lj::ResumerCapture resumer;
  bool root = false;  // the native frames reach the outermost frame
};

bool LuaSplicer::splice(const SampleView& s, const sym::UnwindResult& native, std::vector<SplicedFrame>& out,
                        bool& reached_root) {
  pending_ = LuaSpliceStats{};
  if (native.pcs.empty()) return false;
  const auto tgid = static_cast<pid_t>(s.tgid());
  Process* p = process(tgid, false);
  if (!p) return false;
  Sample c(s, native, *p, tgid);
  if (!runs_lua(c)) return false;
  find_global_state(c);
  load_vm_state(c);
  native_frames(c);
  p->bound_native_names();
  p->name_failed = false;
  walk_lua(c);
  const auto name_of = [this, p](uint64_t pc, bool ret) -> const std::string& {
    return p->native_name(session_, pc, ret);
  };
  merger_.merge(native_, runs_, name_of, out);
  if (p->name_failed) fail(LuaSpliceCause::NativeName);
  reached_root = c.root;
  return true;
}

bool LuaSplicer::runs_lua(Sample& c) {
  const lj::VmLayout& l = *c.layout;
  // A VM frame, or stopped in JIT machine code?
  const auto in_luajit = [&](uint64_t pc) {
    if (l.vm_hi) return l.in_vm(pc);
    return std::any_of(l.exec_ranges.begin(), l.exec_ranges.end(),
                       [&](const auto& r) { return pc >= r.first && pc < r.second; });
  };
  c.any_vm = std::any_of(c.native.pcs.begin(), c.native.pcs.end(), in_luajit);
  if (!c.native.reached_root) {
    bool unreadable = false;
    c.stopped_in_code = session_.in_anon_code(c.tgid, c.native.pcs.back(), c.s.time_ns(), unreadable);
    if (unreadable) fail(LuaSpliceCause::MapsUnreadable);
  }
  if (!c.any_vm && !c.stopped_in_code) return false;
  if (!c.p.vm.usable()) {
    // In the VM, or (no VM range known) in the LuaJIT file's code, or in JIT machine code.
    ++pending_.vm_samples;
    unreadable(c.tgid, c.p.vm.message(), LuaSpliceCause::NoVmLayout);
    return false;
  }
  ++pending_.vm_samples;
  return true;
}

void LuaSplicer::find_global_state(Sample& c) {
  Process& p = c.p;
  std::copy(c.s.regs().begin(), c.s.regs().end(), c.regs.r.begin());
  p.mem.clear();
  c.G = p.vm.G();
  // The kernel side found G itself (its first sample in the interpreter): validate it.
  const auto& w = c.s.raw->lua.words;
  if (!c.G && (w[KPERF_LUA_W_FLAGS] & KPERF_LUA_CAPTURED) && w[KPERF_LUA_W_G] && p.vm.accept_G(p.mem, w[KPERF_LUA_W_G]))
    c.G = p.vm.G();
  if (!c.G) c.G = p.vm.from_registers(p.mem, c.regs);
  if (!c.G && c.stopped_in_code) {
    // Trace code keeps DISPATCH in r14 too: try it (validated like any G) with rip in the VM.
    lj::UserRegs in_vm = c.regs;
    in_vm.r[KPERF_REG_RIP] = c.layout->vm_lo;
    c.G = p.vm.from_registers(p.mem, in_vm);
    // Not with 32-bit references: the VM's C frame on the copied stack has the lua_State.
    if (!c.G) c.G = p.vm.from_stack(p.mem, c.s.ustack.data(), c.s.ustack.size());
  }
  if (!c.G && c.any_vm && !c.layout->in_vm(c.s.user_ip())) {
    // C code called from the VM (r14 may be anything there): the VM frame starts right
    // above the return address into it on the copied stack, and holds its lua_State.
    const auto& pcs = c.native.pcs;
    const auto vm_caller = std::find_if(pcs.begin() + 1, pcs.end(), [&](uint64_t pc) { return c.layout->in_vm(pc); });
    const auto& st = c.s.ustack;
    for (size_t off = 0; vm_caller != pcs.end() && off + 16 <= st.size(); off += 8) {
      uint64_t word;
      std::memcpy(&word, st.data() + off, sizeof word);
      if (word != *vm_caller) continue;
      c.G = p.vm.from_stack(p.mem, st.data() + off + 8, std::min<size_t>(st.size() - off - 8, 128));
      break;
    }
  }
  if (c.G) {
    publish(c.tgid, p);
    unread_why_.erase(c.tgid);  // a passing refusal (r14 not yet DISPATCH)
  } else {
    unreadable(c.tgid, p.vm.refusal(), LuaSpliceCause::NoGlobalState);
  }
  c.layout = &p.vm.layout();  // from_registers may pick the other flavour
}

void LuaSplicer::load_vm_state(Sample& c) {
  const auto& w = c.s.raw->lua.words;
  c.captured = c.G && (w[KPERF_LUA_W_FLAGS] & KPERF_LUA_CAPTURED) && w[KPERF_LUA_W_G] == *c.G;
  if (!c.captured) return;
  ++pending_.captured;
  add_captured_state(c.s, c.layout->off, c.p.mem);
  c.p.ngx_coctx_seen |= (w[KPERF_LUA_W_FLAGS] & KPERF_LUA_RES_NGX) != 0;
  c.resumer = add_captured_resumer(c.s, c.layout->off, c.p.vm.nginx_main_L() && c.p.ngx_coctx_seen, c.p.mem);
}

void LuaSplicer::native_frames(Sample& c) {
  native_.clear();
  for (uint64_t pc : c.native.pcs) native_.push(pc, c.layout->in_vm(pc));
  c.root = c.native.reached_root;
  if (c.captured) {
    restart_below_vm(c);
  } else if (c.G && c.stopped_in_code) {
    native_.vm.back() = true;  // LuaJIT's machine code: [lua:unknown], not a native [unknown]
  }
}

// Trace code (vmstate >= 0), or in the interpreter but its one FDE did not unwind (VM
// subroutines called inside it move rsp): restart native unwinding from the VM's C frame.
void LuaSplicer::restart_below_vm(Sample& c) {
  const lj::VmLayout& l = *c.layout;
  const bool vm_unwind_failed = l.in_vm(c.s.user_ip()) && (c.native.pcs.size() == 1 || !c.native.reached_root);
  if (!c.stopped_in_code && !vm_unwind_failed) return;
  // In a trace (vmstate >= 0), or in a helper it called that changed vmstate (GC step
  // from a trace: -3) while jit_base still marks the trace's frame.
  lj::RemoteMemory& mem = c.p.mem;
  const auto vs = mem.read<int32_t>(*c.G + l.off.G_vmstate);
  const lj::RunningThread t = lj::running_thread(mem, l, *c.G, c.regs, c.s.raw->lua.words[KPERF_LUA_W_CUR_L]);
  const bool in_trace = (vs && *vs >= 0) || t.jit_base != 0;
  if (!vm_unwind_failed && !in_trace) return;
  const auto cf = t.L ? mem.u64(t.L + l.off.L_cframe) : std::nullopt;
  if (!cf || !(*cf & KPERF_LJ_CFRAME_MASK)) return fail(LuaSpliceCause::NoCframe);
  if (vm_unwind_failed) {
    native_.clear();
  } else {
    ++pending_.trace_samples;
    native_.pcs.pop_back();  // the trace's own pc: it becomes the Lua frames
    native_.vm.pop_back();
  }
  sym::Registers regs;
  std::copy(c.s.regs().begin(), c.s.regs().end(), regs.r);
  regs.r[KPERF_REG_RSP] = *cf & KPERF_LJ_CFRAME_MASK;
  // Any PC inside the interpreter: its one FDE says CFA = rsp + 80 throughout.
  regs.r[KPERF_REG_RIP] = l.vm_lo + (l.vm_hi - l.vm_lo) / 2;
  sym::UnwindResult& below = below_vm_;
  try {
    session_.unwind(c.tgid, regs, sym::StackCopy{c.s.user_sp(), c.s.ustack}, below);
  } catch (const std::exception&) {
    below.pcs.clear();
    fail(LuaSpliceCause::UnwindBelowVm);
  }
  if (below.pcs.empty()) below.pcs.push_back(regs.ip());
  for (size_t i = 0; i < below.pcs.size(); ++i) native_.push(below.pcs[i], i == 0 || l.in_vm(below.pcs[i]));
  c.root = below.reached_root;
}

std::string& LuaSplicer::next_text() {
  if (texts_used_ == texts_.size()) texts_.emplace_back();
  std::string& t = texts_[texts_used_++];
  t.clear();
  return t;
}

void LuaSplicer::walk_lua(Sample& c) {
  runs_.clear();
  if (!c.G) return;
  if (!c.captured) {
    // The VM has moved on since the sample: live reads would walk another stack.
    fail(LuaSpliceCause::NotCaptured);
    find_vm_groups(native_.vm, vm_groups_);
    for (size_t g = 0; g < vm_groups_.size(); ++g) runs_.add(LuaRunFrame{"[lua:unknown]"}, true);
    return;
  }
  lj::FrameWalker& walker = c.p.walker;
  // A resumer runs on after the sample: only what was captured names it.
  walker.set_resumer_capture(c.captured ? &c.resumer : nullptr, false);
  lj::WalkResult& wr = c.p.walk;
  bool threw = false;
  try {
    walker.walk_sample(*c.G, c.regs, wr, c.s.raw->lua.words[KPERF_LUA_W_CUR_L]);
  } catch (const std::exception& e) {
    wr.error = e.what();
    threw = true;
  }
  if (!wr.error.empty()) {
    ++pending_.walk_errors;
    fail(threw ? LuaSpliceCause::WalkThrew : LuaSpliceCause::WalkStopped);
  }
  bool any_lua = false;  // a real Lua / C / fast function frame (not only pseudo frames)
  texts_used_ = 0;
  for (auto& f : wr.frames) {
    LuaRunFrame rf;
    if (f.kind == lj::LuaFrame::Kind::C && f.cfunc) {
      rf.cfunc = f.cfunc;
      // A C function without a call-site name: its native name.
      if (f.name == "?") {
        f.name = c.p.native_name(session_, f.cfunc, false);
        rf.native_named = true;
      }
    }
    if (f.kind != lj::LuaFrame::Kind::Pseudo) any_lua = true;
    std::string& text = next_text();
    f.append_text(text, lua_lines_);
    rf.text = text;
    runs_.add(rf, f.called_from_c);
  }
  if (any_lua) ++pending_.lua_samples;
}

}  // namespace kperf::prof

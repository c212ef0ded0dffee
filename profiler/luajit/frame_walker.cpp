// Walks LuaJIT frames in a target process; see frame_walker.hpp and LUAJIT.md.
#include "profiler/luajit/frame_walker.hpp"

#include <fmt/format.h>

#include <array>
#include <cstring>
#include <vector>

#include "profiler/luajit/bytecode.hpp"

namespace kperf::prof::lj {
namespace {

constexpr std::uint64_t kGcMask = (1ull << 47) - 1;
constexpr std::uint64_t kItypeFunc = 0x1fff7;  // LJ_TFUNC (~8u) in the top 17 bits (GC64)
constexpr std::uint8_t kGctFunc = 8;           // ~LJ_TFUNC
constexpr std::uint64_t kSlot = 8;             // TValue size (GC64)
// Frame link types (lj_frame.h).
constexpr std::uint64_t kFrameLua = 0, kFrameCont = 2, kFrameVarg = 3;

LuaFrame pseudo(const char* name) {
  LuaFrame f;
  f.kind = LuaFrame::Kind::Pseudo;
  f.name = name;
  return f;
}

}  // namespace

void FrameWalker::walk_stack(std::uint64_t L, std::uint64_t base, std::uint64_t top_pc, WalkResult& out) {
  const VmOffsets& o = layout_.off;
  auto stack = mem_.u64(L + o.L_stack);
  auto stacksize = mem_.u32(L + o.L_stacksize);
  if (!stack || !stacksize || *stack == 0) {
    out.error = "lua_State unreadable";
    return;
  }
  const std::uint64_t bottom = *stack + kSlot;  // tvref(L->stack) + LJ_FR2
  const std::uint64_t limit = *stack + kSlot * std::uint64_t(*stacksize);
  if (base <= bottom || base > limit || (base & 7)) {
    out.error = fmt::format("BASE 0x{:x} outside the Lua stack", base);
    return;
  }
  std::uint64_t frame = base - kSlot;
  std::uint64_t pc = top_pc;  // PC of the frame being looked at (0 = unknown)
  std::size_t first = out.frames.size();

  while (frame > bottom) {
    if (out.frames.size() - first >= max_frames_) {
      out.truncated = true;
      return;
    }
    auto link = mem_.u64(frame);
    auto ftv = mem_.u64(frame - kSlot);
    if (!link || !ftv) {
      out.error = "stack slot unreadable";
      return;
    }
    if ((*ftv >> 47) != kItypeFunc) {
      out.error = fmt::format("frame 0x{:x}: slot holds no function", frame);
      return;
    }
    std::uint64_t fn = *ftv & kGcMask;
    auto hdr = mem_.read<std::array<std::uint8_t, 2>>(fn + o.fn_gct);  // gct, ffid
    LuaFrame f;
    f.func = fn;
    // A function object that is no longer one when read (short-lived closures, e.g. a
    // gmatch iterator, are collected before a sample is processed): an unknown C-like
    // frame; its link still comes from the (captured) stack slots.
    const bool gone = !hdr || (*hdr)[0] != kGctFunc;
    std::uint8_t ffid = gone ? 1 : (*hdr)[1];
    if (gone) {
      f.kind = LuaFrame::Kind::C;
    } else if (ffid == 0) {
      auto fpc = mem_.u64(fn + o.fn_pc);
      const Proto* pt = fpc ? protos_.get(mem_, o, *fpc - o.sizeof_GCproto) : nullptr;
      if (!pt) {
        out.error = fmt::format("frame 0x{:x}: prototype unreadable", frame);
        return;
      }
      f.kind = LuaFrame::Kind::Lua;
      f.chunk = pt->chunk;
      f.firstline = pt->firstline;
      std::int64_t pos = pc ? pt->pos_of_pc(pc) : -1;
      f.line = pos >= 0 ? pt->line_at(pos) : pt->firstline;
    } else if (ffid == 1) {
      f.kind = LuaFrame::Kind::C;
      f.cfunc = mem_.u64(fn + o.fn_cfunc).value_or(0);
    } else {
      f.kind = LuaFrame::Kind::Fast;
      std::string_view n = layout_.ffname(ffid);
      f.name = n.empty() ? fmt::format("ffid#{}", ffid) : std::string(n);
    }

    // A vararg frame sits on top of the real one (same function): skip to it.
    if ((*link & 7) == kFrameVarg) {
      std::uint64_t lower = frame - (*link & ~7ull);
      if (lower >= frame || lower <= bottom) {
        out.error = "bad vararg frame";
        return;
      }
      frame = lower;
      link = mem_.u64(frame);
      if (!link) {
        out.error = "stack slot unreadable";
        return;
      }
    }

    std::uint64_t prev;
    std::uint64_t prev_pc = 0;
    std::optional<std::string> name;
    if ((*link & 3) == kFrameLua) {
      // Returns into a Lua function: the caller's CALL instruction gives its frame.
      std::uint64_t ret = *link;
      auto call = mem_.u32(ret - 4);
      if (!call) {
        out.error = "return PC unreadable";
        return;
      }
      prev = frame - kSlot * (2 + bc::a(*call));
      prev_pc = ret;
      // Name from the caller's call site.
      auto cftv = mem_.u64(prev - kSlot);
      if (prev > bottom && cftv && (*cftv >> 47) == kItypeFunc) {
        std::uint64_t cfn = *cftv & kGcMask;
        auto cffid = mem_.read<std::uint8_t>(cfn + o.fn_ffid);
        auto cpc = mem_.u64(cfn + o.fn_pc);
        if (cffid && *cffid == 0 && cpc) {
          if (const Proto* cpt = protos_.get(mem_, o, *cpc - o.sizeof_GCproto))
            name = bc::call_site_name(mem_, *cpt, cpt->pos_of_pc(ret));
        }
      }
    } else {
      prev = frame - (*link & ~7ull);
      f.called_from_c = (*link & 3) == 1;  // FRAME_C or FRAME_CP
      if ((*link & 7) == kFrameCont) {
        // Continuation (metamethod called from a Lua instruction): caller PC saved below.
        prev_pc = mem_.u64(frame - 2 * kSlot).value_or(0);
        auto cftv = mem_.u64(prev - kSlot);
        if (prev_pc && cftv && (*cftv >> 47) == kItypeFunc) {
          std::uint64_t cfn = *cftv & kGcMask;
          auto cffid = mem_.read<std::uint8_t>(cfn + o.fn_ffid);
          auto cpc = mem_.u64(cfn + o.fn_pc);
          if (cffid && *cffid == 0 && cpc) {
            if (const Proto* cpt = protos_.get(mem_, o, *cpc - o.sizeof_GCproto))
              name = bc::call_site_name(mem_, *cpt, cpt->pos_of_pc(prev_pc));
          }
        }
      }
    }
    if (f.kind != LuaFrame::Kind::Fast && name) f.name = *name;
    out.frames.push_back(std::move(f));
    if (prev >= frame) {
      out.error = "frame link does not go down the stack";
      return;
    }
    frame = prev;
    pc = prev_pc;
  }
  out.complete = true;
}

void FrameWalker::trace_line(std::uint64_t G, std::int32_t traceno, std::uint64_t rip, LuaFrame& f) {
  // The line executing in trace number traceno (the GCtrace must carry gct ~LJ_TTRACE
  // and its own number): the snapshot whose machine code section holds rip gives the
  // bytecode PC the trace would resume at (lj_snap.c), if that PC lies in this frame's
  // prototype (not in a function inlined into the trace); else the line where the trace
  // starts, if it starts in this frame's prototype.
  if (f.kind != LuaFrame::Kind::Lua || traceno <= 0) return;
  const VmOffsets& o = layout_.off;
  std::uint64_t J = G + o.J_from_G;
  auto traces = mem_.u64(J + o.J_trace);
  auto size = mem_.u32(J + o.J_sizetrace);
  if (!traces || !size || static_cast<std::uint32_t>(traceno) >= *size) return;
  auto T = mem_.u64(*traces + 8 * static_cast<std::uint64_t>(traceno));
  if (!T || *T == 0) return;
  auto gct = mem_.read<std::uint8_t>(*T + 9);
  auto no = mem_.read<std::uint16_t>(*T + o.tr_traceno);
  auto fpc = mem_.u64(f.func + o.fn_pc);
  if (!gct || *gct != 9 || !no || *no != traceno || !fpc) return;
  const Proto* pt = protos_.get(mem_, o, *fpc - o.sizeof_GCproto);
  if (!pt) return;

  auto mcode = mem_.u64(*T + o.tr_mcode);
  auto szmcode = mem_.u32(*T + o.tr_szmcode);
  auto nsnap = mem_.read<std::uint16_t>(*T + o.tr_nsnap);
  auto snap = mem_.u64(*T + o.tr_snap);
  auto snapmap = mem_.u64(*T + o.tr_snapmap);
  if (mcode && szmcode && nsnap && snap && snapmap && rip >= *mcode && rip - *mcode < *szmcode && *nsnap > 0) {
    constexpr std::size_t kSnapSize = 12;
    std::vector<std::uint8_t> snaps(kSnapSize * *nsnap);
    if (mem_.read(*snap, snaps.data(), snaps.size())) {
      const std::uint64_t off = rip - *mcode;
      std::size_t best = 0;
      for (std::size_t i = 0; i < *nsnap; ++i) {
        std::uint16_t mcofs;
        std::memcpy(&mcofs, snaps.data() + kSnapSize * i + 6, sizeof mcofs);
        if (mcofs <= off) best = i;
      }
      std::uint32_t mapofs;
      std::memcpy(&mapofs, snaps.data() + kSnapSize * best, sizeof mapofs);
      const std::uint8_t nent = snaps[kSnapSize * best + 10];
      // GC64: the PC follows the snapshot's entries as (pc << 8 | base slot).
      if (auto word = mem_.u64(*snapmap + 4 * (std::uint64_t(mapofs) + nent))) {
        std::int64_t pos = pt->pos_of_pc((*word >> 8) + 4);
        if (pos >= 0) {
          f.line = pt->line_at(pos);
          return;
        }
      }
    }
  }
  auto startpt = mem_.u64(*T + o.tr_startpt);
  auto startpc = mem_.u64(*T + o.tr_startpc);
  if (!startpt || !startpc || *startpt != pt->addr) return;
  std::int64_t pos = pt->pos_of_pc(*startpc + 4);
  if (pos >= 0) f.line = pt->line_at(pos);
}

void FrameWalker::append_resumers(std::uint64_t G, std::uint64_t L, WalkResult& out) {
  // coroutine.resume in the VM calls lj_vm_resume, which builds the coroutine's C frame
  // (CFRAME_SIZE bytes, saved L at +0x10) right below the resumer's own C frame, and
  // saves the resumer's BASE in its lua_State. A coroutine resumed from C code (nginx's
  // lua_resume) fails the check and ends the walk: the native stack shows that part.
  const VmOffsets& o = layout_.off;
  constexpr std::uint64_t kCframeSize = 80;
  for (int depth = 0; depth < 16 && out.complete && !out.truncated; ++depth) {
    auto cf = mem_.u64(L + o.L_cframe);
    if (!cf || (*cf & ~3ull) == 0) return;
    std::uint64_t outer_cf = (*cf & ~3ull) + kCframeSize;
    auto rL = mem_.u64(outer_cf + 0x10);
    if (!rL || *rL == L || *rL == 0) return;
    auto rG = mem_.u64(*rL + o.L_glref);
    auto rcf = mem_.u64(*rL + o.L_cframe);
    if (!rG || *rG != G || !rcf || (*rcf & ~3ull) != outer_cf) return;
    auto rbase = mem_.u64(*rL + o.L_base);
    if (!rbase) return;
    out.complete = false;
    walk_stack(*rL, *rbase, 0, out);
    L = *rL;
  }
}

WalkResult FrameWalker::walk_sample(std::uint64_t G, const UserRegs& regs) {
  const VmOffsets& o = layout_.off;
  WalkResult r;
  r.vmstate = mem_.read<std::int32_t>(G + o.G_vmstate).value_or(-1);
  auto L = mem_.u64(G + o.G_cur_L);
  if (!L || *L == 0) {
    r.error = "no current lua_State";
    return r;
  }
  auto jit_base = mem_.u64(G + o.G_jit_base).value_or(0);
  const std::int32_t vs = r.vmstate;
  if (vs == -3) r.frames.push_back(pseudo("[lua:gc]"));
  if (vs <= -5 && vs >= -7) r.frames.push_back(pseudo("[lua:jit-compiler]"));
  if (vs == -4) r.frames.push_back(pseudo("[lua:interpreter]"));

  if (layout_.in_vm(regs.rip())) {
    r.start = WalkResult::Start::Interpreter;
    std::size_t before = r.frames.size();
    walk_stack(*L, regs.rdx(), regs.rbx(), r);
    if (r.frames.size() == before) {
      // In VM glue code where BASE is not (yet) a frame: still time in the VM.
      r.frames.push_back(pseudo("[lua:interpreter]"));
      return r;
    }
    if (follow_resumers_) append_resumers(G, *L, r);
    return r;
  }
  if (vs >= 0 && jit_base != 0) {
    r.start = WalkResult::Start::Trace;
    std::size_t top = r.frames.size();
    walk_stack(*L, jit_base, 0, r);
    if (r.frames.size() > top) {
      r.frames[top].jit = true;
      trace_line(G, vs, regs.rip(), r.frames[top]);
    }
    if (follow_resumers_) append_resumers(G, *L, r);
    return r;
  }
  r.start = WalkResult::Start::State;
  std::uint64_t base = jit_base != 0 ? jit_base : mem_.u64(*L + o.L_base).value_or(0);
  std::uint64_t pc = 0;
  if (jit_base == 0) {
    auto cf = mem_.u64(*L + o.L_cframe);
    if (cf && (*cf & ~3ull)) pc = mem_.u64((*cf & ~3ull) + o.cframe_pc).value_or(0);
  }
  walk_stack(*L, base, pc, r);
  if (follow_resumers_) append_resumers(G, *L, r);
  return r;
}

}  // namespace kperf::prof::lj

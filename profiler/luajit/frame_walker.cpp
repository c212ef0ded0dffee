// Walks LuaJIT frames in a target process; see frame_walker.hpp and, for the VM's layout,
// profiler/luajit/README.md ("LuaJIT layout facts") and profiler/bpf/luajit_abi.h.
#include "profiler/luajit/frame_walker.hpp"

#include <fmt/format.h>

#include <array>
#include <cstring>
#include <span>
#include <vector>

#include "profiler/bpf/luajit_abi.h"
#include "profiler/luajit/bytecode.hpp"
#include "profiler/luajit/running_thread.hpp"

namespace kperf::prof::lj {
namespace {

// A frame's function (GCfunc address; 0 if the slot holds no function) and link (ftsz or
// return PC). GC64: the function sits in the slot below the link, tagged; with 32-bit
// references a frame is one slot: function in the low half, link in the high half.
struct FrameSlots {
  std::uint64_t fn;
  std::uint64_t link;
};
std::optional<FrameSlots> frame_slots(RemoteMemory& mem, const VmOffsets& o, std::uint64_t frame) {
  if (o.gc64) {
    auto link = mem.u64(frame);
    auto ftv = mem.u64(frame - KPERF_LJ_SLOT);
    if (!link || !ftv) return std::nullopt;
    return FrameSlots{kperf_lj_tv_is_func(*ftv) ? (*ftv & KPERF_LJ_GC_MASK) : 0, *link};
  }
  auto v = mem.u64(frame);
  if (!v) return std::nullopt;
  return FrameSlots{*v & 0xffffffffu, *v >> 32};
}

// A fast function the layout does not name: "ffid#N" (a table: no allocation per sample).
std::string_view unknown_ffid_name(std::uint8_t ffid) {
  static const std::array<std::string, 256> names = [] {
    std::array<std::string, 256> a;
    for (std::size_t i = 0; i < a.size(); ++i) a[i] = fmt::format("ffid#{}", i);
    return a;
  }();
  return names[ffid];
}

LuaFrame pseudo(const char* name) {
  LuaFrame f;
  f.kind = LuaFrame::Kind::Pseudo;
  f.name = name;
  return f;
}

}  // namespace

static std::uint32_t snapshot_mapofs(const std::vector<std::uint8_t>& snaps, std::size_t i) {
  std::uint32_t v;
  std::memcpy(&v, snaps.data() + KPERF_LJ_SNAPSHOT_SIZE * i + KPERF_LJ_SNAPSHOT_MAPOFS, sizeof v);
  return v;
}

// Whether a trace's nsnap 12-byte snapshots carry mcofs (luajit2 2.1-20231117, LuaJIT 2.1
// of 2021 on) or are older ones padded to 12 bytes, whose +10 is padding and +6 holds
// nslots and topslot: with mcofs, each snapshot's map holds its nent entries and the
// resume PC (one word and the frame links; GC64: exactly two words) before the next
// one's starts (the last one's: at nsnapmap), and mcofs starts at 0, never decreases and
// stays inside the machine code (lj_asm.c asm_snap_fixup_mcofs; lj_trace.c searches it
// so).
bool snapshots_have_mcofs(const std::vector<std::uint8_t>& snaps, std::size_t nsnap, std::uint32_t nsnapmap,
                          std::uint32_t szmcode, bool gc64) {
  std::uint16_t last_mcofs = 0;
  for (std::size_t i = 0; i < nsnap; ++i) {
    const std::uint8_t* sn = snaps.data() + KPERF_LJ_SNAPSHOT_SIZE * i;
    std::uint16_t mcofs;
    std::memcpy(&mcofs, sn + KPERF_LJ_SNAPSHOT_MCOFS, sizeof mcofs);
    const std::uint32_t begin = snapshot_mapofs(snaps, i);
    const std::uint32_t end = i + 1 < nsnap ? snapshot_mapofs(snaps, i + 1) : nsnapmap;
    const std::uint32_t nent = sn[KPERF_LJ_SNAPSHOT_NENT];
    const std::uint32_t need = nent + (gc64 ? 2u : 1u);
    if (end < begin || end - begin < need || (gc64 && end - begin != need)) return false;
    if ((i == 0 && mcofs != 0) || mcofs < last_mcofs || mcofs > szmcode) return false;
    last_mcofs = mcofs;
  }
  return true;
}

std::string_view FrameWalker::caller_site_name(std::uint64_t caller_frame, std::uint64_t pc) {
  // The name a frame gets from its caller's call site (debug.getinfo(f, "n")): the
  // caller's function sits in the slot below its frame link; pc is in its bytecode.
  const VmOffsets& o = layout_.off;
  auto cslots = frame_slots(mem_, o, caller_frame);
  if (!cslots || cslots->fn == 0) return {};
  std::uint64_t cfn = cslots->fn;
  auto cffid = mem_.read<std::uint8_t>(cfn + o.fn_ffid);
  auto cpc = mem_.ref(cfn + o.fn_pc, o.ref_size);
  if (!cffid || *cffid != 0 || !cpc) return {};
  const Proto* cpt = protos_.get(mem_, o, *cpc - o.sizeof_GCproto);
  if (!cpt) return {};
  return cpt->site_name(mem_, cpt->pos_of_pc(pc));
}

void FrameWalker::walk_stack(std::uint64_t L, std::uint64_t base, std::uint64_t top_pc, WalkResult& out) {
  const VmOffsets& o = layout_.off;
  auto stack = mem_.ref(L + o.L_stack, o.ref_size);
  auto stacksize = mem_.u32(L + o.L_stacksize);
  if (!stack || !stacksize || *stack == 0) {
    out.error = "lua_State unreadable";
    return;
  }
  const std::uint64_t fr2 = o.gc64 ? 1 : 0;  // LJ_FR2: two slots per frame
  const std::uint64_t bottom = *stack + KPERF_LJ_SLOT * fr2;  // tvref(L->stack) + LJ_FR2
  const std::uint64_t limit = *stack + KPERF_LJ_SLOT * std::uint64_t(*stacksize);
  if (base <= bottom || base > limit || (base & 7)) {
    out.error = fmt::format("BASE 0x{:x} outside the Lua stack", base);
    return;
  }
  std::uint64_t frame = base - KPERF_LJ_SLOT;
  std::uint64_t pc = top_pc;  // PC of the frame being looked at (0 = unknown)
  std::size_t first = out.frames.size();

  while (frame > bottom) {
    if (out.frames.size() - first >= max_frames_) {
      out.truncated = true;
      return;
    }
    auto slots = frame_slots(mem_, o, frame);
    if (!slots) {
      out.error = "stack slot unreadable";
      return;
    }
    if (slots->fn == 0) {
      out.error = fmt::format("frame 0x{:x}: slot holds no function", frame);
      return;
    }
    std::optional<std::uint64_t> link = slots->link;
    std::uint64_t fn = slots->fn;
    auto hdr = mem_.read<std::array<std::uint8_t, 2>>(fn + o.fn_gct);  // gct, ffid
    LuaFrame f;
    f.func = fn;
    // A function object that is no longer one when read (short-lived closures, e.g. a
    // gmatch iterator, are collected before a sample is processed): an unknown C-like
    // frame; its link still comes from the (captured) stack slots.
    const bool gone = !hdr || (*hdr)[0] != KPERF_LJ_GCT_FUNC;
    std::uint8_t ffid = gone ? KPERF_LJ_FFID_C : (*hdr)[1];
    if (gone) {
      f.kind = LuaFrame::Kind::C;
    } else if (ffid == KPERF_LJ_FFID_LUA) {
      auto fpc = mem_.ref(fn + o.fn_pc, o.ref_size);
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
    } else if (ffid == KPERF_LJ_FFID_C) {
      f.kind = LuaFrame::Kind::C;
      f.cfunc = mem_.u64(fn + o.fn_cfunc).value_or(0);
    } else {
      f.kind = LuaFrame::Kind::Fast;
      std::string_view n = layout_.ffname(ffid);
      f.name = n.empty() ? unknown_ffid_name(ffid) : n;
    }

    // A vararg frame sits on top of the real one (same function): skip to it.
    if (kperf_lj_link_is_varg(*link)) {
      std::uint64_t lower = frame - kperf_lj_link_delta(*link);
      if (lower >= frame || lower <= bottom) {
        out.error = "bad vararg frame";
        return;
      }
      frame = lower;
      auto lower_slots = frame_slots(mem_, o, frame);
      link = lower_slots ? std::optional<std::uint64_t>(lower_slots->link) : std::nullopt;
      if (!link) {
        out.error = "stack slot unreadable";
        return;
      }
    }

    // The step to the caller's frame is kperf_lj_prev_frame, which the kernel side's
    // capture_funcs takes too; reading the CALL instruction and naming are ours.
    std::uint64_t prev;
    std::uint64_t prev_pc = 0;
    std::string_view name;
    if (kperf_lj_link_is_lua(*link)) {
      // Returns into a Lua function: the caller's CALL instruction gives its frame.
      std::uint64_t ret = *link;
      auto call = mem_.u32(ret - 4);
      if (!call) {
        out.error = "return PC unreadable";
        return;
      }
      prev = kperf_lj_prev_frame(frame, ret, bc::a(*call), o.gc64);
      prev_pc = ret;
      if (prev > bottom) name = caller_site_name(prev, ret);
    } else {
      prev = kperf_lj_prev_frame(frame, *link, 0, o.gc64);
      f.called_from_c = (*link & KPERF_LJ_FRAME_TYPE) == KPERF_LJ_FRAME_C;  // FRAME_C or FRAME_CP
      if ((*link & KPERF_LJ_FRAME_TYPEP) == KPERF_LJ_FRAME_CONT) {
        // Continuation (metamethod called from a Lua instruction): caller PC saved below.
        auto below = frame_slots(mem_, o, frame - KPERF_LJ_SLOT * (1 + fr2));  // frame_contpc
        prev_pc = below ? below->link : 0;
        if (prev_pc) name = caller_site_name(prev, prev_pc);
      }
    }
    if (f.kind != LuaFrame::Kind::Fast && !name.empty()) f.name = name;
    out.frames.push_back(f);
    if (prev >= frame) {
      out.error = "frame link does not go down the stack";
      return;
    }
    frame = prev;
    pc = prev_pc;
  }
  out.complete = true;
}

void FrameWalker::trace_frames(std::uint64_t G, std::int32_t traceno, std::uint64_t rip, LuaFrame& base) {
  // Trace number traceno (the GCtrace must carry gct ~LJ_TTRACE and its own number) runs
  // base's function and, maybe, functions inlined into it: their frames exist only in
  // the trace's snapshots (lj_snap.c). The snapshot whose machine code section holds rip
  // lists, in GC64 mode, each inlined frame as two entries: the function's slot (an IR
  // constant GCfunc) and, above it, the frame link (SNAP_FRAME, an IR constant holding the
  // return PC into the caller); after the entries comes the PC the trace would resume at
  // (pc << 8 | base slot). Lines: each frame's PC is the return PC of the frame above, the
  // innermost's the snapshot's. Anything that does not check out (a function that is not
  // a constant, a link that is not a Lua return PC into the caller's bytecode) ends the
  // inlined chain there; without a usable snapshot, base's line stays its first line.
  inlined_.clear();
  if (base.kind != LuaFrame::Kind::Lua || traceno <= 0 || layout_.off.J_trace == 0) return;
  const VmOffsets& o = layout_.off;
  std::uint64_t J = G + o.J_from_G;
  auto traces = mem_.u64(J + o.J_trace);
  auto size = mem_.u32(J + o.J_sizetrace);
  if (!traces || !size || static_cast<std::uint32_t>(traceno) >= *size) return;
  auto T = mem_.ref(*traces + o.ref_size * static_cast<std::uint64_t>(traceno), o.ref_size);
  if (!T || *T == 0) return;
  auto gct = mem_.read<std::uint8_t>(*T + o.fn_gct);
  auto no = mem_.read<std::uint16_t>(*T + o.tr_traceno);
  auto fpc = mem_.ref(base.func + o.fn_pc, o.ref_size);
  if (!gct || *gct != KPERF_LJ_GCT_TRACE || !no || *no != traceno || !fpc) return;
  const Proto* pt = protos_.get(mem_, o, *fpc - o.sizeof_GCproto);
  if (!pt) return;

  auto mcode = mem_.u64(*T + o.tr_mcode);
  auto szmcode = mem_.u32(*T + o.tr_szmcode);
  auto nsnap = mem_.read<std::uint16_t>(*T + o.tr_nsnap);
  auto snap = mem_.u64(*T + o.tr_snap);
  auto snapmap = mem_.u64(*T + o.tr_snapmap);
  auto ir = mem_.u64(*T + o.tr_ir);
  auto nk = mem_.u32(*T + o.tr_nk);
  // The SnapShot array runs up to the snapshot map (lj_trace.c trace_save). Snapshots
  // with mcofs are 12 bytes; luajit2's before 2021 are 10 bytes of fields padded to 12
  // (nent at +8, no mcofs, padding at +10): the same size, so the map offsets tell them
  // apart (snapshots_have_mcofs); LuaJIT 2.0's are 8 bytes (mapofs u16, nent at +6).
  // Without mcofs, the exit stubs of the trace's guards say which snapshot rip runs
  // under (TraceExits). A snapshot's map: its nent slot entries, then (GC64) the 64-bit
  // `pc << 8 | base slot` it resumes at, or (32-bit references) the resume PC and the
  // frame links, up to the next snapshot's map (the last one's: up to nsnapmap, which
  // follows nk in GCtrace; nsnap in 2.0).
  const bool lua20 = o.lua20;
  const std::size_t snap_size = lua20 ? 8 : KPERF_LJ_SNAPSHOT_SIZE;
  auto nsnapmap = lua20 ? std::optional<std::uint32_t>(mem_.read<std::uint16_t>(*T + o.tr_nsnap + 2))
                        : mem_.u32(*T + o.tr_nk + 4);
  if (!mcode || !szmcode || !nsnap || !snap || !snapmap || !ir || !nk || !nsnapmap || rip < *mcode ||
      rip - *mcode >= *szmcode || *nsnap == 0 || *snapmap - *snap != snap_size * *nsnap)
    return;
  std::vector<std::uint8_t>& snaps = snaps_;
  snaps.resize(snap_size * *nsnap);
  if (!mem_.read(*snap, snaps.data(), snaps.size())) return;
  const std::uint64_t off = rip - *mcode;
  const bool mcofs = !lua20 && snapshots_have_mcofs(snaps, *nsnap, *nsnapmap, *szmcode, o.gc64);
  std::size_t best = 0;
  if (mcofs) {
    for (std::size_t i = 0; i < *nsnap; ++i) {
      std::uint16_t at;
      std::memcpy(&at, snaps.data() + snap_size * i + KPERF_LJ_SNAPSHOT_MCOFS, sizeof at);
      if (at <= off) best = i;
    }
  } else if (auto s = exits_.snapshot_at(mem_, *T, static_cast<std::uint16_t>(traceno), *mcode, *szmcode,
                                         mem_.u32(*T + o.tr_mcode + 8).value_or(0), off, *nsnap, layout_.vm_lo,
                                         layout_.vm_hi)) {
    best = *s;
  } else {
    return;
  }
  const auto mapofs_of = [&](std::size_t i) -> std::uint32_t {
    if (!lua20) return snapshot_mapofs(snaps, i);
    std::uint16_t v;
    std::memcpy(&v, snaps.data() + snap_size * i, sizeof v);
    return v;
  };
  const std::uint32_t mapofs = mapofs_of(best);
  const std::uint8_t nent = snaps[snap_size * best + (lua20 ? 6 : mcofs ? KPERF_LJ_SNAPSHOT_NENT : 8)];
  const std::uint32_t map_end = best + 1 < *nsnap ? mapofs_of(best + 1) : *nsnapmap;
  std::vector<std::uint32_t>& map = snap_map_;
  if (map_end < mapofs + nent + (o.gc64 ? 2u : 1u) || map_end - mapofs > 4096) return;
  map.resize(map_end - mapofs);
  if (!mem_.read(*snapmap + 4 * std::uint64_t(mapofs), map.data(), 4 * map.size())) return;
  std::uint64_t resume = map[nent];
  if (o.gc64) {
    std::memcpy(&resume, &map[nent], sizeof resume);
    resume >>= 8;
    inlined_frames(std::span(map.data(), nent), *ir, *nk, *pt, resume);
  } else {
    inlined_frames_ref32(std::span(map.data(), nent), std::span(map.data() + nent + 1, map.size() - nent - 1), *ir,
                         *nk, *pt, resume);
  }
  // base runs the call of the outermost inlined frame, or the snapshot's PC.
  std::int64_t pos = pt->pos_of_pc(inlined_.empty() ? resume + 4 : inlined_.back().return_pc);
  if (pos >= 0) {
    base.line = pt->line_at(pos);
    return;
  }
  inlined_.clear();
  // No snapshot for rip: base keeps its function's first line. The line the trace starts
  // at is not where it runs (a side trace starting after a loop runs the loop; hotcount
  // collisions, which follow ASLR, pick other starts from run to run): a wrong line.
  return;
}

const std::vector<LuaFrame>& FrameWalker::inlined_frames(std::span<const std::uint32_t> entries, std::uint64_t ir,
                                                         std::uint32_t nk, const Proto& base_pt, std::uint64_t resume) {
  // GC64: an inlined frame is two entries, the function's slot (an IR constant GCfunc
  // with its tag) and above it the link (SNAP_FRAME, an IR constant holding the return
  // PC); a 64-bit constant's payload is the instruction slot after it.
  auto constant = [&](std::uint32_t ref) -> std::optional<std::uint64_t> {
    if (ref >= KPERF_LJ_REF_BIAS || ref < nk) return std::nullopt;
    return mem_.u64(ir + 8 * (std::uint64_t(ref) + 1));
  };
  chain_.clear();
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const std::uint32_t link_sn = entries[i];
    const std::uint32_t slot = link_sn >> KPERF_LJ_SNAP_SLOT_SHIFT;
    if (!(link_sn & (KPERF_LJ_SNAP_FRAME | KPERF_LJ_SNAP_CONT)) || slot < 2) continue;  // slot 1: a tail call's marker
    if ((link_sn & KPERF_LJ_SNAP_CONT) || i == 0 || (entries[i - 1] >> KPERF_LJ_SNAP_SLOT_SHIFT) != slot - 1) break;
    auto link = constant(link_sn & KPERF_LJ_SNAP_REF_MASK);
    auto ftv = constant(entries[i - 1] & KPERF_LJ_SNAP_REF_MASK);
    if (!link || !ftv) break;
    chain_.push_back({*ftv & KPERF_LJ_GC_MASK, *link});
  }
  return inlined_from_chain(base_pt, resume);
}

const std::vector<LuaFrame>& FrameWalker::inlined_frames_ref32(std::span<const std::uint32_t> entries,
                                                               std::span<const std::uint32_t> links, std::uint64_t ir,
                                                               std::uint32_t nk, const Proto& base_pt,
                                                               std::uint64_t resume) {
  // 32-bit references: an inlined frame's slot entry carries SNAP_FRAME and a constant
  // GCfunc (a 32-bit GCref in the IR instruction itself); its return PC is among the
  // frame links after the entries and the resume PC, innermost frame first (lj_snap.c
  // snapshot_framelinks). Only a chain of Lua frames, one link each, is read: a pcall or
  // continuation frame has other links, so the counts differ and nothing is read.
  chain_.clear();
  for (std::uint32_t sn : entries) {
    const std::uint32_t slot = sn >> KPERF_LJ_SNAP_SLOT_SHIFT;
    if (!(sn & (KPERF_LJ_SNAP_FRAME | KPERF_LJ_SNAP_CONT)) || slot == 0) continue;  // slot 0: the trace's own function
    const std::uint32_t ref = sn & KPERF_LJ_SNAP_REF_MASK;
    auto fn = ref < KPERF_LJ_REF_BIAS && ref >= nk ? mem_.u32(ir + 8 * std::uint64_t(ref)) : std::nullopt;
    if ((sn & KPERF_LJ_SNAP_CONT) || !fn) {
      chain_.clear();  // not a chain of constant functions: none
      return inlined_from_chain(base_pt, resume);
    }
    chain_.push_back({*fn, 0});
  }
  if (chain_.size() != links.size()) chain_.clear();
  for (std::size_t i = 0; i < chain_.size(); ++i) chain_[i].second = links[links.size() - 1 - i];
  return inlined_from_chain(base_pt, resume);
}

const std::vector<LuaFrame>& FrameWalker::inlined_from_chain(const Proto& base_pt, std::uint64_t resume) {
  const VmOffsets& o = layout_.off;
  std::vector<LuaFrame>& outer_first = outer_first_;
  std::vector<const Proto*>& protos = inlined_protos_;  // outer_first's prototypes
  outer_first.clear();
  protos.clear();
  inlined_.clear();
  const Proto* caller = &base_pt;
  for (const auto& [fn, link] : chain_) {
    if (!kperf_lj_link_is_lua(link)) break;  // not a Lua frame returning into Lua
    const std::int64_t call_pos = caller->pos_of_pc(link);
    if (call_pos < 0) break;  // the return PC is not in the caller's bytecode
    auto hdr = mem_.read<std::array<std::uint8_t, 2>>(fn + o.fn_gct);  // gct, ffid
    auto fpc = mem_.ref(fn + o.fn_pc, o.ref_size);
    if (!hdr || (*hdr)[0] != KPERF_LJ_GCT_FUNC || (*hdr)[1] != KPERF_LJ_FFID_LUA || !fpc) break;
    const Proto* fpt = protos_.get(mem_, o, *fpc - o.sizeof_GCproto);
    if (!fpt) break;
    LuaFrame f;
    f.kind = LuaFrame::Kind::Lua;
    f.func = fn;
    f.chunk = fpt->chunk;
    f.firstline = fpt->firstline;
    f.jit = true;
    f.return_pc = link;
    if (std::string_view name = caller->site_name(mem_, call_pos); !name.empty()) f.name = name;
    outer_first.push_back(f);
    protos.push_back(fpt);
    caller = fpt;
  }
  // The innermost inlined function must hold the PC the trace resumes at. Lines: each
  // inlined frame runs the call of the next one, the innermost the snapshot's PC.
  if (!outer_first.empty() && caller->pos_of_pc(resume + 4) < 0) outer_first.clear();
  for (std::size_t i = 0; i < outer_first.size(); ++i) {
    const std::uint64_t pc = i + 1 < outer_first.size() ? outer_first[i + 1].return_pc : resume + 4;
    outer_first[i].line = protos[i]->line_at(protos[i]->pos_of_pc(pc));
  }
  inlined_.assign(outer_first.rbegin(), outer_first.rend());
  return inlined_;
}

void FrameWalker::append_resumers(std::uint64_t G, std::uint64_t L, WalkResult& out, bool running) {
  // A coroutine's frames continue with its resumer's (resumer.hpp): the resumer's run
  // goes on in the same native VM group (a resume in the VM never leaves it; an ngx_lua
  // parent is suspended, not on the native stack), so the coroutine's bottom frame is no
  // C boundary. Only the first resumer is captured at sample time; beyond it, only
  // whether there is one is known.
  const ResumerCapture* capture = capture_;
  ResumerCapture beyond;
  for (int depth = 0; depth < 16 && out.complete && !out.truncated && !out.frames.empty(); ++depth) {
    const Resumer r = find_resumer(mem_, layout_, G, L, capture, live_resumers_, running && depth == 0);
    if (r.kind == Resumer::Kind::None) return;
    out.frames.back().called_from_c = false;
    if (r.kind == Resumer::Kind::Unknown) {
      out.frames.push_back(pseudo("[lua:coroutine]"));
      return;
    }
    out.complete = false;
    walk_stack(r.L, r.base, 0, out);
    L = r.L;
    if (capture) {
      beyond = capture->beyond();
      capture = &beyond;
    }
  }
}

void FrameWalker::walk_sample(std::uint64_t G, const UserRegs& regs, WalkResult& r, std::uint64_t captured_L) {
  const VmOffsets& o = layout_.off;
  protos_.release_retired();  // the previous walk's frames are done with
  r.frames.clear();
  r.start = WalkResult::Start::None;
  r.complete = false;
  r.truncated = false;
  r.error.clear();
  r.vmstate = mem_.read<std::int32_t>(G + o.G_vmstate).value_or(-1);
  const RunningThread running = running_thread(mem_, layout_, G, regs, captured_L);
  if (running.L == 0) {
    r.error = "no current lua_State";
    return;
  }
  const std::uint64_t L = running.L, jit_base = running.jit_base;
  const std::int32_t vs = r.vmstate;
  if (vs == -3) r.frames.push_back(pseudo("[lua:gc]"));
  if (vs <= -5 && vs >= -7) r.frames.push_back(pseudo("[lua:jit-compiler]"));
  if (vs == -4) r.frames.push_back(pseudo("[lua:interpreter]"));

  if (layout_.in_vm(regs.rip())) {
    r.start = WalkResult::Start::Interpreter;
    std::size_t before = r.frames.size();
    walk_stack(L, regs.rdx(), regs.rbx(), r);
    if (r.frames.size() == before) {
      // In VM glue code where BASE is not (yet) a frame: still time in the VM.
      r.frames.push_back(pseudo("[lua:interpreter]"));
      return;
    }
    if (follow_resumers_) append_resumers(G, L, r, true);
    return;
  }
  if (vs >= 0 && jit_base != 0) {
    r.start = WalkResult::Start::Trace;
    std::size_t top = r.frames.size();
    walk_stack(L, jit_base, 0, r);
    if (r.frames.size() > top) {
      r.frames[top].jit = true;
      trace_frames(G, vs, regs.rip(), r.frames[top]);
      r.frames.insert(r.frames.begin() + static_cast<std::ptrdiff_t>(top), inlined_.begin(), inlined_.end());
    }
    if (follow_resumers_) append_resumers(G, L, r);
    return;
  }
  r.start = WalkResult::Start::State;
  std::uint64_t base = jit_base != 0 ? jit_base : mem_.u64(L + o.L_base).value_or(0);
  std::uint64_t pc = 0;
  if (jit_base == 0) {
    auto cf = mem_.u64(L + o.L_cframe);
    if (cf && (*cf & KPERF_LJ_CFRAME_MASK))
      pc = mem_.ref((*cf & KPERF_LJ_CFRAME_MASK) + o.cframe_pc, o.ref_size).value_or(0);
  }
  walk_stack(L, base, pc, r);
  if (follow_resumers_) append_resumers(G, L, r);
  return;
}

}  // namespace kperf::prof::lj

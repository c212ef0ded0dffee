// unwind_stack: one CFI step per frame — CFA, return address and callee-saved registers
// from the cached rules; stops on RA undefined, missing CFI, reads off the copy, bad SP.
#include "symbolizer/unwinder.hpp"

#include <cstring>
#include <iterator>

#include <fmt/format.h>

namespace kperf::sym {

namespace {

constexpr int kRip = 16, kRsp = 7, kRbp = 6;

struct StackReader {
  const StackCopy& s;
  bool read(uint64_t addr, uint64_t& out) const {
    if (addr < s.base) return false;
    uint64_t off = addr - s.base;
    if (off > s.bytes.size() || s.bytes.size() - off < 8) return false;
    std::memcpy(&out, s.bytes.data() + off, 8);
    return true;
  }
};

struct State {
  uint64_t r[17];
  uint32_t valid;
};

// Value of a register rule; false if it cannot be recovered.
bool apply_rule(const RegRule& rule, int regno, const State& cur, uint64_t cfa, CfiTable& table,
                const StackReader& mem, uint64_t& out, bool& undefined) {
  undefined = false;
  switch (rule.kind) {
    case RuleKind::Undefined: undefined = true; return false;
    case RuleKind::Same:
      if (!(cur.valid & (1u << regno))) return false;
      out = cur.r[regno];
      return true;
    case RuleKind::Offset: return mem.read(cfa + uint64_t(rule.off), out);
    case RuleKind::ValOffset: out = cfa + uint64_t(rule.off); return true;
    case RuleKind::Register:
      if (rule.reg > 16 || !(cur.valid & (1u << rule.reg))) return false;
      out = rule.reg == kRsp ? cfa : cur.r[rule.reg];
      return true;
    case RuleKind::Expr:
    case RuleKind::ValExpr: {
      ExprContext ctx{cur.r, cur.valid, cfa, [&](uint64_t a, uint64_t& v) { return mem.read(a, v); }};
      auto res = eval_expr(table.expr(rule.expr), ctx);
      if (!res) return false;
      if (rule.kind == RuleKind::ValExpr || res->is_value) {
        out = res->value;
        return true;
      }
      return mem.read(res->value, out);
    }
  }
  return false;
}

}  // namespace

void unwind_stack(const Registers& regs, const StackCopy& stack, CfiSource& source, const UnwindOptions& opts,
                  UnwindResult& res) {
  res.pcs.clear();
  res.reached_root = false;
  res.error.clear();
  res.stop = UnwindStop::Root;
  StackReader mem{stack};
  State cur;
  std::memcpy(cur.r, regs.r, sizeof cur.r);
  cur.valid = (1u << 17) - 1;
  res.pcs.reserve(32);
  res.pcs.push_back(cur.r[kRip]);
  bool exact_pc = true;  // frame 0 and frames interrupted by a signal: pc is not a return address

  while (res.pcs.size() < opts.max_frames) {
    uint64_t pc = cur.r[kRip];
    uint64_t lookup_pc = exact_pc ? pc : pc - 1;
    CfiLocation loc = source.locate(lookup_pc);
    const CfiRow* row = nullptr;
    if (loc.table) row = loc.table->find(lookup_pc - loc.bias);

    State next{};
    next.valid = 0;
    uint64_t cfa = 0;
    if (row) {
      if (!row->cfa.is_expr) {
        if (!(cur.valid & (1u << row->cfa.reg))) {
          fmt::format_to(std::back_inserter(res.error), "CFA register {} unknown at {:#x}", row->cfa.reg, pc);
          res.stop = UnwindStop::BadCfa;
          return;
        }
        cfa = cur.r[row->cfa.reg] + uint64_t(row->cfa.off);
      } else {
        ExprContext ctx{cur.r, cur.valid, std::nullopt, [&](uint64_t a, uint64_t& v) { return mem.read(a, v); }};
        auto v = eval_expr(loc.table->expr(row->cfa.expr), ctx);
        if (!v) {
          fmt::format_to(std::back_inserter(res.error), "CFA expression failed at {:#x}", pc);
          res.stop = UnwindStop::BadCfa;
          return;
        }
        cfa = v->value;
      }
      bool ra_ok = false;
      for (size_t i = 0; i < kNumTracked; ++i) {
        int regno = kTrackedRegs[i];
        uint64_t v = 0;
        bool undefined = false;
        if (apply_rule(row->regs[i], regno, cur, cfa, *loc.table, mem, v, undefined)) {
          next.r[regno] = v;
          next.valid |= 1u << regno;
          if (regno == kRip) ra_ok = true;
        } else if (regno == kRip) {
          if (undefined) {
            res.reached_root = true;
            return;
          }
          fmt::format_to(std::back_inserter(res.error), "return address not readable at {:#x} (CFA {:#x})", pc, cfa);
          res.stop = UnwindStop::OffStack;
          return;
        } else if (undefined && (cur.valid & (1u << regno))) {
          // Callee-saved register the CFI calls undefined: keep the value (clobbered
          // at worst; only the frame-pointer fallback reads rbp).
          next.r[regno] = cur.r[regno];
          next.valid |= 1u << regno;
        }
      }
      (void)ra_ok;
    } else {
      if (loc.entry != 0 && lookup_pc >= loc.entry && lookup_pc - loc.entry < kEntryRoutineBytes) {
        res.reached_root = true;  // the entry routine (ld.so's _start has no CFI): outermost
        return;
      }
      if (!loc.mapped && res.pcs.size() > 1) {
        fmt::format_to(std::back_inserter(res.error), "pc {:#x} is in no known mapping", pc);
        res.stop = UnwindStop::NoMapping;
        return;
      }
      uint64_t rbp = cur.r[kRbp];
      uint64_t ra = 0, saved_rbp = 0;
      bool fp_ok = opts.frame_pointer_fallback && (cur.valid & (1u << kRbp)) && rbp >= cur.r[kRsp] &&
                   mem.read(rbp, saved_rbp) && mem.read(rbp + 8, ra);
      if (!fp_ok) {
        if (loc.mapped)
          fmt::format_to(std::back_inserter(res.error), "no CFI for pc {:#x}", pc);
        else
          fmt::format_to(std::back_inserter(res.error), "pc {:#x} is in no known mapping", pc);
        res.stop = !loc.mapped ? UnwindStop::NoMapping : loc.anonymous ? UnwindStop::AnonCode : UnwindStop::NoCfi;
        return;
      }
      cfa = rbp + 16;
      next.r[kRip] = ra;
      next.r[kRbp] = saved_rbp;
      next.valid |= (1u << kRip) | (1u << kRbp);
      for (int regno : {3, 12, 13, 14, 15}) {
        next.r[regno] = cur.r[regno];
        if (cur.valid & (1u << regno)) next.valid |= 1u << regno;
      }
    }
    next.r[kRsp] = cfa;
    next.valid |= 1u << kRsp;
    if (next.r[kRip] == 0) {
      res.reached_root = true;  // a zero return address ends the chain (outermost frame)
      return;
    }
    if (cfa <= cur.r[kRsp] && !(row && row->signal_frame)) {
      fmt::format_to(std::back_inserter(res.error), "stack pointer did not increase at {:#x} (sp {:#x}, cfa {:#x})", pc, cur.r[kRsp], cfa);
      res.stop = UnwindStop::BadCfa;
      return;
    }
    exact_pc = row && row->signal_frame;
    cur = next;
    res.pcs.push_back(cur.r[kRip]);
  }
  res.error = "max frames reached";
  res.stop = UnwindStop::MaxFrames;
}

}  // namespace kperf::sym

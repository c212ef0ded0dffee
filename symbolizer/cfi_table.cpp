// CfiTable: turning libdw's per-address frame state into cached compact rows.
#include "symbolizer/cfi_table.hpp"

#include <dwarf.h>

#include <algorithm>
#include <cstdlib>

namespace kperf::sym {

CfiTable::~CfiTable() {
  if (eh_) dwarf_cfi_end(eh_);
}

uint32_t CfiTable::intern_expr(const Dwarf_Op* ops, size_t n, bool drop_stack_value) {
  std::vector<ExprOp> v;
  for (size_t i = 0; i < n; ++i) {
    if (drop_stack_value && ops[i].atom == DW_OP_stack_value && i + 1 == n) break;
    v.push_back({ops[i].atom, ops[i].number, ops[i].number2, ops[i].offset});
  }
  exprs_.push_back(std::move(v));
  return static_cast<uint32_t>(exprs_.size() - 1);
}

bool CfiTable::build_row(Dwarf_CFI* cfi, uint64_t addr, CfiRow& row) {
  Dwarf_Frame* frame = nullptr;
  if (!cfi || dwarf_cfi_addrframe(cfi, addr, &frame) != 0 || !frame) return false;
  struct Free {
    Dwarf_Frame* f;
    ~Free() { std::free(f); }
  } guard{frame};

  Dwarf_Addr start = 0, end = 0;
  bool signal = false;
  if (dwarf_frame_info(frame, &start, &end, &signal) < 0) return false;
  if (!(start <= addr && addr < end)) {
    start = addr;
    end = addr + 1;
  }
  row.start = start;
  row.end = end;
  row.signal_frame = signal;

  Dwarf_Op* ops = nullptr;
  size_t nops = 0;
  if (dwarf_frame_cfa(frame, &ops, &nops) != 0 || nops == 0) return false;
  if (nops == 1 && ops[0].atom == DW_OP_bregx && ops[0].number <= 16) {
    row.cfa = {false, uint8_t(ops[0].number), int64_t(ops[0].number2), 0};
  } else if (nops == 1 && ops[0].atom >= DW_OP_breg0 && ops[0].atom <= DW_OP_breg16) {
    row.cfa = {false, uint8_t(ops[0].atom - DW_OP_breg0), int64_t(ops[0].number), 0};
  } else {
    row.cfa = {true, 0, 0, intern_expr(ops, nops, false)};
  }

  for (size_t i = 0; i < kNumTracked; ++i) {
    Dwarf_Op mem[3];
    Dwarf_Op* r = nullptr;
    size_t n = 0;
    RegRule& rule = row.regs[i];
    if (dwarf_frame_register(frame, kTrackedRegs[i], mem, &r, &n) != 0) {
      rule.kind = RuleKind::Undefined;
      continue;
    }
    if (n == 0) {
      rule.kind = r == nullptr ? RuleKind::Same : RuleKind::Undefined;
      continue;
    }
    bool value = r[n - 1].atom == DW_OP_stack_value;
    size_t m = value ? n - 1 : n;
    // Common shapes: DW_OP_call_frame_cfa [; DW_OP_plus_uconst N | DW_OP_consts N; DW_OP_plus]
    if (m >= 1 && r[0].atom == DW_OP_call_frame_cfa) {
      if (m == 1) {
        rule = {value ? RuleKind::ValOffset : RuleKind::Offset, 0, 0, 0};
        continue;
      }
      if (m == 2 && r[1].atom == DW_OP_plus_uconst) {
        rule = {value ? RuleKind::ValOffset : RuleKind::Offset, 0, int64_t(r[1].number), 0};
        continue;
      }
      if (m == 3 && (r[1].atom == DW_OP_consts || r[1].atom == DW_OP_constu) && r[2].atom == DW_OP_plus) {
        rule = {value ? RuleKind::ValOffset : RuleKind::Offset, 0, int64_t(r[1].number), 0};
        continue;
      }
      if (m == 3 && (r[1].atom == DW_OP_consts || r[1].atom == DW_OP_constu) && r[2].atom == DW_OP_minus) {
        rule = {value ? RuleKind::ValOffset : RuleKind::Offset, 0, int64_t(0 - r[1].number), 0};
        continue;
      }
    }
    if (value && m == 1 && ((r[0].atom == DW_OP_bregx && r[0].number <= 16 && r[0].number2 == 0) ||
                            (r[0].atom >= DW_OP_breg0 && r[0].atom <= DW_OP_breg16 && r[0].number == 0))) {
      rule = {RuleKind::Register, uint8_t(r[0].atom == DW_OP_bregx ? r[0].number : r[0].atom - DW_OP_breg0), 0, 0};
      continue;
    }
    if (m == 1 && r[0].atom == DW_OP_regx && r[0].number <= 16) {
      rule = {RuleKind::Register, uint8_t(r[0].number), 0, 0};
      continue;
    }
    rule = {value ? RuleKind::ValExpr : RuleKind::Expr, 0, 0, intern_expr(r, n, true)};
  }
  return true;
}

const CfiRow* CfiTable::find(uint64_t addr) {
  auto it = std::upper_bound(rows_.begin(), rows_.end(), addr, [](uint64_t a, const CfiRow& r) { return a < r.start; });
  if (it != rows_.begin() && addr < std::prev(it)->end) return &*std::prev(it);
  if (misses_.count(addr)) return nullptr;
  CfiRow row;
  Dwarf_CFI* cfi = eh_;
  if (!build_row(cfi, addr, row)) {
    cfi = debug_;
    if (!build_row(cfi, addr, row)) {
      if (misses_.size() < 100000) misses_.insert(addr);
      return nullptr;
    }
  }
  if (row.start < addr) {
    // libdw reports the start of a row reached by DW_CFA_restore_state as the start of
    // the remembered row (before the epilogue the two states bracket), so [start, addr)
    // may hold other rows. The row at start ends where this one does only if no row
    // boundary lies between them; else the row is known to hold from addr on only.
    CfiRow at_start;
    if (!build_row(cfi, row.start, at_start) || at_start.end != row.end) row.start = addr;
  }
  // Keep rows non-overlapping: clip against the neighbours already cached.
  it = std::upper_bound(rows_.begin(), rows_.end(), row.start, [](uint64_t a, const CfiRow& r) { return a < r.start; });
  if (it != rows_.begin() && std::prev(it)->end > row.start) row.start = std::max(row.start, std::prev(it)->end);
  if (it != rows_.end() && it->start < row.end) row.end = it->start;
  if (!(row.start <= addr && addr < row.end)) {
    row.start = addr;
    row.end = addr + 1;
    it = std::upper_bound(rows_.begin(), rows_.end(), addr, [](uint64_t a, const CfiRow& r) { return a < r.start; });
  }
  return &*rows_.insert(it, row);
}

}  // namespace kperf::sym

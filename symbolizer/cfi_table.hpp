// CfiTable: a module's call frame information as compact rows ([start,end) -> CFA rule +
// rules for rip/rbp/rbx/r12-r15), filled lazily from libdw's Dwarf_CFI and cached.
#pragma once

#include <elfutils/libdw.h>

#include <cstdint>
#include <span>
#include <unordered_set>
#include <vector>

#include "symbolizer/dwarf_expr.hpp"

namespace kperf::sym {

enum class RuleKind : uint8_t {
  Undefined,  // not recoverable (for rip: the outermost frame)
  Same,       // unchanged from the callee
  Offset,     // saved at CFA + off
  ValOffset,  // value is CFA + off
  Register,   // value is in register `reg`
  Expr,       // saved at the address an expression computes (CFA pushed first)
  ValExpr,    // value is what the expression computes
};

struct RegRule {
  RuleKind kind = RuleKind::Same;
  uint8_t reg = 0;
  int64_t off = 0;
  uint32_t expr = 0;  // index into CfiTable::expr()
};

struct CfaRule {
  bool is_expr = false;
  uint8_t reg = 7;
  int64_t off = 8;
  uint32_t expr = 0;
};

// The registers whose rules are kept, in this order in CfiRow::regs.
inline constexpr int kTrackedRegs[] = {16, 6, 3, 12, 13, 14, 15};
inline constexpr size_t kNumTracked = std::size(kTrackedRegs);

struct CfiRow {
  uint64_t start = 0, end = 0;
  CfaRule cfa;
  RegRule regs[kNumTracked];
  bool signal_frame = false;
};

class CfiTable {
 public:
  CfiTable() = default;
  // `eh` is owned (dwarf_cfi_end on destruction); `debug` belongs to a Dwarf the
  // module keeps open. Either may be null.
  CfiTable(Dwarf_CFI* eh, Dwarf_CFI* debug) : eh_(eh), debug_(debug) {}
  ~CfiTable();
  CfiTable(const CfiTable&) = delete;
  CfiTable& operator=(const CfiTable&) = delete;

  // The row for a file virtual address, or null if no FDE covers it.
  const CfiRow* find(uint64_t addr);
  std::span<const ExprOp> expr(uint32_t idx) const { return exprs_[idx]; }
  size_t rows_cached() const { return rows_.size(); }
  bool empty() const { return !eh_ && !debug_; }

 private:
  bool build_row(Dwarf_CFI* cfi, uint64_t addr, CfiRow& row);
  uint32_t intern_expr(const Dwarf_Op* ops, size_t n, bool drop_stack_value);

  Dwarf_CFI* eh_ = nullptr;
  Dwarf_CFI* debug_ = nullptr;
  std::vector<CfiRow> rows_;  // sorted by start, non-overlapping
  std::vector<std::vector<ExprOp>> exprs_;
  std::unordered_set<uint64_t> misses_;
};

}  // namespace kperf::sym

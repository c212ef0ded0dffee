// A small DWARF expression evaluator for CFI rules (CFA expressions such as the PLT's,
// DW_CFA_expression / val_expression register rules) over saved registers and a stack copy.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

namespace kperf::sym {

// One operation, as libdw decodes it (Dwarf_Op): `offset` is its byte offset in the
// expression, used to resolve DW_OP_skip / DW_OP_bra targets.
struct ExprOp {
  uint8_t atom = 0;
  uint64_t number = 0;
  uint64_t number2 = 0;
  uint64_t offset = 0;
};

struct ExprContext {
  const uint64_t* regs = nullptr;  // DWARF numbering 0..16
  uint32_t valid_mask = 0;         // bit i: regs[i] is known
  std::optional<uint64_t> cfa;     // for DW_OP_call_frame_cfa
  // Reads 8 bytes at an address; false if outside what is readable.
  std::function<bool(uint64_t addr, uint64_t& out)> read_u64;
};

struct ExprResult {
  uint64_t value = 0;
  bool is_value = false;  // ended with DW_OP_stack_value: value, not a location
};

// Evaluates `ops`; nullopt on an unsupported op, stack underflow, unknown register,
// failed memory read, or more than 256 steps.
std::optional<ExprResult> eval_expr(std::span<const ExprOp> ops, const ExprContext& ctx);

}  // namespace kperf::sym

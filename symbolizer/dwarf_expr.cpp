// eval_expr: a stack machine for the DWARF operations that appear in x86-64 CFI.
#include "symbolizer/dwarf_expr.hpp"

#include <dwarf.h>

namespace kperf::sym {

std::optional<ExprResult> eval_expr(std::span<const ExprOp> ops, const ExprContext& ctx) {
  uint64_t stack[64];
  size_t sp = 0;
  auto push = [&](uint64_t v) {
    if (sp >= 64) return false;
    stack[sp++] = v;
    return true;
  };
  auto reg = [&](uint64_t r, uint64_t& out) {
    if (r > 16 || !(ctx.valid_mask & (1u << r))) return false;
    out = ctx.regs[r];
    return true;
  };
  bool is_value = false;
  size_t steps = 0;
  for (size_t i = 0; i < ops.size(); ++i) {
    if (++steps > 256) return std::nullopt;
    const ExprOp& op = ops[i];
    uint8_t a = op.atom;
    if (a >= DW_OP_lit0 && a <= DW_OP_lit31) {
      if (!push(a - DW_OP_lit0)) return std::nullopt;
      continue;
    }
    if (a >= DW_OP_breg0 && a <= DW_OP_breg31) {
      uint64_t v;
      if (!reg(a - DW_OP_breg0, v) || !push(v + op.number)) return std::nullopt;
      continue;
    }
    if (a >= DW_OP_reg0 && a <= DW_OP_reg31) {
      uint64_t v;  // a register location: its value (as a value)
      if (!reg(a - DW_OP_reg0, v) || !push(v)) return std::nullopt;
      is_value = true;
      continue;
    }
    auto binary = [&](auto f) {
      if (sp < 2) return false;
      uint64_t b = stack[--sp];
      uint64_t x = stack[sp - 1];
      stack[sp - 1] = f(x, b);
      return true;
    };
    bool ok = true;
    switch (a) {
      case DW_OP_addr:
      case DW_OP_const1u:
      case DW_OP_const2u:
      case DW_OP_const4u:
      case DW_OP_const8u:
      case DW_OP_constu: ok = push(op.number); break;
      case DW_OP_const1s: ok = push(uint64_t(int64_t(int8_t(op.number)))); break;
      case DW_OP_const2s: ok = push(uint64_t(int64_t(int16_t(op.number)))); break;
      case DW_OP_const4s: ok = push(uint64_t(int64_t(int32_t(op.number)))); break;
      case DW_OP_const8s:
      case DW_OP_consts: ok = push(op.number); break;
      case DW_OP_bregx: {
        uint64_t v;
        ok = reg(op.number, v) && push(v + op.number2);
        break;
      }
      case DW_OP_regx: {
        uint64_t v;
        ok = reg(op.number, v) && push(v);
        is_value = true;
        break;
      }
      case DW_OP_call_frame_cfa: ok = ctx.cfa && push(*ctx.cfa); break;
      case DW_OP_dup: ok = sp >= 1 && push(stack[sp - 1]); break;
      case DW_OP_drop: ok = sp >= 1 && (--sp, true); break;
      case DW_OP_over: ok = sp >= 2 && push(stack[sp - 2]); break;
      case DW_OP_pick: ok = op.number < sp && push(stack[sp - 1 - op.number]); break;
      case DW_OP_swap:
        ok = sp >= 2;
        if (ok) std::swap(stack[sp - 1], stack[sp - 2]);
        break;
      case DW_OP_rot:
        ok = sp >= 3;
        if (ok) {
          uint64_t t = stack[sp - 1];
          stack[sp - 1] = stack[sp - 2];
          stack[sp - 2] = stack[sp - 3];
          stack[sp - 3] = t;
        }
        break;
      case DW_OP_deref: {
        uint64_t v;
        ok = sp >= 1 && ctx.read_u64 && ctx.read_u64(stack[sp - 1], v);
        if (ok) stack[sp - 1] = v;
        break;
      }
      case DW_OP_deref_size: {
        uint64_t v;
        ok = sp >= 1 && op.number >= 1 && op.number <= 8 && ctx.read_u64 && ctx.read_u64(stack[sp - 1], v);
        if (ok) stack[sp - 1] = op.number == 8 ? v : v & ((uint64_t(1) << (8 * op.number)) - 1);
        break;
      }
      case DW_OP_abs:
        ok = sp >= 1;
        if (ok && int64_t(stack[sp - 1]) < 0) stack[sp - 1] = -stack[sp - 1];
        break;
      case DW_OP_neg:
        ok = sp >= 1;
        if (ok) stack[sp - 1] = -stack[sp - 1];
        break;
      case DW_OP_not:
        ok = sp >= 1;
        if (ok) stack[sp - 1] = ~stack[sp - 1];
        break;
      case DW_OP_plus_uconst:
        ok = sp >= 1;
        if (ok) stack[sp - 1] += op.number;
        break;
      case DW_OP_and: ok = binary([](uint64_t x, uint64_t y) { return x & y; }); break;
      case DW_OP_or: ok = binary([](uint64_t x, uint64_t y) { return x | y; }); break;
      case DW_OP_xor: ok = binary([](uint64_t x, uint64_t y) { return x ^ y; }); break;
      case DW_OP_plus: ok = binary([](uint64_t x, uint64_t y) { return x + y; }); break;
      case DW_OP_minus: ok = binary([](uint64_t x, uint64_t y) { return x - y; }); break;
      case DW_OP_mul: ok = binary([](uint64_t x, uint64_t y) { return x * y; }); break;
      case DW_OP_shl: ok = binary([](uint64_t x, uint64_t y) { return y >= 64 ? 0 : x << y; }); break;
      case DW_OP_shr: ok = binary([](uint64_t x, uint64_t y) { return y >= 64 ? 0 : x >> y; }); break;
      case DW_OP_shra:
        ok = binary([](uint64_t x, uint64_t y) {
          return uint64_t(y >= 64 ? (int64_t(x) < 0 ? -1 : 0) : int64_t(x) >> y);
        });
        break;
      case DW_OP_div:
        ok = sp >= 2 && stack[sp - 1] != 0 &&
             !(int64_t(stack[sp - 1]) == -1 && stack[sp - 2] == uint64_t(INT64_MIN)) &&
             binary([](uint64_t x, uint64_t y) { return uint64_t(int64_t(x) / int64_t(y)); });
        break;
      case DW_OP_mod:
        ok = sp >= 2 && stack[sp - 1] != 0 && binary([](uint64_t x, uint64_t y) { return x % y; });
        break;
      case DW_OP_eq: ok = binary([](uint64_t x, uint64_t y) -> uint64_t { return x == y; }); break;
      case DW_OP_ne: ok = binary([](uint64_t x, uint64_t y) -> uint64_t { return x != y; }); break;
      case DW_OP_lt: ok = binary([](uint64_t x, uint64_t y) -> uint64_t { return int64_t(x) < int64_t(y); }); break;
      case DW_OP_gt: ok = binary([](uint64_t x, uint64_t y) -> uint64_t { return int64_t(x) > int64_t(y); }); break;
      case DW_OP_le: ok = binary([](uint64_t x, uint64_t y) -> uint64_t { return int64_t(x) <= int64_t(y); }); break;
      case DW_OP_ge: ok = binary([](uint64_t x, uint64_t y) -> uint64_t { return int64_t(x) >= int64_t(y); }); break;
      case DW_OP_nop: break;
      case DW_OP_stack_value: is_value = true; break;
      case DW_OP_skip:
      case DW_OP_bra: {
        bool take = true;
        if (a == DW_OP_bra) {
          ok = sp >= 1;
          if (!ok) break;
          take = stack[--sp] != 0;
        }
        if (!take) break;
        uint64_t target = op.offset + 3 + uint64_t(int64_t(int16_t(op.number)));
        size_t j = 0;
        while (j < ops.size() && ops[j].offset != target) ++j;
        if (j == ops.size()) {
          // Jumping to the end of the expression ends it.
          uint64_t end = ops.back().offset;
          ok = target > end;
          i = ops.size();
          break;
        }
        i = j - 1;  // the loop's ++i lands on j
        break;
      }
      default: ok = false; break;
    }
    if (!ok) return std::nullopt;
  }
  if (sp == 0) return std::nullopt;
  return ExprResult{stack[sp - 1], is_value};
}

}  // namespace kperf::sym

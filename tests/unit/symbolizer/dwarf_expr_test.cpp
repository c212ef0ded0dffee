// DWARF expression evaluator: the PLT CFA expression, arithmetic, branches, memory reads
// and every failure mode returning nullopt instead of crashing.
#include <dwarf.h>
#include <gtest/gtest.h>

#include <map>

#include "symbolizer/dwarf_expr.hpp"

namespace {

using kperf::sym::eval_expr;
using kperf::sym::ExprContext;
using kperf::sym::ExprOp;

std::vector<ExprOp> plt_cfa(uint8_t lit) {
  // DW_OP_breg7 rsp+8; DW_OP_breg16 rip+0; DW_OP_lit15; DW_OP_and; DW_OP_litN; DW_OP_ge;
  // DW_OP_lit3; DW_OP_shl; DW_OP_plus
  return {{DW_OP_breg7, 8, 0, 0},   {DW_OP_breg16, 0, 0, 2}, {DW_OP_lit15, 0, 0, 4},
          {DW_OP_and, 0, 0, 5},     {lit, 0, 0, 6},          {DW_OP_ge, 0, 0, 7},
          {DW_OP_lit3, 0, 0, 8},    {DW_OP_shl, 0, 0, 9},    {DW_OP_plus, 0, 0, 10}};
}

TEST(DwarfExpr, PltCfaExpressionDependsOnOffsetInEntry) {
  uint64_t regs[17] = {};
  regs[7] = 0x7ffd0000;
  ExprContext ctx{regs, (1u << 17) - 1, std::nullopt, {}};
  for (uint64_t off = 0; off < 16; ++off) {
    regs[16] = 0x401020 + off;
    auto r = eval_expr(plt_cfa(DW_OP_lit11), ctx);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->value, 0x7ffd0000 + (off >= 11 ? 16u : 8u)) << "offset " << off;
    EXPECT_FALSE(r->is_value);
    auto r10 = eval_expr(plt_cfa(DW_OP_lit10), ctx);
    ASSERT_TRUE(r10);
    EXPECT_EQ(r10->value, 0x7ffd0000 + (off >= 10 ? 16u : 8u)) << "offset " << off;
  }
}

TEST(DwarfExpr, CallFrameCfaDerefAndStackValue) {
  uint64_t regs[17] = {};
  std::map<uint64_t, uint64_t> mem{{0x1000 - 16, 0xabcdef}};
  ExprContext ctx{regs, 0, 0x1000, [&](uint64_t a, uint64_t& v) {
                    auto it = mem.find(a);
                    if (it == mem.end()) return false;
                    v = it->second;
                    return true;
                  }};
  std::vector<ExprOp> ops{{DW_OP_call_frame_cfa, 0, 0, 0}, {DW_OP_consts, uint64_t(-16), 0, 1}, {DW_OP_plus, 0, 0, 3},
                          {DW_OP_deref, 0, 0, 4}};
  auto r = eval_expr(ops, ctx);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->value, 0xabcdefu);
  ops.push_back({DW_OP_stack_value, 0, 0, 5});
  r = eval_expr(ops, ctx);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->is_value);
  // A read outside known memory fails.
  std::vector<ExprOp> bad{{DW_OP_call_frame_cfa, 0, 0, 0}, {DW_OP_deref, 0, 0, 1}};
  EXPECT_FALSE(eval_expr(bad, ctx));
}

TEST(DwarfExpr, BranchesAndArithmetic) {
  ExprContext ctx{nullptr, 0, std::nullopt, {}};
  // lit1; bra +1 (skip the lit5 at offset 4); lit5; lit7 -> 7 on top... layout by offsets:
  // 0: lit1, 1: bra (3 bytes) -> target 1+3+1 = 5, 4: lit5, 5: lit7
  std::vector<ExprOp> ops{{DW_OP_lit1, 0, 0, 0}, {DW_OP_bra, 1, 0, 1}, {DW_OP_lit5, 0, 0, 4}, {DW_OP_lit7, 0, 0, 5}};
  auto r = eval_expr(ops, ctx);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->value, 7u);
  // Not taken: lit0 consumed by bra, lit5 then lit7 remain -> top 7, below 5; add them.
  ops[0].atom = DW_OP_lit0;
  ops.push_back({DW_OP_plus, 0, 0, 6});
  r = eval_expr(ops, ctx);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->value, 12u);

  std::vector<ExprOp> arith{{DW_OP_lit20, 0, 0, 0}, {DW_OP_lit3, 0, 0, 1}, {DW_OP_minus, 0, 0, 2},
                            {DW_OP_lit2, 0, 0, 3},  {DW_OP_mul, 0, 0, 4},  {DW_OP_plus_uconst, 100, 0, 5}};
  r = eval_expr(arith, ctx);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->value, 134u);
}

TEST(DwarfExpr, FailuresAreNullopt) {
  uint64_t regs[17] = {};
  ExprContext ctx{regs, 1u << 7, std::nullopt, {}};
  EXPECT_FALSE(eval_expr(std::vector<ExprOp>{{DW_OP_plus, 0, 0, 0}}, ctx));                         // underflow
  EXPECT_FALSE(eval_expr(std::vector<ExprOp>{{DW_OP_breg6, 0, 0, 0}}, ctx));                        // rbp unknown
  EXPECT_FALSE(eval_expr(std::vector<ExprOp>{{DW_OP_call_frame_cfa, 0, 0, 0}}, ctx));               // no CFA
  EXPECT_FALSE(eval_expr(std::vector<ExprOp>{{DW_OP_lit1, 0, 0, 0}, {DW_OP_lit0, 0, 0, 1}, {DW_OP_div, 0, 0, 2}}, ctx));
  EXPECT_FALSE(eval_expr(std::vector<ExprOp>{{0xe0 /* DW_OP_GNU_push_tls_address-ish */, 0, 0, 0}}, ctx));
  EXPECT_FALSE(eval_expr(std::vector<ExprOp>{}, ctx));
  // An endless loop (skip -3 jumps to itself) is cut off.
  EXPECT_FALSE(eval_expr(std::vector<ExprOp>{{DW_OP_skip, uint64_t(-3) & 0xffff, 0, 0}}, ctx));
}

}  // namespace

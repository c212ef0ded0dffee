// Finds the layout facts in the interpreter's machine code; see vm_code_layout.hpp.
// The VM's C entry points (vm_pcall, vm_call, vm_cpcall, vm_resume) all run
//   mov DISPATCH, L:RB->glref ... add DISPATCH, GG_G2DISP
//   mov L:RB->cframe, rsp; mov [DISPATCH+DISPATCH_GL(cur_L)], L:RB; set_vmstate INTERP
// (vm_cpcall also `mov KBASE, L:RB->stack; sub KBASE, L:RB->top`); lj_trace_hot & co get
// `lea CARG1, [DISPATCH+GG_DISP2J]`, BC_JLOOP `mov RA, [DISPATCH+DISPATCH_J(trace)]`
// followed by `mov TRACE:RD, [RA+RD*8]` (RD*4 with 32-bit references).
#include "profiler/luajit/vm_code_layout.hpp"

#include <map>
#include <optional>
#include <vector>

#include "profiler/luajit/x86_decode.hpp"

namespace kperf::prof::lj {
namespace {

constexpr int kR14 = 14, kRsp = 4, kRdi = 7, kRdx = 2, kRbp = 5;

// The value seen most often (ties: the smallest); nullopt if none.
std::optional<std::int64_t> most_common(const std::map<std::int64_t, int>& counts, int at_least) {
  std::optional<std::int64_t> best;
  int n = 0;
  for (const auto& [v, c] : counts)
    if (c > n) best = v, n = c;
  if (n < at_least) return std::nullopt;
  return best;
}

}  // namespace

CodeLayout read_vm_code_layout(std::span<const std::uint8_t> code) {
  CodeLayout out;
  const std::uint8_t* p = code.data();
  const std::size_t n = code.size();
  auto at = [&](std::size_t i) { return decode_x86(p + i, n - i); };

  // 1. add r14, imm32 (GG_G2DISP): at every C entry of the VM.
  std::map<std::int64_t, int> adds;
  std::vector<std::size_t> add_at;
  bool w = true;
  for (std::size_t i = 0; i < n; ++i) {
    const X86Insn in = at(i);
    if (in.len && in.op == 0x81 && in.reg == 0 && !in.mem && in.base == kR14 && in.imm >= 0x100 && in.imm < 0x10000 &&
        in.imm % 8 == 0) {
      ++adds[in.imm];
      add_at.push_back(i);
      w = in.rex_w;
    }
  }
  const auto disp = most_common(adds, 2);
  if (!disp) {
    out.error = "no `add DISPATCH, GG_G2DISP` in the interpreter code";
    return out;
  }
  out.dispatch_from_G = static_cast<std::uint32_t>(*disp);
  out.gc64 = w;
  const std::int64_t D = *disp;

  // 2. Around each: glref load before, cframe / cur_L / vmstate stores after (LuaJIT
  // 2.0's vm_call stores cframe before it, and has no cur_L).
  std::map<std::int64_t, int> glref, cframe, cur_L, vmstate;
  for (std::size_t a : add_at) {
    if (at(a).imm != D) continue;
    int L = -1;
    for (std::size_t j = a >= 24 ? a - 24 : 0; j < a; ++j) {
      const X86Insn in = at(j);
      if (in.len && j + in.len <= a && in.op == 0x8b && in.reg == kR14 && in.mem && in.base >= 0 &&
          in.index < 0 && in.disp > 0 && in.disp < 0x40) {
        L = in.base;
        ++glref[in.disp];
      }
    }
    if (L < 0) continue;
    for (std::size_t j = a >= 16 ? a - 16 : 0; j < a; ++j) {
      const X86Insn in = at(j);
      if (in.len && j + in.len <= a && in.op == 0x89 && in.rex_w && in.mem && in.base == L && in.reg == kRsp &&
          in.index < 0 && in.disp > 0 && in.disp < 0x80)
        ++cframe[in.disp];
    }
    std::size_t j = a + at(a).len;
    for (int k = 0; k < 6 && j < n; ++k) {
      const X86Insn in = at(j);
      if (!in.len) break;
      if (in.op == 0x89 && in.mem && in.base == L && in.reg == kRsp && in.index < 0) ++cframe[in.disp];
      if (in.op == 0x89 && in.mem && in.base == kR14 && in.reg == L && in.index < 0) ++cur_L[in.disp + D];
      if (in.op == 0xc7 && in.mem && in.base == kR14 && in.reg == 0 && in.imm == -1) {
        ++vmstate[in.disp + D];
        break;
      }
      j += in.len;
    }
  }
  const auto g = most_common(glref, 1), cf = most_common(cframe, 1), cl = most_common(cur_L, 1),
             vs = most_common(vmstate, 1);
  if (!g || !cf || !vs) {
    out.error = !g ? "no `mov DISPATCH, L->glref` before the dispatch setup"
                   : !vs ? "no `set_vmstate INTERP` after the dispatch setup"
                         : "no `mov L->cframe, rsp` around the dispatch setup";
    return out;
  }
  out.L_glref = static_cast<std::uint32_t>(*g);
  out.L_cframe = static_cast<std::uint32_t>(*cf);
  out.G_vmstate = static_cast<std::uint32_t>(*vs);
  if (cl) {
    out.G_cur_L = static_cast<std::uint32_t>(*cl);
  } else {
    // LuaJIT 2.0: no cur_L. BC_JLOOP enters a trace with `mov L:RB, SAVE_L;
    // mov [DISPATCH+jit_base], BASE; mov [DISPATCH+jit_L], L:RB` (32-bit references).
    std::map<std::int64_t, int> jit_L, save_L;
    for (std::size_t i = 0; i < n; ++i) {
      const X86Insn in = at(i);
      if (!in.len || in.op != 0x89 || !in.mem || in.base != kR14 || in.index >= 0 || in.reg != kRdx) continue;
      const X86Insn nx = at(i + in.len);
      if (!nx.len || nx.op != 0x89 || !nx.mem || nx.base != kR14 || nx.index >= 0 || nx.reg != kRbp ||
          nx.disp + 4 != in.disp)
        continue;
      ++jit_L[nx.disp + D];
      for (std::size_t j = i >= 8 ? i - 8 : 0; j < i; ++j) {
        const X86Insn sl = at(j);
        if (sl.len && j + sl.len == i && sl.op == 0x8b && sl.mem && sl.base == kRsp && sl.index < 0 &&
            sl.reg == kRbp)
          ++save_L[sl.disp];
      }
    }
    const auto jl = most_common(jit_L, 1), sl = most_common(save_L, 1);
    if (out.gc64 || !jl || !sl) {
      out.error = "no `mov [DISPATCH+cur_L], L` after the dispatch setup, and no LuaJIT 2.0 trace entry "
                  "(`mov [DISPATCH+jit_L], L`)";
      return out;
    }
    out.lua20 = true;
    out.G_jit_L = static_cast<std::uint32_t>(*jl);
    out.cframe_L = static_cast<std::uint32_t>(*sl);
  }
  const std::int64_t thread_field = cl ? *cl : out.G_jit_L;

  // 3. stack and top: `mov r, [L+stack]; sub r, [L+top]` (vm_cpcall: just before its
  // dispatch setup in 2.1; LuaJIT 2.0's vm_cpcall has none, so anywhere there).
  std::map<std::int64_t, int> stack_top;  // stack << 16 | top
  auto stack_top_at = [&](std::size_t i) {
    const X86Insn in = at(i);
    if (!in.len || in.op != 0x8b || !in.mem || in.base < 0 || in.base == kR14 || in.base == kRsp ||
        in.index >= 0 || in.disp <= 0 || in.disp >= 0x80)
      return;
    const X86Insn nx = at(i + in.len);
    if (nx.len && nx.op == 0x2b && nx.mem && nx.base == in.base && nx.reg == in.reg && nx.index < 0 &&
        nx.disp > 0 && nx.disp < in.disp && static_cast<std::uint32_t>(nx.disp) > out.L_glref)
      ++stack_top[in.disp << 16 | nx.disp];
  };
  for (std::size_t a : add_at)
    for (std::size_t i = a >= 40 ? a - 40 : 0; i < a; ++i) stack_top_at(i);
  if (out.lua20)
    for (std::size_t i = 0; i < n; ++i) stack_top_at(i);
  std::map<std::int64_t, int> jd, jtrace;
  for (std::size_t i = 0; i < n; ++i) {
    const X86Insn in = at(i);
    if (!in.len) continue;
    // lea CARG1, [DISPATCH + GG_DISP2J]: J lies after G's fields, before the dispatch table.
    if (in.op == 0x8d && in.mem && in.base == kR14 && in.reg == kRdi && in.index < 0 && in.disp + D > thread_field &&
        in.disp < 0)
      ++jd[in.disp + D];
    // mov RA, [DISPATCH + DISPATCH_J(trace)]; mov TRACE:RD, [RA + RD * refsize]
    if (in.op == 0x8b && in.mem && in.base == kR14 && in.index < 0 && in.disp < 0 && in.reg != kR14) {
      const X86Insn nx = at(i + in.len);
      if (nx.len && nx.op == 0x8b && nx.mem && nx.base == in.reg && nx.index >= 0 && nx.disp == 0 &&
          nx.scale == (out.gc64 ? 8 : 4))
        ++jtrace[in.disp + D];
    }
  }
  if (const auto st = most_common(stack_top, 1)) {
    out.L_stack = static_cast<std::uint32_t>(*st >> 16);
    out.L_top = static_cast<std::uint32_t>(*st & 0xffff);
  } else {
    out.error = "no `mov KBASE, L->stack; sub KBASE, L->top` (vm_cpcall)";
    return out;
  }
  if (const auto j = most_common(jd, 1)) {
    out.J_from_G = static_cast<std::uint32_t>(*j);
    if (const auto t = most_common(jtrace, 1); t && *t > *j && *t - *j < 0x400)
      out.J_trace = static_cast<std::uint32_t>(*t - *j);
  }
  out.ok = true;
  return out;
}

}  // namespace kperf::prof::lj

// Reads a LuaJIT build's layout from its interpreter's machine code (lj_vm.S, generated
// by DynASM from vm_x64.dasc / vm_x86.dasc, so the same instruction forms in every build
// and with every C compiler): the dispatch table's offset from global_State
// (`add r14, GG_G2DISP`), the G fields the VM addresses through DISPATCH (cur_L, or
// LuaJIT 2.0's jit_L; vmstate, J, J->trace) and the lua_State fields it loads (glref,
// cframe, stack, top).
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace kperf::prof::lj {

struct CodeLayout {
  bool ok = false;
  std::string error;  // what could not be found (one phrase), when !ok
  bool gc64 = true;   // 64-bit GC references (DISPATCH is r14, not r14d)
  std::uint32_t dispatch_from_G = 0;
  std::uint32_t L_glref = 0, L_cframe = 0, L_stack = 0, L_top = 0;
  std::uint32_t G_vmstate = 0, G_cur_L = 0;
  // LuaJIT 2.0 has no cur_L (G_cur_L 0): jit_L is the thread running a trace (NULL
  // otherwise), and the interpreter's thread is only in its C frame (cframe_L, from
  // BC_JLOOP's `mov L:RB, SAVE_L`).
  bool lua20 = false;
  std::uint32_t G_jit_L = 0, cframe_L = 0;
  std::uint32_t J_from_G = 0, J_trace = 0;  // 0: not found (no JIT, or not recognised)
};

// code: the interpreter's bytes ([vm_lo, vm_hi) of the file).
CodeLayout read_vm_code_layout(std::span<const std::uint8_t> code);

}  // namespace kperf::prof::lj

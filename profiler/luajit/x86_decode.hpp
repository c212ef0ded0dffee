// Decodes the few x86-64 instruction forms the LuaJIT layout finder looks for in the
// interpreter's machine code (mov/lea/add/sub/cmp with a ModRM operand, mov imm): enough
// to read `add r14, GG_G2DISP`, `mov [r14 + disp32], reg` and friends. Anything else
// decodes as len 0.
#pragma once

#include <cstddef>
#include <cstdint>

namespace kperf::prof::lj {

struct X86Insn {
  unsigned len = 0;       // bytes; 0: not one of the forms decoded here
  std::uint8_t op = 0;    // primary opcode (0xb8 for mov r, imm whatever the register)
  bool rex_w = false;     // 64-bit operand size
  int reg = -1;           // ModRM.reg (with REX.R): a register, or the /digit of 0x81/0x83/0xc7
  bool mem = false;       // the r/m operand is memory
  int base = -1;          // memory base register (with REX.B), -1 none, -2 rip; r/m register if !mem
  int index = -1;         // memory index register, -1 none
  int scale = 1;
  std::int64_t disp = 0;  // memory displacement (sign-extended)
  std::int64_t imm = 0;   // immediate (sign-extended), if the form has one
};

// Register numbers: rax 0, rcx 1, rdx 2, rbx 3, rsp 4, rbp 5, rsi 6, rdi 7, r8..r15 8..15.
X86Insn decode_x86(const std::uint8_t* p, std::size_t n);

}  // namespace kperf::prof::lj

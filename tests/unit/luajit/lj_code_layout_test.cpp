// Unit tests of the x86-64 decoder and of reading a LuaJIT layout from interpreter code:
// instruction bytes as LuaJIT's DynASM emits them (taken from objdump of the peer
// builds), assembled into a fake interpreter; and what is refused when a form is missing.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "profiler/luajit/vm_code_layout.hpp"
#include "profiler/luajit/x86_decode.hpp"

using namespace kperf::prof::lj;

namespace {

X86Insn dec(std::vector<std::uint8_t> b) { return decode_x86(b.data(), b.size()); }

TEST(X86Decode, AddR14Imm32) {
  const auto in = dec({0x49, 0x81, 0xc6, 0xa0, 0x0f, 0x00, 0x00});  // add r14, 0xfa0
  EXPECT_EQ(in.len, 7u);
  EXPECT_EQ(in.op, 0x81);
  EXPECT_TRUE(in.rex_w);
  EXPECT_EQ(in.reg, 0);
  EXPECT_FALSE(in.mem);
  EXPECT_EQ(in.base, 14);
  EXPECT_EQ(in.imm, 0xfa0);
  const auto d = dec({0x41, 0x81, 0xc6, 0x28, 0x0c, 0x00, 0x00});  // add r14d, 0xc28
  EXPECT_FALSE(d.rex_w);
  EXPECT_EQ(d.imm, 0xc28);
}

TEST(X86Decode, MemoryOperands) {
  // mov [r14 - 0xe30], rbp
  auto in = dec({0x49, 0x89, 0xae, 0xd0, 0xf1, 0xff, 0xff});
  EXPECT_EQ(in.len, 7u);
  EXPECT_EQ(in.op, 0x89);
  EXPECT_TRUE(in.mem);
  EXPECT_EQ(in.base, 14);
  EXPECT_EQ(in.reg, 5);
  EXPECT_EQ(in.disp, -0xe30);
  // mov dword [r14 - 0xee8], -1
  in = dec({0x41, 0xc7, 0x86, 0x18, 0xf1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff});
  EXPECT_EQ(in.len, 11u);
  EXPECT_EQ(in.imm, -1);
  EXPECT_EQ(in.disp, -0xee8);
  // mov rax, [rcx + rax*8]
  in = dec({0x48, 0x8b, 0x04, 0xc1});
  EXPECT_EQ(in.len, 4u);
  EXPECT_EQ(in.base, 1);
  EXPECT_EQ(in.index, 0);
  EXPECT_EQ(in.scale, 8);
  // lea r15, [rsp + 1]
  in = dec({0x4c, 0x8d, 0x7c, 0x24, 0x01});
  EXPECT_EQ(in.len, 5u);
  EXPECT_EQ(in.reg, 15);
  EXPECT_EQ(in.base, 4);
  EXPECT_EQ(in.index, -1);
  EXPECT_EQ(in.disp, 1);
  // mov eax, [rip + 0x100]
  in = dec({0x8b, 0x05, 0x00, 0x01, 0x00, 0x00});
  EXPECT_EQ(in.base, -2);
  EXPECT_EQ(in.disp, 0x100);
}

TEST(X86Decode, RefusesOtherFormsAndTruncation) {
  EXPECT_EQ(dec({0x0f, 0x84, 0x82, 0x00, 0x00, 0x00}).len, 0u);  // je rel32
  EXPECT_EQ(dec({0xc3}).len, 0u);                                 // ret
  EXPECT_EQ(dec({0x49, 0x81, 0xc6, 0xa0}).len, 0u);               // add r14 cut short
  EXPECT_EQ(dec({}).len, 0u);
}

// vm_cpcall's setup as luajit2 2.1-20201027 (GC64) has it, then BC_JLOOP's trace load
// and lj_trace_hot's J argument.
std::vector<std::uint8_t> gc64_vm() {
  return {
      0x4c, 0x8b, 0x7d, 0x38,                          // mov r15, [rbp+0x38]   L->stack
      0x4c, 0x2b, 0x7d, 0x28,                          // sub r15, [rbp+0x28]   L->top
      0x4c, 0x8b, 0x75, 0x10,                          // mov r14, [rbp+0x10]   L->glref
      0x49, 0x81, 0xc6, 0xa0, 0x0f, 0x00, 0x00,        // add r14, 0xfa0
      0x48, 0x89, 0x65, 0x50,                          // mov [rbp+0x50], rsp   L->cframe
      0x49, 0x89, 0xae, 0xd0, 0xf1, 0xff, 0xff,        // mov [r14-0xe30], rbp  cur_L
      0x41, 0xc7, 0x86, 0x18, 0xf1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,  // vmstate = -1
      0x90,
      0x4c, 0x8b, 0x75, 0x10,                          // the second entry (vm_pcall)
      0x49, 0x81, 0xc6, 0xa0, 0x0f, 0x00, 0x00,
      0x48, 0x89, 0x65, 0x50,
      0x49, 0x89, 0xae, 0xd0, 0xf1, 0xff, 0xff,
      0x41, 0xc7, 0x86, 0x18, 0xf1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
      0x49, 0x8b, 0x8e, 0xc0, 0xf4, 0xff, 0xff,        // mov rcx, [r14-0xb40]  J->trace
      0x48, 0x8b, 0x04, 0xc1,                          // mov rax, [rcx+rax*8]
      0x49, 0x8d, 0xbe, 0x40, 0xf3, 0xff, 0xff,        // lea rdi, [r14-0xcc0]  J
      0xc3,
  };
}

TEST(VmCodeLayout, ReadsTheGc64EntrySequence) {
  const auto code = gc64_vm();
  const CodeLayout c = read_vm_code_layout(code);
  ASSERT_TRUE(c.ok) << c.error;
  EXPECT_TRUE(c.gc64);
  EXPECT_EQ(c.dispatch_from_G, 0xfa0u);
  EXPECT_EQ(c.L_glref, 0x10u);
  EXPECT_EQ(c.L_cframe, 0x50u);
  EXPECT_EQ(c.L_stack, 0x38u);
  EXPECT_EQ(c.L_top, 0x28u);
  EXPECT_EQ(c.G_cur_L, 0x170u);
  EXPECT_EQ(c.G_vmstate, 0xb8u);
  EXPECT_EQ(c.J_from_G, 0x2e0u);
  EXPECT_EQ(c.J_trace, 0x180u);
}

TEST(VmCodeLayout, SaysWhatIsMissing) {
  // No cur_L store after the dispatch setup (LuaJIT 2.0's entries).
  std::vector<std::uint8_t> code = gc64_vm();
  for (std::size_t i = 0; i + 3 < code.size(); ++i)
    if (code[i] == 0x49 && code[i + 1] == 0x89 && code[i + 2] == 0xae) code[i + 1] = 0x8b;  // a load, not a store
  CodeLayout c = read_vm_code_layout(code);
  EXPECT_FALSE(c.ok);
  EXPECT_NE(c.error.find("cur_L"), std::string::npos) << c.error;
  // No dispatch setup at all: not a LuaJIT interpreter.
  const std::vector<std::uint8_t> junk(4096, 0x90);
  c = read_vm_code_layout(junk);
  EXPECT_FALSE(c.ok);
  EXPECT_NE(c.error.find("GG_G2DISP"), std::string::npos) << c.error;
}

}  // namespace

// LuaJIT 2.0.5's interpreter (32-bit references, no cur_L), bytes as its lj_vm.o has them:
// vm_cpcall's stack/top far from any dispatch setup, vm_call storing cframe before it,
// BC_JLOOP entering a trace (jit_base, jit_L from SAVE_L) and lj_trace_hot's J.
std::vector<std::uint8_t> lua20_vm() {
  std::vector<std::uint8_t> code{
      0x44, 0x8b, 0x7d, 0x24,                    // mov r15d, [rbp+0x24]  L->stack
      0x44, 0x2b, 0x7d, 0x18,                    // sub r15d, [rbp+0x18]  L->top
  };
  code.insert(code.end(), 64, 0x90);
  for (int entry = 0; entry < 2; ++entry)
    code.insert(code.end(), {
                                0x48, 0x89, 0x65, 0x30,                    // mov [rbp+0x30], rsp  L->cframe
                                0x44, 0x8b, 0x75, 0x08,                    // mov r14d, [rbp+0x8]  L->glref
                                0x41, 0x81, 0xc6, 0xb8, 0x0b, 0x00, 0x00,  // add r14d, 0xbb8
                                0x41, 0xc7, 0x86, 0x30, 0xf5, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,  // vmstate -1
                                0x8b, 0x55, 0x10,                          // mov edx, [rbp+0x10]
                            });
  code.insert(code.end(), {
                              0x41, 0x8b, 0x8e, 0x10, 0xf7, 0xff, 0xff,  // mov ecx, [r14-0x8f0]  J->trace
                              0x8b, 0x04, 0x81,                          // mov eax, [rcx+rax*4]
                              0x48, 0x8b, 0x40, 0x40,                    // mov rax, [rax+0x40]
                              0x8b, 0x6c, 0x24, 0x18,                    // mov ebp, [rsp+0x18]  SAVE_L
                              0x41, 0x89, 0x96, 0x40, 0xf5, 0xff, 0xff,  // mov [r14-0xac0], edx  jit_base
                              0x41, 0x89, 0xae, 0x3c, 0xf5, 0xff, 0xff,  // mov [r14-0xac4], ebp  jit_L
                              0x41, 0x8d, 0xbe, 0xe0, 0xf5, 0xff, 0xff,  // lea edi, [r14-0xa20]  J
                              0xc3,
                          });
  return code;
}

TEST(VmCodeLayout, ReadsLuajit20WithoutCurL) {
  const auto code = lua20_vm();
  const CodeLayout c = read_vm_code_layout(code);
  ASSERT_TRUE(c.ok) << c.error;
  EXPECT_FALSE(c.gc64);
  EXPECT_TRUE(c.lua20);
  EXPECT_EQ(c.dispatch_from_G, 0xbb8u);
  EXPECT_EQ(c.L_glref, 0x08u);
  EXPECT_EQ(c.L_cframe, 0x30u);
  EXPECT_EQ(c.L_stack, 0x24u);
  EXPECT_EQ(c.L_top, 0x18u);
  EXPECT_EQ(c.G_vmstate, 0xe8u);
  EXPECT_EQ(c.G_cur_L, 0u);
  EXPECT_EQ(c.G_jit_L, 0xf4u);
  EXPECT_EQ(c.cframe_L, 0x18u);
  EXPECT_EQ(c.J_from_G, 0x198u);
  EXPECT_EQ(c.J_trace, 0x130u);
  // Without BC_JLOOP's trace entry it is neither 2.1 nor 2.0: refused, saying so.
  auto cut = code;
  cut.resize(cut.size() - 22);
  const CodeLayout r = read_vm_code_layout(cut);
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("jit_L"), std::string::npos) << r.error;
}

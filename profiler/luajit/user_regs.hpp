// The user registers of one sample in DWARF numbering (x86_64: 0 rax, 1 rdx, 2 rcx,
// 3 rbx, 4 rsi, 5 rdi, 6 rbp, 7 rsp, 8..15 r8..r15, 16 rip), as the sampler delivers them.
#pragma once

#include <array>
#include <cstdint>

namespace kperf::prof::lj {

struct UserRegs {
  std::array<std::uint64_t, 17> r{};
  std::uint64_t rip() const { return r[16]; }
  std::uint64_t rsp() const { return r[7]; }
  std::uint64_t rdx() const { return r[1]; }  // LuaJIT interpreter: BASE
  std::uint64_t rbx() const { return r[3]; }  // LuaJIT interpreter: PC
  std::uint64_t r14() const { return r[14]; }  // LuaJIT interpreter: DISPATCH
};

}  // namespace kperf::prof::lj

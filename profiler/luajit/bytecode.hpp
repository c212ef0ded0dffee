// The few facts about LuaJIT 2.1 bytecode the frame namer needs (2.0's renumbered): opcode numbers,
// operand fields, A-operand modes and metamethods (lj_bc.h order, same in luajit2 and
// vanilla 2.1 on Debian 12), and debug.getinfo(f, "n")-style call-site naming.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "profiler/bpf/luajit_abi.h"
#include "profiler/luajit/proto_cache.hpp"

namespace kperf::prof::lj::bc {

enum Op : std::uint8_t {
  MOV = 18, KNIL = 44, UGET = 45, GGET = 54, TGETS = 57,
  CALLM = 65, CALL = 66, CALLMT = 67, CALLT = 68, ITERC = 69, ITERN = 70,
  FUNCF = 89, FUNCCW = 96,
};

inline std::uint8_t op(std::uint32_t i) { return static_cast<std::uint8_t>(i & 0xff); }

// A LuaJIT 2.0 instruction with its opcode renumbered as in 2.1, which inserted ISTYPE and
// ISNUM after ISF, TGETR after TGETB and TSETR after TSETM (operands are the same).
inline std::uint32_t from_lua20(std::uint32_t i) {
  const std::uint32_t o = i & 0xff;
  const std::uint32_t shift = o < 16 ? 0 : o <= 56 ? 2 : o <= 60 ? 3 : 4;  // ISF 15, TGETB 56, TSETM 60
  return (i & ~0xffu) | ((o + shift) & 0xff);
}
inline std::uint32_t a(std::uint32_t i) { return kperf_lj_bc_a(i); }
inline std::uint32_t b(std::uint32_t i) { return i >> 24; }
inline std::uint32_t c(std::uint32_t i) { return (i >> 16) & 0xff; }
inline std::uint32_t d(std::uint32_t i) { return i >> 16; }

enum class AMode { None, Dst, Base, Other };
AMode a_mode(std::uint8_t op);
bool is_call(std::uint8_t op);
// Metamethod name ("__index", "__add"...) an instruction may invoke, or nullptr.
const char* metamethod(std::uint8_t op);

// What debug.getinfo(f, "n").name gives for the function called by the instruction at
// bytecode position pos of the caller proto pt (a call: the name of how the callee slot
// was loaded — global, field/method, local, upvalue; another instruction: its
// metamethod). nullopt = no name ("?").
std::optional<std::string> call_site_name(RemoteMemory& mem, const Proto& pt, std::int64_t pos);

}  // namespace kperf::prof::lj::bc

// One frame of a Lua stack as the walker reports it, and its text for folded stacks
// (DESIGN.md: `NAME CHUNK:LINE`, `_[j]` inside traces, pseudo frames like `[lua:gc]`).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace kperf::prof::lj {

struct LuaFrame {
  enum class Kind : std::uint8_t { Lua, C, Fast, Pseudo };
  Kind kind = Kind::Lua;
  // The walker's frames point into what outlives a walk: its ProtoCache (chunk, call-site
  // names; see ProtoCache::release_retired), the layout (fast functions) or literals.
  std::string_view name = "?";  // call-site name; fast function: "string.find"; pseudo: "[lua:gc]"
  std::string_view chunk;       // Lua: chunk name without leading '@' / '='
  std::int32_t firstline = 0;
  std::int32_t line = 0;   // executing line (firstline when the PC is unknown)
  std::uint64_t func = 0;  // GCfunc address
  std::uint64_t cfunc = 0; // C function: its lua_CFunction, for native naming
  bool jit = false;        // running inside a compiled trace
  std::uint64_t return_pc = 0;  // a frame inlined into a trace: its return PC into the caller
  // Called from C through lua_call/lua_pcall/lua_resume (C or C-pcall frame link): on
  // the native stack, this Lua frame sits on top of a separate VM entry. The splicer
  // maps each native VM frame to the run of Lua frames ending at such a boundary.
  bool called_from_c = false;

  // Folded-stack text. lua_lines: the executing line instead of the first line.
  // C functions print as `NAME` if the caller set one (e.g. from the native
  // symbolizer), else `0xADDR`.
  // append_text appends it to out (no allocation once out has grown).
  std::string text(bool lua_lines = false) const;
  void append_text(std::string& out, bool lua_lines = false) const;
};

}  // namespace kperf::prof::lj

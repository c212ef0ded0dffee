// Folded-stack text of a Lua frame.
#include "profiler/luajit/lua_frame.hpp"

#include <fmt/format.h>

namespace kperf::prof::lj {
namespace {

// ';' separates frames and newlines end records in folded files: keep them out.
std::string clean(std::string s) {
  for (char& c : s)
    if (c == ';' || c == '\n' || c == '\r' || c == '\t') c = ' ';
  return s;
}

std::string chunk_text(const std::string& chunk) {
  // Source-string chunks (load("...")) are shown as lj_debug_shortname does.
  return clean(chunk);
}

}  // namespace

std::string LuaFrame::text(bool lua_lines) const {
  switch (kind) {
    case Kind::Lua:
      return fmt::format("{} {}:{}{}", clean(name), chunk_text(chunk), lua_lines ? line : firstline,
                         jit ? "_[j]" : "");
    case Kind::Fast:
      return fmt::format("{}{}", name, jit ? "_[j]" : "");
    case Kind::C:
      return name != "?" || cfunc == 0 ? clean(name) : fmt::format("0x{:x}", cfunc);
    case Kind::Pseudo:
      return name;
  }
  return name;
}

}  // namespace kperf::prof::lj

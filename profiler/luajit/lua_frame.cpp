// Folded-stack text of a Lua frame.
#include "profiler/luajit/lua_frame.hpp"

#include <fmt/format.h>

#include <iterator>

namespace kperf::prof::lj {
namespace {

// ';' separates frames and newlines end records in folded files: keep them out.
void append_clean(std::string& out, std::string_view s) {
  for (char c : s) out.push_back(c == ';' || c == '\n' || c == '\r' || c == '\t' ? ' ' : c);
}

}  // namespace

void LuaFrame::append_text(std::string& out, bool lua_lines) const {
  switch (kind) {
    case Kind::Lua:
      append_clean(out, name);
      out.push_back(' ');
      append_clean(out, chunk);
      fmt::format_to(std::back_inserter(out), ":{}{}", lua_lines ? line : firstline, jit ? "_[j]" : "");
      return;
    case Kind::Fast:
      out.append(name);
      if (jit) out.append("_[j]");
      return;
    case Kind::C:
      if (name != "?" || cfunc == 0)
        append_clean(out, name);
      else
        fmt::format_to(std::back_inserter(out), "0x{:x}", cfunc);
      return;
    case Kind::Pseudo:
      out.append(name);
      return;
  }
}

std::string LuaFrame::text(bool lua_lines) const {
  std::string s;
  append_text(s, lua_lines);
  return s;
}

}  // namespace kperf::prof::lj

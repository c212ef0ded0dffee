// Fast-function names by ffid (FF_* order of lj_ffdef.h): built-in lists for luajit2
// and upstream 2.1 and LuaJIT 2.0, or the list of the build's own jit/vmdef.lua when it is installed.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kperf::prof::lj {

std::span<const std::string_view> ffnames_luajit2();
std::span<const std::string_view> ffnames_vanilla();
std::span<const std::string_view> ffnames_lua20();

// The `ffnames = { [0]="Lua", "C", ... }` table of a vmdef.lua text (nullopt if absent).
std::optional<std::vector<std::string>> ffnames_from_vmdef(std::string_view text);
// The vmdef.lua installed with the LuaJIT file `vm_file` (PREFIX/bin/luajit or
// PREFIX/lib[/ARCH]/libluajit...): PREFIX/share/luajit-*/jit/vmdef.lua when there is
// exactly one; its ffnames, or nullopt.
std::optional<std::vector<std::string>> ffnames_installed_with(const std::string& vm_file);

}  // namespace kperf::prof::lj

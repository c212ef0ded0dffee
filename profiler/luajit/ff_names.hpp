// Fast-function names by ffid (FF_* order of lj_ffdef.h) for the known LuaJIT builds.
#pragma once

#include <span>
#include <string_view>

namespace kperf::prof::lj {

std::span<const std::string_view> ffnames_luajit2();
std::span<const std::string_view> ffnames_vanilla();

}  // namespace kperf::prof::lj

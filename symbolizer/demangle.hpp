// C++ symbol demangling (Itanium ABI) for native frame names; other names pass through.
#pragma once

#include <string>
#include <string_view>

namespace kperf::sym {

std::string demangle(std::string_view symbol);

}  // namespace kperf::sym

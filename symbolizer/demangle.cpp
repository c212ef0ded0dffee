// demangle: abi::__cxa_demangle for "_Z..." names, the name itself otherwise.
#include "symbolizer/demangle.hpp"

#include <cstdlib>
#include <cxxabi.h>
#include <memory>

namespace kperf::sym {

std::string demangle(std::string_view symbol) {
  if (!symbol.starts_with("_Z")) return std::string(symbol);
  std::string name(symbol);
  int status = 0;
  std::unique_ptr<char, decltype(&std::free)> out(
      abi::__cxa_demangle(name.c_str(), nullptr, nullptr, &status), &std::free);
  if (status != 0 || !out) return name;
  return std::string(out.get());
}

}  // namespace kperf::sym

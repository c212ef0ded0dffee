// classify_frame: suffix and shape checks only, no allocation (it runs per frame).
#include "flamegraph/frame_kind.hpp"

#include <cctype>

namespace kperf::fg {

namespace {

// "NAME CHUNK:LINE": a space, then a chunk, then ':' and decimal digits to the end.
bool looks_like_lua(std::string_view f) {
  const auto colon = f.rfind(':');
  if (colon == std::string_view::npos || colon + 1 == f.size()) return false;
  for (size_t i = colon + 1; i < f.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(f[i]))) return false;
  }
  const auto space = f.find(' ');
  return space != std::string_view::npos && space > 0 && space + 1 < colon;
}

}  // namespace

FrameKind classify_frame(std::string_view f) {
  if (f.empty() || f == "[unknown]") return FrameKind::Unknown;
  if (f.ends_with("_[k]")) return FrameKind::Kernel;
  if (f.ends_with("_[j]")) return FrameKind::LuaJit;
  if (f.starts_with("[lua:")) return FrameKind::VmPseudo;
  if (looks_like_lua(f)) return FrameKind::Lua;
  return FrameKind::Native;
}

std::string_view strip_annotation(std::string_view f) {
  if (f.size() >= 4 && f[f.size() - 4] == '_' && f[f.size() - 3] == '[' && f.back() == ']') {
    const char k = f[f.size() - 2];
    if (k == 'k' || k == 'j' || k == 'i' || k == 'w') f.remove_suffix(4);
  }
  return f;
}

}  // namespace kperf::fg

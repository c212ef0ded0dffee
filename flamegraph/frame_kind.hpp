// Classifies a frame's text by DESIGN.md's frame naming (kernel `_[k]`, JIT-compiled Lua
// `_[j]`, Lua `NAME CHUNK:LINE`, VM pseudo frames `[lua:...]`, native): the `lua`
// palette and the plugin analysis both key on it.
#pragma once

#include <string_view>

namespace kperf::fg {

enum class FrameKind { Native, Kernel, Lua, LuaJit, VmPseudo, Unknown };

FrameKind classify_frame(std::string_view frame);

// The frame without a trailing annotation (_[k] kernel, _[j] JIT, _[i] inlined, _[w]
// waker), as flame graph labels show it.
std::string_view strip_annotation(std::string_view frame);

}  // namespace kperf::fg

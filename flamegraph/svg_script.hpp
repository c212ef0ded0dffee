// The JavaScript embedded in flame graph SVGs (zoom, search, details, URL state). It
// reads its settings from a `fgConfig` object the SVG writer emits before it.
#pragma once

#include <string_view>

namespace kperf::fg {

std::string_view svg_script();

}  // namespace kperf::fg

// Headless Chromium (Debian's `chromium`, installed by scripts/setup) for the tests that
// look at kperf's outputs as a user would: the DOM of a page after its scripts ran.
#pragma once

#include <string>
#include <vector>

#include "tests/support/process.hpp"

namespace kperf::test {

inline constexpr const char* kChromium = "/usr/bin/chromium";

// `chromium --headless --dump-dom URL` with its profile in `profile_dir` (private, so no
// state is shared between runs) and `extra` flags; the DOM is on out, its log on err.
RunResult chromium_dom(const std::string& url, const std::string& profile_dir,
                       const std::vector<std::string>& extra = {});

}  // namespace kperf::test

// chromium_dom: the headless Chromium command line the browser tests share.
#include "tests/support/chromium.hpp"

namespace kperf::test {

RunResult chromium_dom(const std::string& url, const std::string& profile_dir, const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {kChromium,      "--headless",   "--no-sandbox",
                                   "--disable-gpu", "--no-first-run", "--user-data-dir=" + profile_dir};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.insert(argv.end(), {"--dump-dom", url});
  return run(argv, 90);
}

}  // namespace kperf::test

// debuginfod: never contacted when DEBUGINFOD_URLS is unset; asked (and failing cleanly)
// when it points at a closed loopback port. The client's cache directory shows whether
// it was used.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "symbolizer/debuginfod.hpp"

namespace {

namespace fs = std::filesystem;

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/kperf-debuginfod-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
  bool empty() const { return fs::is_empty(path); }
};

const char* kBuildId = "0123456789abcdef0123456789abcdef01234567";

TEST(Debuginfod, NotAttemptedWhenUrlsUnset) {
  TempDir cache;
  setenv("DEBUGINFOD_CACHE_PATH", cache.path.c_str(), 1);
  unsetenv("DEBUGINFOD_URLS");
  EXPECT_FALSE(kperf::sym::debuginfod_fetch(kBuildId));
  setenv("DEBUGINFOD_URLS", "", 1);
  EXPECT_FALSE(kperf::sym::debuginfod_fetch(kBuildId));
  EXPECT_TRUE(cache.empty()) << "the debuginfod client ran although DEBUGINFOD_URLS was unset";
  unsetenv("DEBUGINFOD_URLS");
  unsetenv("DEBUGINFOD_CACHE_PATH");
}

TEST(Debuginfod, AskedWhenUrlsSetAndFailsCleanly) {
  void* h = dlopen("libdebuginfod.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!h) GTEST_SKIP() << "libdebuginfod.so.1 not installed";
  dlclose(h);
  TempDir cache;
  setenv("DEBUGINFOD_CACHE_PATH", cache.path.c_str(), 1);
  setenv("DEBUGINFOD_URLS", "http://127.0.0.1:1", 1);  // closed loopback port
  setenv("DEBUGINFOD_TIMEOUT", "5", 1);
  EXPECT_FALSE(kperf::sym::debuginfod_fetch(kBuildId));
  EXPECT_FALSE(cache.empty()) << "the debuginfod client was not used";
  unsetenv("DEBUGINFOD_URLS");
  unsetenv("DEBUGINFOD_CACHE_PATH");
  unsetenv("DEBUGINFOD_TIMEOUT");
}

}  // namespace

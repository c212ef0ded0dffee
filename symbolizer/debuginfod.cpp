// debuginfod_fetch: dlopen libdebuginfod.so.1 once, debuginfod_find_debuginfo per build-id.
#include "symbolizer/debuginfod.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>

namespace kperf::sym {

namespace {

struct Client;  // debuginfod_client
using BeginFn = Client* (*)();
using FindFn = int (*)(Client*, const unsigned char*, int, char**);
using EndFn = void (*)(Client*);

struct Library {
  void* handle = nullptr;
  BeginFn begin = nullptr;
  FindFn find = nullptr;
  EndFn end = nullptr;
  Library() {
    handle = dlopen("libdebuginfod.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!handle) return;
    begin = reinterpret_cast<BeginFn>(dlsym(handle, "debuginfod_begin"));
    find = reinterpret_cast<FindFn>(dlsym(handle, "debuginfod_find_debuginfo"));
    end = reinterpret_cast<EndFn>(dlsym(handle, "debuginfod_end"));
  }
  bool ok() const { return begin && find && end; }
};

}  // namespace

std::optional<std::string> debuginfod_fetch(const std::string& build_id_hex) {
  const char* urls = std::getenv("DEBUGINFOD_URLS");
  if (!urls || !*urls || build_id_hex.empty()) return std::nullopt;
  static Library lib;
  if (!lib.ok()) return std::nullopt;
  Client* c = lib.begin();
  if (!c) return std::nullopt;
  char* path = nullptr;
  // build_id_len 0: the build-id is given as a lower-case hex string.
  int fd = lib.find(c, reinterpret_cast<const unsigned char*>(build_id_hex.c_str()), 0, &path);
  lib.end(c);
  std::optional<std::string> out;
  if (fd >= 0) {
    ::close(fd);
    if (path) out = std::string(path);
  }
  std::free(path);
  return out;
}

}  // namespace kperf::sym

// ModuleCache: file identity and build-id keyed sharing of Module objects.
#include "symbolizer/module_cache.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <filesystem>

#include <fmt/core.h>

namespace kperf::sym {

namespace {

std::string basename_of(const std::string& path) {
  auto pos = path.find_last_of('/');
  return pos == std::string::npos ? path : path.substr(pos + 1);
}

}  // namespace

std::shared_ptr<Module> ModuleCache::adopt(ElfFile elf, const std::string& display_path) {
  if (!elf.build_id().empty()) {
    auto it = by_build_id_.find(elf.build_id());
    if (it != by_build_id_.end()) return it->second;
  }
  auto mod = std::make_shared<Module>(std::move(elf), basename_of(display_path), opts_);
  if (!mod->build_id().empty()) by_build_id_.emplace(mod->build_id(), mod);
  else ++no_build_id_;
  return mod;
}

std::shared_ptr<Module> ModuleCache::for_file(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    throw std::runtime_error(fmt::format("cannot open {}: {}", path, std::strerror(errno)));
  if (!S_ISREG(st.st_mode)) throw std::runtime_error(fmt::format("{} is not a regular file", path));
  FileKey key{st.st_dev, st.st_ino, st.st_size, int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
  if (auto it = by_file_.find(key); it != by_file_.end()) return it->second;
  auto mod = adopt(ElfFile::open(path), path);
  by_file_.emplace(key, mod);
  return mod;
}

std::shared_ptr<Module> ModuleCache::for_mapping(pid_t pid, const Mapping& m) {
  auto fkey = std::make_tuple(pid, m.start);
  if (failed_.count(fkey)) return nullptr;
  try {
    if (m.path == "[vdso]") {
      // The vDSO exists only in memory: copy it out of the process.
      std::vector<uint8_t> image(m.end - m.start);
      iovec local{image.data(), image.size()};
      iovec remote{reinterpret_cast<void*>(m.start), image.size()};
      ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
      if (n != static_cast<ssize_t>(image.size())) throw std::runtime_error("vdso not readable");
      return adopt(ElfFile::from_memory(std::move(image), "[vdso]"), "[vdso]");
    }
    if (!m.file_backed()) return nullptr;
    // Containers: the path is the target's view; reach it through its root, or the
    // mapping itself (also works for deleted files), then the path as given.
    std::string candidates[] = {
        fmt::format("/proc/{}/root{}", pid, m.path),
        fmt::format("/proc/{}/map_files/{:x}-{:x}", pid, m.start, m.end),
        m.path,
    };
    for (const auto& c : candidates) {
      struct stat st;
      if (::stat(c.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
      if (st.st_ino != m.inode) continue;  // replaced on disk since it was mapped
      FileKey key{st.st_dev, st.st_ino, st.st_size, int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
      if (auto it = by_file_.find(key); it != by_file_.end()) return it->second;
      try {
        auto mod = adopt(ElfFile::open(c), m.path);
        by_file_.emplace(key, mod);
        return mod;
      } catch (const std::exception&) {
        continue;
      }
    }
  } catch (const std::exception&) {
  }
  failed_.emplace(fkey, true);
  return nullptr;
}

}  // namespace kperf::sym

// ModuleCache: opens module files (through /proc/PID/root or map_files for containers) and
// shares one Module per file identity and build-id across processes.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <unordered_map>

#include "symbolizer/module.hpp"
#include "symbolizer/process_maps.hpp"

namespace kperf::sym {

class ModuleCache {
 public:
  explicit ModuleCache(ModuleOptions opts) : opts_(std::move(opts)) {}

  // The module for a file-backed (or [vdso]) mapping of `pid`; null if it cannot be
  // read or parsed (the reason is remembered per path and not retried).
  std::shared_ptr<Module> for_mapping(pid_t pid, const Mapping& m);
  // The module for a file given directly (kperf symbolize -e); throws with a one-line
  // reason if the file is missing, unreadable or not an ELF.
  std::shared_ptr<Module> for_file(const std::string& path);

  size_t distinct_modules() const { return by_build_id_.size() + no_build_id_; }

 private:
  std::shared_ptr<Module> adopt(ElfFile elf, const std::string& display_path);

  using FileKey = std::tuple<uint64_t, uint64_t, int64_t, int64_t>;  // dev, ino, size, mtime
  ModuleOptions opts_;
  std::map<FileKey, std::shared_ptr<Module>> by_file_;
  std::unordered_map<std::string, std::shared_ptr<Module>> by_build_id_;
  std::map<std::tuple<pid_t, uint64_t>, bool> failed_;  // (pid, mapping start)
  size_t no_build_id_ = 0;
};

}  // namespace kperf::sym

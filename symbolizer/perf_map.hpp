// PerfMap: JIT symbols from /tmp/perf-PID.map ("START SIZE name" in hex), read only when
// the file is owned by the target's uid (as perf requires), re-read when it grows.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kperf::sym {

// Where the JIT of process `pid` (a host pid) writes its perf map: /tmp/perf-PID.map, or
// for a process in another pid namespace (a container) PROC/PID/root/tmp/perf-NSPID.map,
// NSPID being its pid in its own namespace (the NSpid line of PROC/PID/status), as perf
// looks for it.
std::string perf_map_path(pid_t pid, const std::string& proc_root = "/proc");

class PerfMap {
 public:
  // `owner_uid`: the target's uid; the file must be owned by it (or by root).
  PerfMap(std::string path, uid_t owner_uid) : path_(std::move(path)), uid_(owner_uid) {}
  // Re-reads the file if its size or mtime changed; false if absent/refused.
  bool refresh();
  void load_text(std::string_view text);
  std::optional<std::string_view> lookup(uint64_t addr) const;
  size_t size() const { return syms_.size(); }

 private:
  struct Sym {
    uint64_t start, end;
    uint32_t off, len;
  };
  std::string path_;
  uid_t uid_;
  int64_t seen_size_ = -1;
  int64_t seen_mtime_ns_ = -1;
  std::vector<Sym> syms_;
  std::string pool_;
};

}  // namespace kperf::sym

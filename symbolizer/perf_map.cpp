// PerfMap: ownership check, parsing and lookups of perf-PID.map files.
#include "symbolizer/perf_map.hpp"
#include "symbolizer/text_lines.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <string>

namespace kperf::sym {

std::string perf_map_path(pid_t pid, const std::string& proc_root) {
  const std::string dir = proc_root + "/" + std::to_string(pid);
  const int fd = ::open((dir + "/status").c_str(), O_RDONLY | O_CLOEXEC);
  std::string status;
  if (fd >= 0) {
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) status.append(buf, static_cast<size_t>(n));
    ::close(fd);
  }
  // "NSpid:\t123\t7": the last one is the pid in the innermost namespace.
  const auto at = status.find("\nNSpid:");
  if (at != std::string::npos) {
    std::string line = status.substr(at + 7, status.find('\n', at + 1) - (at + 7));
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t')) line.pop_back();
    const auto sep = line.find_last_of(" \t");
    if (sep != std::string::npos) {
      const std::string inner = line.substr(sep + 1);
      if (!inner.empty() && inner != std::to_string(pid)) return dir + "/root/tmp/perf-" + inner + ".map";
    }
  }
  return "/tmp/perf-" + std::to_string(pid) + ".map";
}

bool PerfMap::refresh() {
  // The path is under a world-writable /tmp: open it without following a symlink (a
  // planted link to another root-owned file is refused), without blocking on a FIFO,
  // and check the file actually opened, not the name.
  const int fd = ::open(path_.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return false;
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return false;
  if (st.st_uid != uid_ && st.st_uid != 0) return false;
  int64_t mtime = int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  if (st.st_size == seen_size_ && mtime == seen_mtime_ns_) return true;
  std::string text;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  load_text(text);
  seen_size_ = st.st_size;
  seen_mtime_ns_ = mtime;
  return true;
}

void PerfMap::load_text(std::string_view text) {
  syms_.clear();
  pool_.clear();
  for (std::string_view line; next_line(text, line);) {
    if (line.starts_with("0x")) line.remove_prefix(2);
    uint64_t start = 0, size = 0;
    auto r = std::from_chars(line.data(), line.data() + line.size(), start, 16);
    if (r.ec != std::errc() || r.ptr == line.data() + line.size() || *r.ptr != ' ') continue;
    line.remove_prefix(static_cast<size_t>(r.ptr - line.data()) + 1);
    if (line.starts_with("0x")) line.remove_prefix(2);
    r = std::from_chars(line.data(), line.data() + line.size(), size, 16);
    if (r.ec != std::errc() || r.ptr == line.data() + line.size() || *r.ptr != ' ') continue;
    line.remove_prefix(static_cast<size_t>(r.ptr - line.data()) + 1);
    if (line.empty() || size == 0 || start + size < start) continue;
    syms_.push_back({start, start + size, static_cast<uint32_t>(pool_.size()), static_cast<uint32_t>(line.size())});
    pool_.append(line);
  }
  // Later entries for the same address replace earlier ones (JIT code reuse).
  std::stable_sort(syms_.begin(), syms_.end(), [](const Sym& a, const Sym& b) { return a.start < b.start; });
}

std::optional<std::string_view> PerfMap::lookup(uint64_t addr) const {
  auto it = std::upper_bound(syms_.begin(), syms_.end(), addr, [](uint64_t a, const Sym& s) { return a < s.start; });
  if (it == syms_.begin()) return std::nullopt;
  --it;
  if (addr >= it->end) return std::nullopt;
  return std::string_view(pool_).substr(it->off, it->len);
}

}  // namespace kperf::sym

// Reads another process's memory with process_vm_readv through a small page cache
// that lives for one walk (clear() between samples: the target keeps running).
// Snapshots (memory captured at sample time, e.g. by BPF) are consulted first.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace kperf::prof::lj {

class RemoteMemory {
public:
  explicit RemoteMemory(pid_t pid, std::size_t max_pages = 64);
  RemoteMemory(const RemoteMemory&) = delete;
  RemoteMemory& operator=(const RemoteMemory&) = delete;

  pid_t pid() const { return pid_; }

  // Copies len bytes at addr; false if any byte is unreadable.
  bool read(std::uint64_t addr, void* out, std::size_t len);

  template <typename T>
  std::optional<T> read(std::uint64_t addr) {
    T v;
    if (!read(addr, &v, sizeof v)) return std::nullopt;
    return v;
  }
  std::optional<std::uint64_t> u64(std::uint64_t addr) { return read<std::uint64_t>(addr); }
  std::optional<std::uint32_t> u32(std::uint64_t addr) { return read<std::uint32_t>(addr); }
  // A LuaJIT GC reference (GCRef / MRef): 8 bytes in GC64 builds, 4 (zero-extended) otherwise.
  std::optional<std::uint64_t> ref(std::uint64_t addr, std::uint32_t size) {
    if (size == 8) return u64(addr);
    auto v = u32(addr);
    return v ? std::optional<std::uint64_t>(*v) : std::nullopt;
  }

  // Reads len bytes without caching (large blobs such as a whole GCproto).
  bool read_direct(std::uint64_t addr, void* out, std::size_t len);

  // Adds bytes captured at sample time for [addr, addr + bytes.size()): reads that fall
  // entirely inside a snapshot are served from it (no syscall, and consistent with the
  // sample even though the target kept running).
  // The bytes are copied into a buffer that clear() keeps (no allocation per sample).
  void add_snapshot(std::uint64_t addr, std::span<const unsigned char> bytes);

  // Forgets cached pages and snapshots (call once per sample / walk).
  void clear();

  std::uint64_t syscalls() const { return syscalls_; }

private:
  static constexpr std::size_t kPage = 4096;
  struct Page {
    std::uint64_t addr = ~0ull;
    bool ok = false;
    std::array<unsigned char, kPage> bytes{};
  };
  const Page* page(std::uint64_t page_addr);

  struct Snapshot {
    std::uint64_t addr;
    std::size_t offset;  // in snapshot_bytes_
    std::size_t size;
  };
  std::vector<Snapshot> snapshots_;
  std::vector<unsigned char> snapshot_bytes_;
  pid_t pid_;
  std::size_t max_pages_;
  std::vector<Page> pages_;
  std::size_t next_victim_ = 0;
  std::uint64_t syscalls_ = 0;
};

}  // namespace kperf::prof::lj

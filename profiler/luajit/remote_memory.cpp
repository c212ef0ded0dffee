// Reads another process's memory with process_vm_readv through a small page cache.
#include "profiler/luajit/remote_memory.hpp"

#include <sys/uio.h>

#include <algorithm>
#include <cstring>

namespace kperf::prof::lj {

RemoteMemory::RemoteMemory(pid_t pid, std::size_t max_pages) : pid_(pid), max_pages_(max_pages) {
  pages_.reserve(max_pages_);
}

void RemoteMemory::add_snapshot(std::uint64_t addr, std::span<const unsigned char> bytes) {
  snapshots_.push_back(Snapshot{addr, snapshot_bytes_.size(), bytes.size()});
  snapshot_bytes_.insert(snapshot_bytes_.end(), bytes.begin(), bytes.end());
}

void RemoteMemory::clear() {
  snapshots_.clear();
  snapshot_bytes_.clear();
  pages_.clear();
  next_victim_ = 0;
}

bool RemoteMemory::read_direct(std::uint64_t addr, void* out, std::size_t len) {
  if (len == 0) return true;
  iovec local{out, len};
  iovec remote{reinterpret_cast<void*>(addr), len};
  ++syscalls_;
  ssize_t n = process_vm_readv(pid_, &local, 1, &remote, 1, 0);
  return n == static_cast<ssize_t>(len);
}

const RemoteMemory::Page* RemoteMemory::page(std::uint64_t page_addr) {
  for (const Page& p : pages_)
    if (p.addr == page_addr) return &p;
  Page* slot;
  if (pages_.size() < max_pages_) {
    slot = &pages_.emplace_back();
  } else {
    slot = &pages_[next_victim_];
    next_victim_ = (next_victim_ + 1) % pages_.size();
  }
  slot->addr = page_addr;
  slot->ok = read_direct(page_addr, slot->bytes.data(), kPage);
  return slot;
}

bool RemoteMemory::read(std::uint64_t addr, void* out, std::size_t len) {
  if (len == 0) return true;
  if (addr + len < addr) return false;
  for (const Snapshot& s : snapshots_) {
    if (addr >= s.addr && addr - s.addr <= s.size && s.size - (addr - s.addr) >= len) {
      std::memcpy(out, snapshot_bytes_.data() + s.offset + (addr - s.addr), len);
      return true;
    }
  }
  if (len > 2 * kPage) return read_direct(addr, out, len);
  auto* dst = static_cast<unsigned char*>(out);
  while (len > 0) {
    std::uint64_t base = addr & ~(kPage - 1);
    std::size_t off = addr - base;
    std::size_t n = std::min(len, kPage - off);
    const Page* p = page(base);
    if (!p->ok) {
      // The page may be partly unreadable (end of a mapping): try the bytes alone.
      if (!read_direct(addr, dst, n)) return false;
    } else {
      std::memcpy(dst, p->bytes.data() + off, n);
    }
    dst += n;
    addr += n;
    len -= n;
  }
  return true;
}

}  // namespace kperf::prof::lj

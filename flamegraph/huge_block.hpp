// HugeBlock: one 2 MB-aligned, 2 MB anonymous mapping advised for transparent huge
// pages. Big tries keep their nodes in these: one page fault per 2 MB instead of one
// per 4 KB (faults dominate building a trie of millions of nodes).
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <sys/mman.h>

namespace kperf::fg {

class HugeBlock {
 public:
  static constexpr std::size_t kSize = std::size_t{2} << 20;

  // Throws std::bad_alloc when the mapping fails.
  HugeBlock() {
    // Map twice the size and trim to an aligned 2 MB (mmap only promises 4 KB).
    void* raw = ::mmap(nullptr, 2 * kSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) throw std::bad_alloc();
    const auto start = reinterpret_cast<std::uintptr_t>(raw);
    const std::uintptr_t aligned = (start + kSize - 1) & ~(kSize - 1);
    if (aligned > start) ::munmap(raw, aligned - start);
    const std::uintptr_t end = start + 2 * kSize;
    if (end > aligned + kSize) ::munmap(reinterpret_cast<void*>(aligned + kSize), end - aligned - kSize);
    p_ = reinterpret_cast<void*>(aligned);
    ::madvise(p_, kSize, MADV_HUGEPAGE);  // advice only: fine if it is not taken
  }
  HugeBlock(const HugeBlock&) = delete;
  HugeBlock& operator=(const HugeBlock&) = delete;
  HugeBlock(HugeBlock&& o) noexcept : p_(o.p_) { o.p_ = nullptr; }
  HugeBlock& operator=(HugeBlock&& o) noexcept {
    if (this != &o) {
      release();
      p_ = o.p_;
      o.p_ = nullptr;
    }
    return *this;
  }
  ~HugeBlock() { release(); }

  void* data() const { return p_; }

 private:
  void release() {
    if (p_ != nullptr) ::munmap(p_, kSize);
    p_ = nullptr;
  }
  void* p_ = nullptr;
};

}  // namespace kperf::fg

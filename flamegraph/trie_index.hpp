// Small open-addressing indexes behind StackTrie: (parent, frame) -> child for nodes
// with many children, and node -> slot for the side table of counts. Both start empty
// (a small trie allocates nothing for them) and double at half load.
#pragma once

#include <cstdint>
#include <vector>

namespace kperf::fg {

namespace detail {

// Fibonacci hashing of a 64-bit key into `bits` bits (the high bits of the product).
inline std::size_t fib_slot(std::uint64_t key, unsigned bits) {
  key ^= key >> 29;
  return static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ULL) >> (64 - bits));
}

}  // namespace detail

// (parent, frame) -> node. Keys sit in the slot: a lookup touches one cache line.
class WideIndex {
 public:
  static constexpr std::uint32_t kMissing = ~std::uint32_t{0};

  std::uint32_t find(std::uint32_t parent, std::uint32_t frame) const {
    if (slots_.empty()) return kMissing;
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = slot(parent, frame);; i = (i + 1) & mask) {
      const Slot& s = slots_[i];
      if (s.id == kMissing) return kMissing;
      if (s.parent == parent && s.frame == frame) return s.id;
    }
  }
  void prefetch(std::uint32_t parent, std::uint32_t frame) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[slot(parent, frame)]);
  }
  // `id` must not be in the index yet under (parent, frame).
  void insert(std::uint32_t parent, std::uint32_t frame, std::uint32_t id) {
    if ((used_ + 1) * 2 > slots_.size()) grow();
    const std::size_t mask = slots_.size() - 1;
    std::size_t i = slot(parent, frame);
    while (slots_[i].id != kMissing) i = (i + 1) & mask;
    slots_[i] = Slot{parent, frame, id};
    ++used_;
  }

 private:
  struct Slot {
    std::uint32_t parent;
    std::uint32_t frame;
    std::uint32_t id;  // kMissing: empty
  };
  std::size_t slot(std::uint32_t parent, std::uint32_t frame) const {
    return detail::fib_slot((std::uint64_t{parent} << 32) | frame, bits_);
  }
  void grow() {
    std::vector<Slot> old;
    old.swap(slots_);
    bits_ = old.empty() ? 6 : bits_ + 1;
    slots_.assign(std::size_t{1} << bits_, Slot{0, 0, kMissing});
    const std::size_t mask = slots_.size() - 1;
    for (const Slot& s : old) {
      if (s.id == kMissing) continue;
      std::size_t i = slot(s.parent, s.frame);
      while (slots_[i].id != kMissing) i = (i + 1) & mask;
      slots_[i] = s;
    }
  }

  std::vector<Slot> slots_;
  std::size_t used_ = 0;
  unsigned bits_ = 0;
};

// node -> a 32-bit value (an index into a side table).
class NodeIndex {
 public:
  static constexpr std::uint32_t kMissing = ~std::uint32_t{0};

  std::uint32_t find(std::uint32_t key) const {
    if (slots_.empty()) return kMissing;
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = detail::fib_slot(key, bits_);; i = (i + 1) & mask) {
      const Slot& s = slots_[i];
      if (s.key == key) return s.value;
      if (s.key == kMissing) return kMissing;
    }
  }
  // `key` (not kMissing) must not be in the index yet.
  void insert(std::uint32_t key, std::uint32_t value) {
    if ((used_ + 1) * 2 > slots_.size()) grow();
    place(key, value);
    ++used_;
  }

 private:
  struct Slot {
    std::uint32_t key;  // kMissing: empty
    std::uint32_t value;
  };
  void place(std::uint32_t key, std::uint32_t value) {
    const std::size_t mask = slots_.size() - 1;
    std::size_t i = detail::fib_slot(key, bits_);
    while (slots_[i].key != kMissing) i = (i + 1) & mask;
    slots_[i] = Slot{key, value};
  }
  void grow() {
    std::vector<Slot> old;
    old.swap(slots_);
    bits_ = old.empty() ? 6 : bits_ + 1;
    slots_.assign(std::size_t{1} << bits_, Slot{kMissing, 0});
    for (const Slot& s : old) {
      if (s.key != kMissing) place(s.key, s.value);
    }
  }

  std::vector<Slot> slots_;
  std::size_t used_ = 0;
  unsigned bits_ = 0;
};

}  // namespace kperf::fg

// FrameTable: an arena of frame strings plus an open-addressing index by hash.
#include "flamegraph/frame_table.hpp"

#include <algorithm>
#include <cstring>

namespace kperf::fg {

namespace {

// String storage grows from a small first chunk (most tables, e.g. the fuzzers' and
// `kperf diff` of small files, hold a few KB) by doubling up to 64 KiB chunks.
constexpr std::size_t kFirstChunk = 1 << 10;
constexpr std::size_t kChunk = 1 << 16;
constexpr std::size_t kFirstSlots = 64;

// Frame names are short (10-80 bytes): 8 bytes per multiply, then a final mix so the
// low bits (the slot) depend on every byte.
std::uint64_t hash_of(std::string_view s) {
  const char* p = s.data();
  std::size_t n = s.size();
  std::uint64_t h = 0x9E3779B97F4A7C15ULL ^ n;
  for (; n >= 8; p += 8, n -= 8) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    h = (h ^ v) * 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 31;
  }
  if (n > 0) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i) v |= std::uint64_t{static_cast<unsigned char>(p[i])} << (8 * i);
    h = (h ^ v) * 0x94d049bb133111ebULL;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return h;
}

}  // namespace

FrameTable::FrameTable() : slots_(kFirstSlots, kNone) {
  // Room for the frames the first slots hold (small tables grow no more than that).
  names_.reserve(kFirstSlots / 2);
  hashes_.reserve(kFirstSlots / 2);
}

std::string_view FrameTable::store(std::string_view name) {
  if (name.empty()) return {};
  if (chunks_.empty() || chunk_used_ + name.size() > chunk_size_) {
    const std::size_t next = chunks_.empty() ? kFirstChunk : std::min(chunk_size_ * 2, kChunk);
    chunk_size_ = std::max(name.size(), next);
    chunks_.push_back(std::make_unique_for_overwrite<char[]>(chunk_size_));  // no zeroing
    chunk_used_ = 0;
  }
  char* p = chunks_.back().get() + chunk_used_;
  std::memcpy(p, name.data(), name.size());
  chunk_used_ += name.size();
  return {p, name.size()};
}

void FrameTable::grow() {
  std::vector<FrameId> bigger(slots_.size() * 2, kNone);
  const std::size_t mask = bigger.size() - 1;
  for (FrameId id = 0; id < names_.size(); ++id) {
    std::size_t i = hashes_[id] & mask;
    while (bigger[i] != kNone) i = (i + 1) & mask;
    bigger[i] = id;
  }
  slots_.swap(bigger);
}

FrameId FrameTable::find(std::string_view name) const {
  const std::uint64_t h = hash_of(name);
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t i = h & mask;; i = (i + 1) & mask) {
    const FrameId id = slots_[i];
    if (id == kNone) return kNone;
    if (hashes_[id] == h && names_[id] == name) return id;
  }
}

FrameId FrameTable::intern(std::string_view name) {
  const std::uint64_t h = hash_of(name);
  std::size_t mask = slots_.size() - 1;
  std::size_t i = h & mask;
  for (;; i = (i + 1) & mask) {
    const FrameId id = slots_[i];
    if (id == kNone) break;
    if (hashes_[id] == h && names_[id] == name) return id;
  }
  const auto id = static_cast<FrameId>(names_.size());
  names_.push_back(store(name));
  hashes_.push_back(h);
  slots_[i] = id;
  if (names_.size() * 2 > slots_.size()) grow();
  return id;
}

}  // namespace kperf::fg

// FrameTable: an arena of frame strings plus an open-addressing index by hash.
#include "flamegraph/frame_table.hpp"

#include <cstring>
#include <functional>

namespace kperf::fg {

namespace {

constexpr std::size_t kChunk = 1 << 16;

std::uint64_t hash_of(std::string_view s) { return std::hash<std::string_view>{}(s); }

}  // namespace

FrameTable::FrameTable() : slots_(1024, kNone) {}

std::string_view FrameTable::store(std::string_view name) {
  if (name.empty()) return {};
  if (chunks_.empty() || chunk_used_ + name.size() > chunk_size_) {
    chunk_size_ = name.size() > kChunk ? name.size() : kChunk;
    chunks_.push_back(std::make_unique<char[]>(chunk_size_));
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

// FrameTable: interns frame strings ("ngx_http_handler", "fib app.lua:3") into dense
// 32-bit ids, so stacks are vectors of ids and each distinct name is stored once.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

namespace kperf::fg {

using FrameId = std::uint32_t;

class FrameTable {
 public:
  FrameTable();
  FrameTable(const FrameTable&) = delete;
  FrameTable& operator=(const FrameTable&) = delete;
  FrameTable(FrameTable&&) noexcept = default;
  FrameTable& operator=(FrameTable&&) noexcept = default;

  // The id of `name`, adding it on first sight. Ids are dense: 0, 1, 2...
  FrameId intern(std::string_view name);
  // The id of `name` if it was interned, else -1 (as FrameId).
  FrameId find(std::string_view name) const;
  std::string_view name(FrameId id) const { return names_[id]; }
  std::size_t size() const { return names_.size(); }

  static constexpr FrameId kNone = ~FrameId{0};

 private:
  std::string_view store(std::string_view name);
  void grow();

  std::vector<std::unique_ptr<char[]>> chunks_;  // string storage, never moved
  std::size_t chunk_used_ = 0;
  std::size_t chunk_size_ = 0;
  std::vector<std::string_view> names_;
  std::vector<std::uint64_t> hashes_;  // per id, to rehash without rereading strings
  std::vector<FrameId> slots_;         // open addressing; kNone = empty
};

}  // namespace kperf::fg

// FdeIndex: the [start, end) ranges of every FDE in .eh_frame / .debug_frame, sorted, so
// an unnamed function's start is known ("nginx+0x4f200": one box per function).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace kperf::sym {

class FdeIndex {
 public:
  // Parses a whole .eh_frame (is_eh_frame) or .debug_frame section whose first byte is at
  // virtual address `section_addr`. Malformed entries end the parse; what was read stays.
  void add_section(std::span<const uint8_t> bytes, uint64_t section_addr, bool is_eh_frame);
  void finalize();  // sort + drop duplicates

  // The FDE range containing addr.
  struct Range {
    uint64_t start, end;
  };
  std::optional<Range> lookup(uint64_t addr) const;
  std::optional<size_t> lookup_index(uint64_t addr) const;  // index into the sorted ranges
  Range at(size_t i) const { return ranges_[i]; }
  size_t size() const { return ranges_.size(); }

 private:
  std::vector<Range> ranges_;
};

}  // namespace kperf::sym

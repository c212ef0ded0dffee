// FdeIndex: a small bounds-checked parser of CIE/FDE headers (pointer encodings, 'z'
// augmentations) that keeps only each FDE's initial location and address range.
#include "symbolizer/fde_index.hpp"

#include <algorithm>
#include <cstring>
#include <map>
#include <string_view>

namespace kperf::sym {

namespace {

struct Reader {
  std::span<const uint8_t> b;
  size_t pos = 0;
  bool ok = true;

  bool need(size_t n) {
    if (!ok || n > b.size() || pos > b.size() - n) ok = false;
    return ok;
  }
  template <class T>
  T fixed() {
    T v{};
    if (!need(sizeof(T))) return v;
    std::memcpy(&v, b.data() + pos, sizeof(T));
    pos += sizeof(T);
    return v;
  }
  uint64_t uleb() {
    uint64_t v = 0;
    unsigned shift = 0;
    while (need(1)) {
      uint8_t byte = b[pos++];
      if (shift < 64) v |= uint64_t(byte & 0x7f) << shift;
      shift += 7;
      if (!(byte & 0x80)) return v;
    }
    return 0;
  }
  int64_t sleb() {
    int64_t v = 0;
    unsigned shift = 0;
    uint8_t byte = 0;
    while (need(1)) {
      byte = b[pos++];
      if (shift < 64) v |= int64_t(uint64_t(byte & 0x7f) << shift);
      shift += 7;
      if (!(byte & 0x80)) break;
    }
    if (shift < 64 && (byte & 0x40)) v = int64_t(uint64_t(v) | (~uint64_t(0) << shift));
    return v;
  }
  // A DW_EH_PE-encoded pointer; `field_addr` is the virtual address of the field.
  bool encoded(uint8_t enc, uint64_t field_addr, uint64_t& out) {
    if (enc == 0xff) {
      out = 0;
      return true;
    }
    uint64_t v = 0;
    switch (enc & 0x0f) {
      case 0x00: v = fixed<uint64_t>(); break;
      case 0x01: v = uleb(); break;
      case 0x02: v = fixed<uint16_t>(); break;
      case 0x03: v = fixed<uint32_t>(); break;
      case 0x04: v = fixed<uint64_t>(); break;
      case 0x09: v = uint64_t(sleb()); break;
      case 0x0a: v = uint64_t(int64_t(fixed<int16_t>())); break;
      case 0x0b: v = uint64_t(int64_t(fixed<int32_t>())); break;
      case 0x0c: v = fixed<uint64_t>(); break;
      default: ok = false; return false;
    }
    switch (enc & 0x70) {
      case 0x00: break;
      case 0x10: v += field_addr; break;  // pcrel
      default: ok = false; return false;  // textrel/datarel/funcrel: not used in shared objects here
    }
    out = v;
    return ok;
  }
};

struct Cie {
  uint8_t fde_enc = 0;  // DW_EH_PE_absptr
  bool has_z = false;
};

bool parse_cie(std::span<const uint8_t> body, uint64_t body_addr, Cie& cie) {
  Reader r{body};
  uint8_t version = r.fixed<uint8_t>();
  if (!r.ok || (version != 1 && version != 3 && version != 4)) return false;
  size_t aug_start = r.pos;
  while (r.need(1) && r.b[r.pos] != 0) ++r.pos;
  if (!r.need(1)) return false;
  std::string_view aug(reinterpret_cast<const char*>(body.data()) + aug_start, r.pos - aug_start);
  ++r.pos;
  if (aug.find("eh") != std::string_view::npos) r.fixed<uint64_t>();
  if (version == 4) {
    r.fixed<uint8_t>();  // address_size
    r.fixed<uint8_t>();  // segment_size
  }
  r.uleb();  // code alignment
  r.sleb();  // data alignment
  if (version == 1) r.fixed<uint8_t>(); else r.uleb();  // return address register
  if (!r.ok) return false;
  if (!aug.empty() && aug[0] == 'z') {
    cie.has_z = true;
    uint64_t len = r.uleb();
    size_t end = r.pos + len;
    if (!r.ok || len > body.size() || end > body.size()) return false;
    for (char c : aug.substr(1)) {
      if (c == 'R') {
        cie.fde_enc = r.fixed<uint8_t>();
      } else if (c == 'L') {
        r.fixed<uint8_t>();
      } else if (c == 'P') {
        uint8_t enc = r.fixed<uint8_t>();
        uint64_t ignored;
        if (!r.encoded(enc & 0x7f, body_addr + r.pos, ignored)) return false;
      } else if (c == 'S' || c == 'B' || c == 'G') {
      } else {
        break;  // unknown augmentation: the length lets us skip the rest
      }
      if (!r.ok) return false;
    }
  }
  return r.ok;
}

}  // namespace

void FdeIndex::add_section(std::span<const uint8_t> bytes, uint64_t section_addr, bool is_eh_frame) {
  std::map<size_t, Cie> cies;  // by offset of the CIE's length field
  size_t pos = 0;
  size_t guard = 0;
  while (pos + 4 <= bytes.size() && ++guard < (1u << 24)) {
    Reader r{bytes, pos};
    uint64_t length = r.fixed<uint32_t>();
    bool is64 = false;
    if (length == 0xffffffff) {
      length = r.fixed<uint64_t>();
      is64 = true;
    }
    if (!r.ok) return;
    if (length == 0) {
      if (is_eh_frame) return;  // terminator
      pos = r.pos;
      continue;
    }
    size_t body = r.pos;
    if (length > bytes.size() - body) return;
    if (length < (is64 ? 8u : 4u)) return;  // too short for its CIE id / pointer
    size_t next = body + length;
    size_t id_field = r.pos;
    uint64_t id = is64 ? r.fixed<uint64_t>() : r.fixed<uint32_t>();
    if (!r.ok) return;
    bool is_cie = is_eh_frame ? id == 0 : (is64 ? id == UINT64_MAX : id == 0xffffffff);
    if (is_cie) {
      Cie cie;
      if (parse_cie(bytes.subspan(r.pos, next - r.pos), section_addr + r.pos, cie)) cies[pos] = cie;
    } else {
      size_t cie_off;
      if (is_eh_frame) {
        if (id > id_field) {
          pos = next;
          continue;
        }
        cie_off = id_field - id;
      } else {
        cie_off = id;
      }
      auto it = cies.find(cie_off);
      if (it == cies.end()) {
        // .debug_frame may put CIEs after FDEs; parse it on demand.
        if (cie_off + 8 <= bytes.size()) {
          Reader c{bytes, cie_off};
          uint64_t clen = c.fixed<uint32_t>();
          bool c64 = false;
          if (clen == 0xffffffff) {
            clen = c.fixed<uint64_t>();
            c64 = true;
          }
          size_t cbody = c.pos;
          if (c.ok && clen <= bytes.size() - cbody && clen > (c64 ? 8u : 4u)) {
            c.pos += c64 ? 8 : 4;
            Cie cie;
            if (parse_cie(bytes.subspan(c.pos, cbody + clen - c.pos), section_addr + c.pos, cie))
              it = cies.emplace(cie_off, cie).first;
          }
        }
        if (it == cies.end()) {
          pos = next;
          continue;
        }
      }
      uint8_t enc = is_eh_frame ? it->second.fde_enc : 0x00;
      Reader f{bytes.subspan(0, next), r.pos};
      uint64_t start = 0, range = 0;
      if (f.encoded(enc, section_addr + f.pos, start) && f.encoded(enc & 0x0f, 0, range) && range > 0 &&
          start + range > start)
        ranges_.push_back({start, start + range});
    }
    pos = next;
  }
}

void FdeIndex::finalize() {
  auto less = [](const Range& a, const Range& b) { return a.start != b.start ? a.start < b.start : a.end > b.end; };
  // .eh_frame is emitted per input object: long sorted runs. Merge the runs (cheap) unless
  // there are many of them.
  std::vector<size_t> runs{0};
  for (size_t i = 1; i < ranges_.size() && runs.size() <= 4096; ++i)
    if (less(ranges_[i], ranges_[i - 1])) runs.push_back(i);
  if (runs.size() > 4096) {
    std::sort(ranges_.begin(), ranges_.end(), less);
  } else {
    runs.push_back(ranges_.size());
    while (runs.size() > 2) {
      std::vector<size_t> merged{0};
      for (size_t i = 0; i + 2 < runs.size(); i += 2) {
        std::inplace_merge(ranges_.begin() + long(runs[i]), ranges_.begin() + long(runs[i + 1]),
                           ranges_.begin() + long(runs[i + 2]), less);
        merged.push_back(runs[i + 2]);
      }
      if (runs.size() % 2 == 0) merged.push_back(runs.back());  // odd run count: last run stays
      runs = std::move(merged);
    }
  }
  ranges_.erase(std::unique(ranges_.begin(), ranges_.end(),
                            [](const Range& a, const Range& b) { return a.start == b.start; }),
                ranges_.end());
  ranges_.shrink_to_fit();
}

std::optional<size_t> FdeIndex::lookup_index(uint64_t addr) const {
  auto it = std::upper_bound(ranges_.begin(), ranges_.end(), addr,
                             [](uint64_t a, const Range& r) { return a < r.start; });
  if (it == ranges_.begin()) return std::nullopt;
  --it;
  if (addr < it->end) return static_cast<size_t>(it - ranges_.begin());
  return std::nullopt;
}

std::optional<FdeIndex::Range> FdeIndex::lookup(uint64_t addr) const {
  auto i = lookup_index(addr);
  if (!i) return std::nullopt;
  return ranges_[*i];
}

}  // namespace kperf::sym

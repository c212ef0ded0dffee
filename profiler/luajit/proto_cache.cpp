// Reads and caches LuaJIT function prototypes (GCproto) from a target process.
#include "profiler/luajit/proto_cache.hpp"

#include <cstring>

#include "profiler/bpf/luajit_abi.h"
#include "profiler/luajit/bytecode.hpp"

namespace kperf::prof::lj {
namespace {

constexpr std::size_t kMaxProto = 4 << 20;  // sanity cap on sizept

template <typename T>
T load_at(const unsigned char* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// A GC reference field (8 bytes in GC64 builds, 4 otherwise).
std::uint64_t ref_at(const unsigned char* p, const VmOffsets& o) {
  return o.ref_size == 8 ? load_at<std::uint64_t>(p) : load_at<std::uint32_t>(p);
}

std::string strip_chunk(const std::string& s) {
  if (!s.empty() && (s[0] == '@' || s[0] == '=')) return s.substr(1);
  // Source text (load("...")): `[string "first line..."]` like lj_debug_shortname.
  std::string first = s.substr(0, s.find_first_of("\r\n"));
  if (first.size() > 40 || first.size() < s.size()) first = first.substr(0, 40) + "...";
  return "[string \"" + first + "\"]";
}

}  // namespace

std::optional<std::string> read_gcstr(RemoteMemory& mem, const VmOffsets& o, std::uint64_t str, std::size_t cap) {
  if (str == 0) return std::nullopt;
  auto gct = mem.read<std::uint8_t>(str + o.fn_gct);
  if (!gct || *gct != 4 /* ~LJ_TSTR */) return std::nullopt;
  // GCstr's len is its last field, the bytes follow the struct, NUL-terminated. Its
  // offset moved between builds (0x10 / 0x14 in GC64 ones): the layout's, else a
  // neighbour's, whichever ends the string with its NUL and holds none before.
  for (std::uint32_t len_off : {o.str_len, o.str_len + 4, o.str_len - 4}) {
    auto len = mem.u32(str + len_off);
    if (!len || *len > (1u << 24)) continue;
    const std::size_t n = std::min<std::size_t>(*len, cap);
    std::string s(n + 1, '\0');
    // The bytes follow the struct, whose size is aligned like its GCHeader (8 in GC64).
    const std::uint32_t align = o.gc64 ? 8 : 4;
    if (!mem.read(str + ((len_off + 4 + align - 1) & ~(align - 1)), s.data(), s.size())) continue;
    if ((n == *len && s[n] != 0) || s.find('\0') < n) continue;
    s.resize(n);
    return s;
  }
  return std::nullopt;
}

const unsigned char* Proto::field(std::uint64_t remote_ptr, std::size_t len) const {
  if (remote_ptr < addr || remote_ptr - addr > blob_.size() || blob_.size() - (remote_ptr - addr) < len)
    return nullptr;
  return blob_.data() + (remote_ptr - addr);
}

std::int64_t Proto::pos_of_pc(std::uint64_t pc) const {
  std::uint64_t bc = bc_addr();
  if (pc <= bc || ((pc - bc) & 3) || (pc - bc) / 4 > sizebc) return -1;
  return static_cast<std::int64_t>((pc - bc) / 4) - 1;
}

std::uint32_t Proto::ins(std::int64_t pos) const {
  if (pos < 0 || pos >= static_cast<std::int64_t>(sizebc)) return 0;
  const unsigned char* p = field(bc_addr() + 4 * static_cast<std::uint64_t>(pos), 4);
  if (!p) return 0;
  const auto i = load_at<std::uint32_t>(p);
  return off_.lua20 ? bc::from_lua20(i) : i;
}

std::int32_t Proto::line_at(std::int64_t pos) const {
  if (pos < 0 || pos > static_cast<std::int64_t>(sizebc) || lineinfo_ptr_ == 0) return firstline;
  if (pos == static_cast<std::int64_t>(sizebc)) return firstline + numline;
  if (pos == 0) return firstline;
  std::uint64_t i = static_cast<std::uint64_t>(pos - 1);
  if (numline < 256) {
    const unsigned char* p = field(lineinfo_ptr_ + i, 1);
    return p ? firstline + *p : firstline;
  }
  if (numline < 65536) {
    const unsigned char* p = field(lineinfo_ptr_ + 2 * i, 2);
    return p ? firstline + load_at<std::uint16_t>(p) : firstline;
  }
  const unsigned char* p = field(lineinfo_ptr_ + 4 * i, 4);
  return p ? firstline + static_cast<std::int32_t>(load_at<std::uint32_t>(p)) : firstline;
}

std::optional<std::string> Proto::uv_name(std::uint32_t idx) const {
  auto uvinfo = ref_at(blob_.data() + off_.pt_uvinfo, off_);
  const unsigned char* p = field(uvinfo, 1);
  if (!p) return std::nullopt;
  const unsigned char* end = blob_.data() + blob_.size();
  while (idx > 0 && p < end) {
    if (*p++ == 0) --idx;
  }
  const unsigned char* s = p;
  while (p < end && *p) ++p;
  if (p >= end) return std::nullopt;
  return std::string(reinterpret_cast<const char*>(s), static_cast<std::size_t>(p - s));
}

std::optional<std::string> Proto::var_name(std::int64_t pos, std::uint32_t slot) const {
  // varinfo: per variable, a name (or a VARNAME_* code < 7), then ULEB128 startpc delta
  // and ULEB128 length, sorted by startpc; VARNAME_END (0) ends it (lj_debug.c).
  static constexpr const char* kInternal[] = {"",           "(for index)", "(for limit)", "(for step)",
                                              "(for generator)", "(for state)", "(for control)"};
  auto varinfo = ref_at(blob_.data() + off_.pt_varinfo, off_);
  const unsigned char* p = field(varinfo, 1);
  if (!p || pos < 0) return std::nullopt;
  const unsigned char* end = blob_.data() + blob_.size();
  auto uleb = [&](std::uint64_t& v) {
    v = 0;
    int shift = 0;
    while (p < end) {
      unsigned char b = *p++;
      if (shift < 63) v |= std::uint64_t(b & 0x7f) << shift;
      shift += 7;
      if (!(b & 0x80)) return true;
    }
    return false;
  };
  std::uint64_t lastpc = 0;
  while (p < end) {
    const unsigned char* name = p;
    unsigned vn = *p;
    if (vn < 7) {
      if (vn == 0) break;
      ++p;
    } else {
      while (p < end && *p) ++p;
      if (p >= end) return std::nullopt;
      ++p;
    }
    std::uint64_t d1, d2;
    if (!uleb(d1)) return std::nullopt;
    std::uint64_t startpc = lastpc + d1;
    lastpc = startpc;
    if (startpc > static_cast<std::uint64_t>(pos)) break;
    if (!uleb(d2)) return std::nullopt;
    std::uint64_t endpc = startpc + d2;
    if (static_cast<std::uint64_t>(pos) < endpc && slot-- == 0) {
      if (vn < 7) return std::string(kInternal[vn]);
      return std::string(reinterpret_cast<const char*>(name));
    }
  }
  return std::nullopt;
}

std::optional<std::string> Proto::kstr(RemoteMemory& mem, std::uint32_t idx) const {
  auto it = kstr_cache_.find(idx);
  if (it != kstr_cache_.end()) return it->second;
  // proto_kgc(pt, ~idx): GCRef slots below k.
  auto k = ref_at(blob_.data() + off_.pt_k, off_);
  std::optional<std::string> out;
  const unsigned char* p = field(k - off_.ref_size * (std::uint64_t(idx) + 1), off_.ref_size);
  if (p) out = read_gcstr(mem, off_, ref_at(p, off_), 256);
  kstr_cache_.emplace(idx, out);
  return out;
}

std::string_view Proto::site_name(RemoteMemory& mem, std::int64_t pos) const {
  auto it = site_names_.find(pos);
  if (it == site_names_.end()) it = site_names_.emplace(pos, bc::call_site_name(mem, *this, pos).value_or("")).first;
  return it->second;
}

std::unique_ptr<Proto> ProtoCache::load(RemoteMemory& mem, const VmOffsets& o, std::uint64_t addr) {
  std::vector<unsigned char> hdr(o.sizeof_GCproto);
  if (!mem.read(addr, hdr.data(), hdr.size())) return nullptr;
  if (hdr[o.fn_gct] != KPERF_LJ_GCT_PROTO) return nullptr;
  auto sizept = load_at<std::uint32_t>(hdr.data() + o.pt_sizept);
  auto sizebc = load_at<std::uint32_t>(hdr.data() + o.pt_sizebc);
  if (sizept < o.sizeof_GCproto || sizept > kMaxProto || std::uint64_t(sizebc) * 4 + o.sizeof_GCproto > sizept)
    return nullptr;
  auto p = std::make_unique<Proto>();
  p->addr = addr;
  p->off_ = o;
  p->sizeof_proto_ = o.sizeof_GCproto;
  p->blob_.resize(sizept);
  if (!mem.read_direct(addr, p->blob_.data(), sizept)) return nullptr;
  if (std::memcmp(p->blob_.data(), hdr.data(), hdr.size()) != 0) return nullptr;  // changed under us
  p->sizebc = sizebc;
  p->firstline = load_at<std::int32_t>(hdr.data() + o.pt_firstline);
  p->numline = load_at<std::int32_t>(hdr.data() + o.pt_numline);
  p->chunkname_ptr_ = ref_at(hdr.data() + o.pt_chunkname, o);
  p->lineinfo_ptr_ = ref_at(hdr.data() + o.pt_lineinfo, o);
  p->chunkname = read_gcstr(mem, o, p->chunkname_ptr_).value_or("?");
  p->chunk = strip_chunk(p->chunkname);
  return p;
}

const Proto* ProtoCache::get(RemoteMemory& mem, const VmOffsets& o, std::uint64_t addr) {
  auto it = cache_.find(addr);
  if (it != cache_.end()) {
    // Re-check the live header: a freed proto's memory may now hold another one.
    std::vector<unsigned char>& hdr = hdr_;
    hdr.resize(o.sizeof_GCproto);
    if (!mem.read(addr, hdr.data(), hdr.size())) return nullptr;
    const Proto& p = *it->second;
    if (hdr[o.fn_gct] == KPERF_LJ_GCT_PROTO && ref_at(hdr.data() + o.pt_chunkname, o) == p.chunkname_ptr_ &&
        ref_at(hdr.data() + o.pt_lineinfo, o) == p.lineinfo_ptr_ &&
        load_at<std::int32_t>(hdr.data() + o.pt_firstline) == p.firstline &&
        load_at<std::uint32_t>(hdr.data() + o.pt_sizebc) == p.sizebc &&
        load_at<std::uint32_t>(hdr.data() + o.pt_sizept) == p.blob_.size()) {
      ++hits_;
      return it->second.get();
    }
    ++reloads_;
    retired_.push_back(std::move(it->second));
    cache_.erase(it);
  }
  ++misses_;
  auto p = load(mem, o, addr);
  if (!p) return nullptr;
  if (cache_.size() >= max_entries_) {
    for (auto& [a, old] : cache_) retired_.push_back(std::move(old));
    cache_.clear();
  }
  return cache_.emplace(addr, std::move(p)).first->second.get();
}

}  // namespace kperf::prof::lj

// Reads LuaJIT function prototypes (GCproto: chunk name, first line, line info, bytecode,
// upvalue and local names) from a target, cached by address; a hit is re-checked
// against the live header so a freed and reused proto address is detected. A hit
// allocates nothing; a Proto (and the names it hands out) outlives its eviction until
// release_retired(), so a walk may hold string_views into it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "profiler/luajit/remote_memory.hpp"
#include "profiler/luajit/vm_layout.hpp"

namespace kperf::prof::lj {

class Proto {
public:
  std::uint64_t addr = 0;
  std::string chunkname;  // as stored ("@/path/x.lua", "=stdin", or source text)
  std::string chunk;      // for frame names: without leading '@' / '='
  std::int32_t firstline = 0;
  std::int32_t numline = 0;
  std::uint32_t sizebc = 0;

  std::uint64_t bc_addr() const { return addr + sizeof_proto_; }
  // Bytecode position of a saved/return PC (the instruction before it), or -1.
  std::int64_t pos_of_pc(std::uint64_t pc) const;
  // Line of bytecode position pos (lj_debug_line), firstline if unknown.
  std::int32_t line_at(std::int64_t pos) const;
  // Instruction at pos (0 if out of range), its opcode numbered as in LuaJIT 2.1.
  std::uint32_t ins(std::int64_t pos) const;
  // Name of upvalue idx, local in slot at pos (nullopt if none / no debug info).
  std::optional<std::string> uv_name(std::uint32_t idx) const;
  std::optional<std::string> var_name(std::int64_t pos, std::uint32_t slot) const;
  // String constant (GCstr) ~idx of the split constant array (GGET/TGETS operands).
  std::optional<std::string> kstr(RemoteMemory& mem, std::uint32_t idx) const;
  // The name the call at bytecode position pos gives its callee (bc::call_site_name),
  // computed once per position; empty if none. Valid as long as this Proto.
  std::string_view site_name(RemoteMemory& mem, std::int64_t pos) const;

private:
  friend class ProtoCache;
  std::uint32_t sizeof_proto_ = 0x68;
  VmOffsets off_;
  std::vector<unsigned char> blob_;  // the whole colocated proto (sizept bytes)
  // header fingerprint for reuse detection
  std::uint64_t chunkname_ptr_ = 0, lineinfo_ptr_ = 0;
  const unsigned char* field(std::uint64_t remote_ptr, std::size_t len) const;
  mutable std::unordered_map<std::uint32_t, std::optional<std::string>> kstr_cache_;
  mutable std::unordered_map<std::int64_t, std::string> site_names_;
};

// Reads a GCstr's bytes (capped).
std::optional<std::string> read_gcstr(RemoteMemory& mem, const VmOffsets& o, std::uint64_t str, std::size_t cap = 4096);

class ProtoCache {
public:
  explicit ProtoCache(std::size_t max_entries = 1 << 16) : max_entries_(max_entries) {}
  // nullptr if unreadable or not a proto.
  const Proto* get(RemoteMemory& mem, const VmOffsets& o, std::uint64_t proto_addr);
  // Frees the Protos evicted since the last call (call between walks, not during one).
  void release_retired() {
    if (!retired_.empty()) retired_.clear();
  }

  std::size_t size() const { return cache_.size(); }
  std::uint64_t hits() const { return hits_; }
  std::uint64_t misses() const { return misses_; }
  std::uint64_t reloads() const { return reloads_; }  // address reused by another proto

private:
  std::unique_ptr<Proto> load(RemoteMemory& mem, const VmOffsets& o, std::uint64_t addr);
  std::size_t max_entries_;
  std::unordered_map<std::uint64_t, std::unique_ptr<Proto>> cache_;
  std::vector<std::unique_ptr<Proto>> retired_;  // evicted, still referenced by the current walk
  std::vector<unsigned char> hdr_;               // a hit's live header (reused)
  std::uint64_t hits_ = 0, misses_ = 0, reloads_ = 0;
};

}  // namespace kperf::prof::lj

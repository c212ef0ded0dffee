// SymbolTable: function symbols of one module (.symtab + .dynsym) as a sorted vector with
// sizes; an address is named only when it lies inside a symbol's [value, value+size).
#pragma once

#include <libelf.h>

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kperf::sym {

struct SymbolHit {
  std::string_view name;  // raw (mangled) name
  uint64_t start = 0;
  uint64_t size = 0;
};

class SymbolTable {
 public:
  // Adds the FUNC/IFUNC symbols (defined, non-zero value) of every SHT_SYMTAB and
  // SHT_DYNSYM section of `elf`. Names point into the ELF's string tables: `elf` must
  // outlive the table. Call finalize() after the last add.
  void add_from_elf(Elf* elf);
  void add(uint64_t start, uint64_t size, std::string_view name);  // copies the name
  // Sorts and drops duplicates: for one start address the largest size wins, then the
  // symbol read last (llvm-symbolizer's rule, so aliases such as C1/C2 agree).
  void finalize();

  // The symbol whose [start, start+size) contains addr (size 0: only addr == start).
  std::optional<SymbolHit> lookup(uint64_t addr) const;
  // The same as an index into the sorted table (valid after finalize()), for per-symbol caches.
  std::optional<size_t> lookup_index(uint64_t addr) const;
  SymbolHit at(size_t i) const { return {{syms_[i].name, syms_[i].name_len}, syms_[i].start, syms_[i].size}; }
  // The symbol with exactly this name (first match), for tests and lookups by name.
  std::optional<SymbolHit> find(std::string_view name) const;

  size_t size() const { return syms_.size(); }
  bool empty() const { return syms_.empty(); }

 private:
  struct Sym {
    uint64_t start, size;
    const char* name;
    uint32_t name_len;
    uint32_t order;  // insertion order: ties go to the last one (as llvm-symbolizer)
  };
  void add_view(uint64_t start, uint64_t size, std::string_view name);
  std::vector<Sym> syms_;
  std::deque<std::string> owned_;  // names given to add()
  
};

}  // namespace kperf::sym

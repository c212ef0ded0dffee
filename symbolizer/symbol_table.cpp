// SymbolTable: reading ELF symbol sections and the sized, sorted lookup.
#include "symbolizer/symbol_table.hpp"

#include <gelf.h>

#include <algorithm>

namespace kperf::sym {

void SymbolTable::add_view(uint64_t start, uint64_t size, std::string_view name) {
  // Symbol versions ("_IO_file_write@@GLIBC_2.2.5") are not part of the function name.
  if (size_t at = name.find('@'); at != std::string_view::npos && at > 0) name = name.substr(0, at);
  if (name.empty() || name.size() > (1u << 20) || syms_.size() >= UINT32_MAX) return;
  syms_.push_back({start, size, name.data(), static_cast<uint32_t>(name.size()), static_cast<uint32_t>(syms_.size())});
}

void SymbolTable::add(uint64_t start, uint64_t size, std::string_view name) {
  owned_.emplace_back(name);
  add_view(start, size, owned_.back());
}

void SymbolTable::add_from_elf(Elf* elf) {
  Elf_Scn* scn = nullptr;
  size_t guard = 0;
  while ((scn = elf_nextscn(elf, scn)) != nullptr && ++guard < 65536) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh)) continue;
    if (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM) continue;
    if (sh.sh_entsize == 0) continue;
    Elf_Data* data = elf_getdata(scn, nullptr);
    if (!data) continue;
    size_t count = data->d_size / sh.sh_entsize;
    for (size_t i = 0; i < count; ++i) {
      GElf_Sym sym;
      if (!gelf_getsym(data, static_cast<int>(i), &sym)) break;
      int type = GELF_ST_TYPE(sym.st_info);
      if (type != STT_FUNC && type != STT_GNU_IFUNC) continue;
      if (sym.st_shndx == SHN_UNDEF || sym.st_value == 0) continue;
      const char* name = elf_strptr(elf, sh.sh_link, sym.st_name);
      if (!name || !*name) continue;
      add_view(sym.st_value, sym.st_size, name);
    }
  }
}

void SymbolTable::finalize() {
  std::sort(syms_.begin(), syms_.end(), [](const Sym& a, const Sym& b) {
    if (a.start != b.start) return a.start < b.start;
    if (a.size != b.size) return a.size < b.size;
    return a.order < b.order;
  });
  // Keep the last of each run of equal starts.
  size_t out = 0;
  for (size_t i = 0; i < syms_.size(); ++i) {
    if (i + 1 < syms_.size() && syms_[i + 1].start == syms_[i].start) continue;
    syms_[out++] = syms_[i];
  }
  syms_.resize(out);
  syms_.shrink_to_fit();
}

std::optional<size_t> SymbolTable::lookup_index(uint64_t addr) const {
  // Only the nearest symbol starting at or below addr is considered (as llvm-symbolizer
  // does); it names addr only if addr lies inside it.
  auto it = std::upper_bound(syms_.begin(), syms_.end(), addr, [](uint64_t a, const Sym& s) { return a < s.start; });
  if (it == syms_.begin()) return std::nullopt;
  --it;
  if (addr < it->start + it->size || (it->size == 0 && addr == it->start)) return static_cast<size_t>(it - syms_.begin());
  return std::nullopt;
}

std::optional<SymbolHit> SymbolTable::lookup(uint64_t addr) const {
  auto i = lookup_index(addr);
  if (!i) return std::nullopt;
  return at(*i);
}

std::optional<SymbolHit> SymbolTable::find(std::string_view name) const {
  for (const auto& s : syms_) {
    std::string_view n(s.name, s.name_len);
    if (n == name) return SymbolHit{n, s.start, s.size};
  }
  return std::nullopt;
}

}  // namespace kperf::sym

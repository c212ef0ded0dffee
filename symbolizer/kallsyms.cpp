// Kallsyms: parsing "ADDR TYPE NAME [MODULE]" lines into a sorted table.
#include "symbolizer/kallsyms.hpp"
#include "symbolizer/text_lines.hpp"

#include <algorithm>
#include <charconv>

#include "common/text_file.hpp"

namespace kperf::sym {

void Kallsyms::load(const std::string& path) {
  if (const auto text = common::read_file(path)) load_text(*text);
}

void Kallsyms::load_text(std::string_view text) {
  syms_.clear();
  pool_.clear();
  for (std::string_view line; next_line(text, line);) {
    uint64_t addr = 0;
    auto r = std::from_chars(line.data(), line.data() + line.size(), addr, 16);
    if (r.ec != std::errc() || addr == 0) continue;
    line.remove_prefix(static_cast<size_t>(r.ptr - line.data()));
    if (line.size() < 4 || line[0] != ' ') continue;
    char type = line[1];
    if (type != 't' && type != 'T' && type != 'w' && type != 'W') continue;
    line.remove_prefix(3);
    size_t end = line.find_first_of(" \t");
    std::string_view name = line.substr(0, end);
    std::string_view mod;
    if (end != std::string_view::npos) {
      std::string_view rest = line.substr(end);
      size_t lb = rest.find('['), rb = rest.find(']');
      if (lb != std::string_view::npos && rb != std::string_view::npos && rb > lb) mod = rest.substr(lb + 1, rb - lb - 1);
    }
    if (name.empty()) continue;
    Sym s{addr, static_cast<uint32_t>(pool_.size()), static_cast<uint32_t>(name.size()), 0, 0};
    pool_.append(name);
    s.mod_off = static_cast<uint32_t>(pool_.size());
    s.mod_len = static_cast<uint32_t>(mod.size());
    pool_.append(mod);
    syms_.push_back(s);
  }
  std::stable_sort(syms_.begin(), syms_.end(), [](const Sym& a, const Sym& b) { return a.addr < b.addr; });
}

std::optional<KernelSymbol> Kallsyms::lookup(uint64_t addr) const {
  auto it = std::upper_bound(syms_.begin(), syms_.end(), addr, [](uint64_t a, const Sym& s) { return a < s.addr; });
  if (it == syms_.begin()) return std::nullopt;
  --it;
  // Several names at one address: the first listed wins (stable sort).
  auto first = std::lower_bound(syms_.begin(), it + 1, it->addr, [](const Sym& s, uint64_t a) { return s.addr < a; });
  std::string_view pool(pool_);
  return KernelSymbol{pool.substr(first->name_off, first->name_len), pool.substr(first->mod_off, first->mod_len), first->addr};
}

}  // namespace kperf::sym

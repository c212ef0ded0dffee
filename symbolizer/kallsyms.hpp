// Kallsyms: kernel symbols from /proc/kallsyms (text symbols, module names kept) for
// "name_[k]" kernel frames.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kperf::sym {

struct KernelSymbol {
  std::string_view name;
  std::string_view module;  // "" for vmlinux
  uint64_t addr = 0;
};

class Kallsyms {
 public:
  // Loads /proc/kallsyms (or the given file); addresses that are all zero (not root,
  // kptr_restrict) leave the table empty.
  void load(const std::string& path = "/proc/kallsyms");
  void load_text(std::string_view text);
  // The text symbol at or below addr (bounded by the next symbol); nullopt if none.
  std::optional<KernelSymbol> lookup(uint64_t addr) const;
  size_t size() const { return syms_.size(); }

 private:
  struct Sym {
    uint64_t addr;
    uint32_t name_off, name_len, mod_off, mod_len;
  };
  std::vector<Sym> syms_;
  std::string pool_;
};

}  // namespace kperf::sym

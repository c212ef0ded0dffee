// Module: loading symbols/FDEs/CFI from an ELF and its separate debug file; naming
// addresses and reading .debug_line.
#include "symbolizer/module.hpp"

#include <dwarf.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include <fmt/core.h>

#include "symbolizer/debuginfod.hpp"
#include "symbolizer/demangle.hpp"

namespace kperf::sym {

namespace {

bool readable(const std::string& p) { return ::access(p.c_str(), R_OK) == 0; }

}  // namespace

Module::Module(ElfFile elf, std::string name, const ModuleOptions& opts)
    : elf_(std::move(elf)), name_(std::move(name)), demangle_(opts.demangle) {
  symbols_.add_from_elf(elf_.elf());
  if (opts.find_debug_files) find_debug_file(opts);
  if (debug_elf_) symbols_.add_from_elf(debug_elf_->elf());
  symbols_.finalize();

  if (auto eh = elf_.section(".eh_frame")) fdes_.add_section(eh->bytes, eh->addr, true);
  const ElfFile& df_src = debug_elf_ && debug_elf_->section(".debug_frame") ? *debug_elf_ : elf_;
  if (auto df = df_src.section(".debug_frame")) {
    fdes_.add_section(df->bytes, 0, false);
  }
  fdes_.finalize();
  sym_name_.assign(symbols_.size(), kNoName);
  fde_name_.assign(fdes_.size(), kNoName);

  Dwarf_CFI* eh_cfi = dwarf_getcfi_elf(elf_.elf());
  Dwarf_CFI* debug_cfi = nullptr;
  if (df_src.section(".debug_frame")) {
    debug_frame_dwarf_ = dwarf_begin_elf(df_src.elf(), DWARF_C_READ, nullptr);
    if (debug_frame_dwarf_) debug_cfi = dwarf_getcfi(debug_frame_dwarf_);
  }
  cfi_ = std::make_unique<CfiTable>(eh_cfi, debug_cfi);
}

Module::~Module() {
  cfi_.reset();
  if (dwarf_ && dwarf_ != debug_frame_dwarf_) dwarf_end(dwarf_);
  if (debug_frame_dwarf_) dwarf_end(debug_frame_dwarf_);
}

void Module::find_debug_file(const ModuleOptions& opts) {
  if (elf_.section(".debug_info")) return;  // the file carries its own DWARF
  std::vector<std::string> candidates;
  const std::string& id = elf_.build_id();
  if (id.size() > 2) candidates.push_back(fmt::format("{}/.build-id/{}/{}.debug", opts.debug_root, id.substr(0, 2), id.substr(2)));
  if (auto link = elf_.debuglink()) {
    std::filesystem::path p(elf_.path());
    std::string dir = p.parent_path().string();
    candidates.push_back(fmt::format("{}{}/{}", opts.debug_root, dir, link->first));
    candidates.push_back(fmt::format("{}/{}", dir, link->first));
    candidates.push_back(fmt::format("{}/.debug/{}", dir, link->first));
  }
  auto try_open = [&](const std::string& c) {
    if (c == elf_.path() || !readable(c)) return false;
    try {
      ElfFile d = ElfFile::open(c);
      // A debug file must belong to this build: same build-id when both have one.
      if (!id.empty() && d.build_id() != id) return false;
      debug_elf_ = std::move(d);
      debug_path_ = c;
      return true;
    } catch (const std::exception&) {
      return false;
    }
  };
  for (const auto& c : candidates)
    if (try_open(c)) return;
  // Last: debuginfod servers, only when DEBUGINFOD_URLS is set.
  if (opts.debuginfod && !id.empty())
    if (auto p = debuginfod_fetch(id)) try_open(*p);
}

FunctionInfo Module::function(uint64_t file_addr) const {
  FunctionInfo f;
  if (auto s = symbols_.lookup(file_addr)) {
    f.name = demangle_ ? demangle(s->name) : std::string(s->name);
    f.start = s->start;
    f.from_symbol = true;
    return f;
  }
  if (auto r = fdes_.lookup(file_addr)) {
    f.start = r->start;
    f.from_fde = true;
  }
  return f;
}

const std::string* Module::frame_name(uint64_t file_addr) {
  if (auto it = name_cache_.find(file_addr); it != name_cache_.end()) return &names_[it->second];
  auto idx = name_index(file_addr);
  if (!idx) return nullptr;
  if (name_cache_.size() < (1u << 20)) name_cache_.emplace(file_addr, *idx);
  return &names_[*idx];
}

const std::string* Module::function_name(uint64_t file_addr) {
  auto idx = name_index(file_addr);
  return idx ? &names_[*idx] : nullptr;
}

std::optional<uint32_t> Module::name_index(uint64_t file_addr) {
  if (auto i = symbols_.lookup_index(file_addr)) {
    uint32_t& slot = sym_name_[*i];
    if (slot == kNoName) {
      auto raw = symbols_.at(*i).name;
      names_.push_back(demangle_ ? demangle(raw) : std::string(raw));
      slot = static_cast<uint32_t>(names_.size() - 1);
    }
    return slot;
  }
  if (auto i = fdes_.lookup_index(file_addr)) {
    uint32_t& slot = fde_name_[*i];
    if (slot == kNoName) {
      names_.push_back(fmt::format("{}+{:#x}", name_, fdes_.at(*i).start));
      slot = static_cast<uint32_t>(names_.size() - 1);
    }
    return slot;
  }
  return std::nullopt;
}

Dwarf* Module::dwarf() {
  if (dwarf_tried_) return dwarf_;
  dwarf_tried_ = true;
  const ElfFile* src = nullptr;
  if (elf_.section(".debug_info") || elf_.section(".debug_line")) src = &elf_;
  else if (debug_elf_ && (debug_elf_->section(".debug_info") || debug_elf_->section(".debug_line"))) src = &*debug_elf_;
  if (!src) return nullptr;
  if (debug_frame_dwarf_ && src->elf() == (debug_elf_ ? debug_elf_->elf() : elf_.elf()) &&
      dwarf_getelf(debug_frame_dwarf_) == src->elf()) {
    dwarf_ = debug_frame_dwarf_;
  } else {
    dwarf_ = dwarf_begin_elf(src->elf(), DWARF_C_READ, nullptr);
  }
  if (!dwarf_) return nullptr;
  // CU address ranges, sorted: .debug_aranges is often missing (clang), so read them
  // from the CU DIEs once.
  Dwarf_Off off = 0, next = 0;
  size_t hsize = 0;
  size_t guard = 0;
  while (dwarf_nextcu(dwarf_, off, &next, &hsize, nullptr, nullptr, nullptr) == 0 && ++guard < (1u << 22)) {
    Dwarf_Die cu;
    if (dwarf_offdie(dwarf_, off + hsize, &cu)) {
      Dwarf_Addr base = 0, lo = 0, hi = 0;
      ptrdiff_t it = 0;
      int n = 0;
      while ((it = dwarf_ranges(&cu, it, &base, &lo, &hi)) > 0 && ++n < 100000)
        if (hi > lo) cu_ranges_.push_back({lo, hi, off + hsize});
    }
    off = next;
  }
  std::sort(cu_ranges_.begin(), cu_ranges_.end(), [](const CuRange& a, const CuRange& b) { return a.lo < b.lo; });
  return dwarf_;
}

std::optional<SourceLocation> Module::source_line(uint64_t file_addr) {
  Dwarf* dw = dwarf();
  if (!dw) return std::nullopt;
  Dwarf_Die cudie;
  auto it = std::upper_bound(cu_ranges_.begin(), cu_ranges_.end(), file_addr,
                             [](uint64_t a, const CuRange& r) { return a < r.lo; });
  bool found = false;
  // Ranges of different CUs do not overlap in practice; look back a few in case they nest.
  for (int k = 0; k < 4 && it != cu_ranges_.begin(); ++k) {
    --it;
    if (file_addr < it->hi && dwarf_offdie(dw, it->die_offset, &cudie)) {
      found = true;
      break;
    }
  }
  if (!found && !dwarf_addrdie(dw, file_addr, &cudie)) return std::nullopt;
  Dwarf_Line* line = dwarf_getsrc_die(&cudie, file_addr);
  if (!line) return std::nullopt;
  const char* file = dwarf_linesrc(line, nullptr, nullptr);
  int lineno = 0;
  dwarf_lineno(line, &lineno);
  if (!file) return std::nullopt;
  return SourceLocation{file, lineno};
}

AddressInfo Module::describe(uint64_t file_addr) {
  AddressInfo info;
  info.file_addr = file_addr;
  // The cached frame name: demangled once per function.
  if (const std::string* n = function_name(file_addr)) {
    info.function = *n;
    info.from_symbol = symbols_.lookup_index(file_addr).has_value();
  }
  if (auto loc = source_line(file_addr)) {
    info.file = std::move(loc->file);
    info.line = loc->line;
  }
  return info;
}

}  // namespace kperf::sym

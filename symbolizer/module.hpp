// Module: one ELF file's symbolization and unwinding data (symbols, FDE ranges, CFI rows,
// separate debug file, source lines), shared by every process that maps it.
#pragma once

#include <elfutils/libdw.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "symbolizer/cfi_table.hpp"
#include "symbolizer/elf_file.hpp"
#include "symbolizer/fde_index.hpp"
#include "symbolizer/session.hpp"
#include "symbolizer/symbol_table.hpp"

namespace kperf::sym {

struct ModuleOptions {
  bool demangle = true;
  bool find_debug_files = true;  // /usr/lib/debug by build-id and .gnu_debuglink
  std::string debug_root = "/usr/lib/debug";
  bool debuginfod = true;  // ask debuginfod servers (only if DEBUGINFOD_URLS is set)
};

struct SourceLocation {
  std::string file;
  int line = 0;
};

// What is known about the function containing an address.
struct FunctionInfo {
  std::string name;   // demangled symbol, or "" if no symbol covers the address
  uint64_t start = 0; // symbol start or FDE start (file virtual address)
  bool from_symbol = false;
  bool from_fde = false;
};

class Module {
 public:
  // Builds the module from an opened ELF; `name` is the basename used for unnamed
  // functions ("nginx" in "nginx+0x4f200"). Throws std::runtime_error if `elf` is
  // not usable (not x86-64 is accepted: symbols still work).
  Module(ElfFile elf, std::string name, const ModuleOptions& opts);
  ~Module();
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  const std::string& name() const { return name_; }
  const std::string& build_id() const { return elf_.build_id(); }
  const ElfFile& elf() const { return elf_; }
  const std::string& debug_file() const { return debug_path_; }  // "" if none found
  CfiTable& cfi() { return *cfi_; }
  const SymbolTable& symbols() const { return symbols_; }
  const FdeIndex& fdes() const { return fdes_; }

  FunctionInfo function(uint64_t file_addr) const;
  // DESIGN.md frame name for a file address, cached: demangled name, "name+0xSTART", or
  // nullptr when nothing covers it.
  const std::string* frame_name(uint64_t file_addr);
  // The same name without the per-address cache (one lookup per call; for batches).
  const std::string* function_name(uint64_t file_addr);
  // Function (symbol, else FDE start as "name+0xSTART") and source line of a file address.
  AddressInfo describe(uint64_t file_addr);
  // Source file:line from .debug_line (main file or separate debug file).
  std::optional<SourceLocation> source_line(uint64_t file_addr);

 private:
  void find_debug_file(const ModuleOptions& opts);
  std::optional<uint32_t> name_index(uint64_t file_addr);
  Dwarf* dwarf();

  ElfFile elf_;
  std::optional<ElfFile> debug_elf_;
  std::string debug_path_;
  std::string name_;
  bool demangle_ = true;
  SymbolTable symbols_;
  FdeIndex fdes_;
  Dwarf* debug_frame_dwarf_ = nullptr;  // owns the .debug_frame Dwarf_CFI, if any
  std::unique_ptr<CfiTable> cfi_;
  Dwarf* dwarf_ = nullptr;  // for .debug_line, opened on first use
  bool dwarf_tried_ = false;
  struct CuRange {
    uint64_t lo, hi;
    uint64_t die_offset;
  };
  std::vector<CuRange> cu_ranges_;  // from each CU's DW_AT_ranges / low_pc+high_pc
  std::unordered_map<uint64_t, uint32_t> name_cache_;  // file addr -> index in names_
  std::vector<uint32_t> sym_name_;  // per symbol table entry: index in names_, or kNoName
  std::vector<uint32_t> fde_name_;  // per FDE range: index in names_, or kNoName
  static constexpr uint32_t kNoName = UINT32_MAX;
  std::deque<std::string> names_;  // stable addresses: returned pointers stay valid
};

}  // namespace kperf::sym

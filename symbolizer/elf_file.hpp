// ElfFile: an open ELF (libelf over an mmapped fd or a memory image) with the facts the
// symbolizer needs: build-id, PT_LOAD segments, sections by name, .gnu_debuglink.
#pragma once

#include <gelf.h>
#include <libelf.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace kperf::sym {

struct LoadSegment {
  uint64_t vaddr = 0, offset = 0, filesz = 0, memsz = 0;
  uint32_t flags = 0;  // PF_X / PF_W / PF_R
};

struct SectionData {
  uint64_t addr = 0;  // sh_addr
  std::span<const uint8_t> bytes;
  Elf_Scn* scn = nullptr;
};

class ElfFile {
 public:
  // Opens and validates `path`; throws std::runtime_error with a one-line reason
  // ("cannot open X: ...", "X is not an ELF file").
  static ElfFile open(const std::string& path);
  // Parses an in-memory image (kept alive by the ElfFile); throws like open().
  static ElfFile from_memory(std::vector<uint8_t> image, const std::string& name = "<memory>");

  ElfFile(ElfFile&& o) noexcept;
  ElfFile& operator=(ElfFile&& o) noexcept;
  ElfFile(const ElfFile&) = delete;
  ElfFile& operator=(const ElfFile&) = delete;
  ~ElfFile();

  Elf* elf() const { return elf_; }
  const std::string& path() const { return path_; }
  const std::string& build_id() const { return build_id_; }  // lower-case hex or empty
  const std::vector<LoadSegment>& loads() const { return loads_; }
  uint16_t type() const { return type_; }  // ET_EXEC, ET_DYN...
  uint64_t entry() const { return entry_; }  // e_entry (file vaddr; 0: none)
  bool is_x86_64() const { return machine_ == EM_X86_64; }

  // A section by name; nullopt if absent or SHT_NOBITS.
  std::optional<SectionData> section(std::string_view name) const;
  // .gnu_debuglink file name and CRC, if present.
  std::optional<std::pair<std::string, uint32_t>> debuglink() const;

  // The bias for a mapping of this file at runtime address `map_start` with file
  // offset `map_offset`: runtime address = file vaddr + bias. nullopt if no PT_LOAD
  // contains the offset.
  std::optional<uint64_t> load_bias(uint64_t map_start, uint64_t map_offset) const;

 private:
  ElfFile() = default;
  void init(const std::string& name);

  int fd_ = -1;
  Elf* elf_ = nullptr;
  std::vector<uint8_t> image_;
  std::string path_;
  std::string build_id_;
  std::vector<LoadSegment> loads_;
  uint16_t type_ = 0;
  uint64_t entry_ = 0;
  uint16_t machine_ = 0;
  size_t shstrndx_ = 0;
  bool has_shstrndx_ = false;
};

}  // namespace kperf::sym

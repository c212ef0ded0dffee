// Reads the few ELF facts the LuaJIT finder needs from a file: GNU build-id, chosen
// .dynsym symbols, the first PT_LOAD address and the interpreter's code range (.eh_frame)
// and bytes.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace kperf::prof::lj {

struct ElfProbe {
  std::string build_id;                          // lower-case hex, empty if none
  std::map<std::string, std::uint64_t> symbols;  // requested dynsyms that exist (st_value)
  std::uint64_t first_load_vaddr = 0;            // p_vaddr of the first PT_LOAD
  // The LuaJIT interpreter: the one large FDE whose CFA is rsp+80 from its first
  // instruction (lj_vm.S has a single FDE for the whole VM). Link-time addresses.
  std::optional<std::pair<std::uint64_t, std::uint64_t>> vm_code;
  std::vector<std::uint8_t> vm_bytes;  // the file's bytes of vm_code (its layout is read from them)
};

// Returns nullopt if the file is not a readable 64-bit ELF.
std::optional<ElfProbe> probe_elf(const std::string& path, const std::vector<std::string>& wanted_symbols,
                                  bool want_vm_code);

// Finds the interpreter FDE in raw .eh_frame bytes (exposed for tests).
std::optional<std::pair<std::uint64_t, std::uint64_t>> find_vm_fde(const unsigned char* data, std::size_t size,
                                                                   std::uint64_t section_vaddr);

}  // namespace kperf::prof::lj

// libFuzzer target: random bytes as an ELF file through the module loader (symbols,
// FDE index, CFI rows, source lines) and as a raw .eh_frame/.debug_frame section.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "symbolizer/fde_index.hpp"
#include "symbolizer/module.hpp"

using namespace kperf::sym;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  // The first byte picks the mode so one corpus covers both parsers.
  if (data[0] & 1) {
    FdeIndex idx;
    idx.add_section({data + 1, size - 1}, 0x1000, (data[0] & 2) != 0);
    idx.finalize();
    for (uint64_t a = 0x1000; a < 0x1000 + size; a += 7) idx.lookup(a);
    return 0;
  }
  try {
    std::vector<uint8_t> image(data + 1, data + size);
    Module m(ElfFile::from_memory(std::move(image), "fuzz"), "fuzz", ModuleOptions{true, false, "/nonexistent"});
    m.elf().load_bias(0x400000, 0);
    m.elf().debuglink();
    uint64_t probes[] = {0, 1, 0x1000, 0x400000, 0x401000};
    for (uint64_t a : probes) {
      m.function(a);
      m.frame_name(a);
      m.cfi().find(a);
      m.source_line(a);
    }
    for (size_t i = 0; i + 8 <= size && i < 64; i += 8) {
      uint64_t a = 0;
      for (int b = 0; b < 8; ++b) a |= uint64_t(data[i + b]) << (8 * b);
      m.frame_name(a & 0xffffff);
      m.cfi().find(a & 0xffffff);
    }
  } catch (const std::exception&) {
  }
  return 0;
}

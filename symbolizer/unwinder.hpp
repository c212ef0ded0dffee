// unwind_stack: walks a copied user stack with cached CFI rows (and a frame-pointer
// fallback where a PC has no CFI), producing return addresses up to the outermost frame.
#pragma once

#include <cstddef>
#include <cstdint>

#include "symbolizer/cfi_table.hpp"
#include "symbolizer/session.hpp"

namespace kperf::sym {

// Where the unwinder finds CFI for a PC: the module's table and its load bias.
struct CfiLocation {
  CfiTable* table = nullptr;  // null: mapped, but no module/CFI (JIT code, anon)
  uint64_t bias = 0;
  bool mapped = false;        // false: the PC is in no known mapping
  bool anonymous = false;     // mapped, but not from a file (JIT code, [vdso] is not)
  // The module's ELF entry point at run time (0: none). The code there is where the
  // process (or the dynamic loader) started: a frame in it is the outermost, CFI or not.
  uint64_t entry = 0;
};

// How far past an entry point a pc still counts as in the entry routine. The dynamic
// loader's `_start` has no CFI: `mov %rsp,%rdi; call _dl_start`, then _dl_start_user,
// which jumps to the program and never returns.
inline constexpr uint64_t kEntryRoutineBytes = 64;

class CfiSource {
 public:
  virtual ~CfiSource() = default;
  virtual CfiLocation locate(uint64_t pc) = 0;
};

struct UnwindOptions {
  size_t max_frames = 256;
  // For a PC without CFI: if rbp lies inside the stack copy above the current sp, use
  // CFA = rbp + 16, RA = [rbp + 8], caller's rbp = [rbp].
  bool frame_pointer_fallback = true;
};

// Writes into res (reset first): reusing one res allocates nothing once its buffers grew.
void unwind_stack(const Registers& regs, const StackCopy& stack, CfiSource& source, const UnwindOptions& opts,
                  UnwindResult& res);
inline UnwindResult unwind_stack(const Registers& regs, const StackCopy& stack, CfiSource& source,
                                 const UnwindOptions& opts) {
  UnwindResult res;
  unwind_stack(regs, stack, source, opts, res);
  return res;
}

}  // namespace kperf::sym

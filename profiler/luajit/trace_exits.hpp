// Which snapshot a point of a trace's machine code runs under, for builds whose
// snapshots do not say where their code starts (no SnapShot.mcofs: luajit2 before 2021,
// LuaJIT 2.0). Every guard of a trace is a `jcc rel32` to an exit stub (lj_asm_x86.h
// asm_guardcc), and the stub pushes its exit number, which is the snapshot number: the
// stubs of a group of 32 are `push lo; jmp short tail` (the last one falls into it), the
// group's tail `push hi; [mov [rsp+16], DISPATCH (32-bit references)]; jmp
// lj_vm_exit_handler`. A jcc counts as a guard only if its target decodes as such a stub
// whose tail jumps into the interpreter's code. The code from one guard up to the next
// belongs to the next guard's snapshot, the code after the last guard to the last
// guard's (what mcofs would give, at the granularity of guards: code after a snapshot's
// last guard is charged to the next one). Each trace's
// guards are read once and kept (checked by trace number and code address and size).
#pragma once

#include <cstdint>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "profiler/luajit/remote_memory.hpp"

namespace kperf::prof::lj {

class TraceExits {
public:
  // The snapshot (exit) number of offset `off` into trace `trace`'s code [mcode, mcode +
  // szmcode), below nsnap; nullopt if no guard of the trace decodes. vm_lo / vm_hi: the interpreter's code, where lj_vm_exit_handler is.
  // mcloop: GCtrace.mcloop, where a looping trace's loop starts (0: none).
  std::optional<std::size_t> snapshot_at(RemoteMemory& mem, std::uint64_t trace, std::uint16_t traceno,
                                         std::uint64_t mcode, std::uint32_t szmcode, std::uint32_t mcloop,
                                         std::uint64_t off, std::size_t nsnap, std::uint64_t vm_lo,
                                         std::uint64_t vm_hi);

  // The exit number an exit stub at `stub` pushes, if it is one.
  static std::optional<std::uint32_t> stub_exit(RemoteMemory& mem, std::uint64_t stub, std::uint64_t vm_lo,
                                                std::uint64_t vm_hi);

private:
  struct Guards {
    std::uint16_t traceno = 0;
    std::uint64_t mcode = 0;
    std::uint32_t szmcode = 0;
    std::vector<std::pair<std::uint32_t, std::uint32_t>> at;  // (offset of the jcc, exit number), ascending
  };
  std::unordered_map<std::uint64_t, Guards> traces_;  // by GCtrace address
  std::vector<std::uint8_t> code_;                    // a trace's code while it is scanned
};

}  // namespace kperf::prof::lj

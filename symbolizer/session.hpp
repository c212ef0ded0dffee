// The symbolizer's one entry point for a recording: process maps, modules shared by
// build-id (ELF symbols, CFI rules), kernel symbols; unwinds copied stacks, names frames.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace kperf::sym {

// x86-64 user registers captured at sample time, in DWARF register numbering:
// 0 rax, 1 rdx, 2 rcx, 3 rbx, 4 rsi, 5 rdi, 6 rbp, 7 rsp, 8..15 r8..r15, 16 rip.
struct Registers {
  uint64_t r[17] = {};
  uint64_t ip() const { return r[16]; }
  uint64_t sp() const { return r[7]; }
};

// Bytes of the user stack copied at sample time, starting at address `base` (the sp at
// sample time) upwards. Reads outside it fail (the unwinder stops there).
struct StackCopy {
  uint64_t base = 0;
  std::span<const uint8_t> bytes;
};

// Why an unwind ended: at the outermost frame, or where and why it stopped early.
enum class UnwindStop : uint8_t {
  Root = 0,         // reached the outermost frame (not a failure)
  NoMapping,        // a pc in no known mapping of the process
  NoCfi,            // a pc in a file-backed module with no CFI row, frame pointer no help
  AnonCode,         // a pc in anonymous code (JIT) with no CFI, frame pointer no help
  OffStack,         // the CFA, a register or the return address lies outside the copied stack
  BadCfa,           // CFA register unknown, CFA expression failed, or sp did not increase
  MaxFrames,        // max_frames reached
  Error,            // an exception (process gone, unreadable module)
};

struct UnwindResult {
  std::vector<uint64_t> pcs;  // innermost first; pcs[0] = regs.ip(); the rest are return addresses
  bool reached_root = false;  // ended in a frame with no caller (CFI says RA undefined, or
                              // the outermost frame: _start / clone / clone3 / main's caller)
  std::string error;          // why it stopped early, empty if reached_root
  UnwindStop stop = UnwindStop::Root;  // the cause of `error` (Root if reached_root)
};

struct SessionOptions {
  bool demangle = true;
  // Use the frame-pointer rule (CFA = rbp+16, RA at rbp+8) for a PC without CFI when
  // rbp points into the copied stack above sp.
  bool frame_pointer_fallback = true;
  // Read /tmp/perf-PID.map for addresses in anonymous (JIT) mappings.
  bool perf_maps = true;
};

// Which file maps an address in a process, and how its file addresses relate to
// runtime addresses: runtime = file_vaddr + bias.
struct MappedModule {
  std::string path;      // the path in /proc/PID/maps (as the target sees it)
  std::string build_id;  // lower-case hex, empty if the ELF has none
  uint64_t bias = 0;
  uint64_t map_start = 0, map_end = 0;  // the mapping that contains the address
  uint64_t file_offset = 0;             // that mapping's offset in the file
};

// What `kperf symbolize` prints for one address.
struct AddressInfo {
  std::string function;      // demangled symbol, "name+0xSTART" (FDE only), "" if unknown
  bool from_symbol = false;  // function came from a symbol table
  std::string module;        // Session::describe: the mapping's path ("" if none)
  uint64_t file_addr = 0;    // the address as a file virtual address of the module
  std::string file;          // source file from .debug_line, "" if unknown
  int line = 0;
};

struct SessionImpl;

// One per recording: process maps, modules keyed by build-id (ELF, symbols, CFI rules),
// kernel symbols. Thread-compatible (one thread uses it).
class Session {
 public:
  explicit Session(SessionOptions opts = {});
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void add_process(pid_t pid);     // read /proc/PID/maps now (throws if the pid is gone)
  void forget_process(pid_t pid);  // drop maps (after its samples are resolved)

  // Into out (reset first; reused, it allocates nothing once grown).
  void unwind(pid_t pid, const Registers& regs, const StackCopy& stack, UnwindResult& out, size_t max_frames = 256);
  UnwindResult unwind(pid_t pid, const Registers& regs, const StackCopy& stack, size_t max_frames = 256) {
    UnwindResult out;
    unwind(pid, regs, stack, out, max_frames);
    return out;
  }

  // DESIGN.md frame naming: demangled function name; unnamed -> "libname+0xFUNCSTART";
  // nothing known -> "[unknown]". `is_return_address`: look up pc-1 (call site).
  std::string native_frame(pid_t pid, uint64_t pc, bool is_return_address);

  // Reads /proc/kallsyms now (once; ~50 ms of kernel time) instead of at the first
  // kernel frame, so a recording does not pay it while it samples.
  void load_kernel_symbols();
  // "name_[k]" from /proc/kallsyms; "[unknown]_[k]" when no kernel symbol covers it.
  std::string kernel_frame(uint64_t addr);
  // The kernel module of a kallsyms symbol ("ext4"), empty for vmlinux or unknown.
  std::string kernel_module(uint64_t addr);

  // Which file maps `addr` in `pid` (re-reads the maps once if no mapping is known).
  std::optional<MappedModule> find_module(pid_t pid, uint64_t addr);

  // Whether `pc` lies in an anonymous mapping (JIT machine code) of `pid`, for a sample
  // taken at `sample_ns` (CLOCK_MONOTONIC). Maps read before the sample that do not show
  // pc as executable are re-read (a JIT maps its code while samples queue; it makes an
  // area writable while it adds code, so a non-executable anonymous mapping still counts),
  // as are maps older than a second; a re-read that explains nothing blocks the next one
  // like a miss does (see mapping()). `unreadable`: the maps could not be read (gone).
  bool in_anon_code(pid_t pid, uint64_t pc, uint64_t sample_ns, bool& unreadable);

  // Function and source line of a runtime address (no pc-1 adjustment).
  AddressInfo describe(pid_t pid, uint64_t addr);

  // Counters for reports and tests.
  struct Stats {
    size_t modules_loaded = 0;   // distinct module objects (one per build-id)
    size_t maps_reads = 0;       // /proc/PID/maps reads
  };
  Stats stats() const;

 private:
  std::unique_ptr<SessionImpl> impl_;
};

}  // namespace kperf::sym

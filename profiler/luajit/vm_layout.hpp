// Detects LuaJIT in a target process (shared libluajit or linked into the executable),
// identifies the build by GNU build-id and gives the struct offsets the walker uses.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "profiler/bpf/luajit_abi.h"

namespace kperf::prof::lj {

// Offsets (bytes); defaults: x86_64 GC64 luajit2 2.1-20230119. See README.md ("LuaJIT
// layout facts"); the fixed ABI facts are in profiler/bpf/luajit_abi.h.
struct VmOffsets {
  // GC references (GCRef / MRef) are 8 bytes in GC64 builds, 4 otherwise; a frame is
  // then one slot (function in the low half, link in the high half), not two.
  bool gc64 = true;
  std::uint32_t ref_size = 8;
  // lua_State
  std::uint32_t L_glref = 0x10, L_base = 0x20, L_top = 0x28, L_stack = 0x38, L_cframe = 0x50, L_stacksize = 0x58;
  std::uint32_t sizeof_lua_State = 0x70;  // offset of global_State inside GG_State
  // global_State
  std::uint32_t G_vmstate = 0xb8, G_cur_L = 0x170, G_jit_base = 0x178;
  // LuaJIT 2.0 (lua20) has no cur_L (G_cur_L 0): G_jit_L is the thread running a trace,
  // NULL otherwise (jit_base is then stale); the interpreter's thread is the lua_State
  // saved in its C frame (running_thread.hpp). Its bytecode numbers differ from 2.1's
  // (Proto::ins gives 2.1's) and its 8-byte snapshots have no mcofs.
  bool lua20 = false;
  std::uint32_t G_jit_L = 0;
  std::uint32_t dispatch_from_G = 0xfa8;  // r14 - G while in the interpreter
  // jit_State (J = G + J_from_G): trace array and its size; GCtrace fields
  std::uint32_t J_from_G = 0x2e0, J_trace = 0x180, J_sizetrace = 0x18c;
  std::uint32_t tr_startpt = 0x40, tr_startpc = 0x48, tr_traceno = 0x68;
  // GCtrace snapshots: count, SnapShot array (12 bytes: mapofs u32, ref u16, mcofs u16,
  // nslots, topslot, nent, count), SnapEntry map; machine code and its size.
  std::uint32_t tr_nsnap = 0x0a, tr_snap = 0x30, tr_snapmap = 0x38, tr_szmcode = 0x54, tr_mcode = 0x58;
  // GCtrace IR: instructions and constants (biased by REF_BIAS 0x8000; a 64-bit
  // constant's payload fills the slot after it) and the lowest constant's reference.
  std::uint32_t tr_ir = 0x20, tr_nk = 0x28;
  // GCfunc
  std::uint32_t fn_gct = KPERF_LJ_FN_GCT_GC64, fn_ffid = KPERF_LJ_FN_FFID_GC64, fn_pc = KPERF_LJ_FN_PC_GC64,
                fn_cfunc = KPERF_LJ_FN_CFUNC_GC64;
  // GCproto
  std::uint32_t pt_sizebc = 0x0c, pt_k = 0x20, pt_sizept = 0x38, pt_chunkname = 0x40, pt_firstline = 0x48,
                pt_numline = 0x4c, pt_lineinfo = 0x50, pt_uvinfo = 0x58, pt_varinfo = 0x60, sizeof_GCproto = 0x68;
  // GCstr
  std::uint32_t str_len = 0x14, str_data = 0x18;
  // C frame (CFRAME) saved PC
  std::uint32_t cframe_pc = 0x18;
};

// The fields that do not move between builds of one reference width (LuaJIT 2.1 from
// 2017 to 2026, luajit2 and upstream, checked against offsetof in each tree by the
// matrix test); the rest comes from the build's code (vm_code_layout) and the process.
VmOffsets family_offsets(bool gc64);

// Builds checked on Debian 12: names for messages, and a cache of nothing but that name
// (offsets always come from the build's own code).
struct KnownBuild {
  std::string_view build_id;
  std::string_view description;  // package + file
};
std::span<const KnownBuild> known_builds();

// Fast-function names indexed by ffid ("Lua", "C", "assert", ... "string.find").
std::span<const std::string_view> ffnames_for(bool openresty);

struct VmLayout {
  std::string path;             // file holding the VM (libluajit or the executable)
  std::string build_id;         // hex, may be empty
  std::string build;            // description from the table, or "build-id X"
  bool known = false;           // build-id in the table
  bool openresty = true;        // luajit2 (exports lua_setexdata): its fast-function names
  bool G_fields_known = false;  // sizeof(lua_State): set by find_vm at the first G
  VmOffsets off;
  std::span<const std::string_view> ffnames;  // built-in list (luajit2 or upstream)
  std::vector<std::string> own_ffnames;        // the build's installed jit/vmdef.lua, if found
  std::uint64_t load_bias = 0;  // runtime address = link-time address + load_bias
  std::uint64_t vm_lo = 0, vm_hi = 0;  // the interpreter's code, runtime addresses
  std::vector<std::pair<std::uint64_t, std::uint64_t>> exec_ranges;  // all executable mappings of path

  bool in_vm(std::uint64_t rip) const { return rip >= vm_lo && rip < vm_hi; }
  std::string_view ffname(unsigned ffid) const {
    if (!own_ffnames.empty()) return ffid < own_ffnames.size() ? own_ffnames[ffid] : std::string_view{};
    return ffid < ffnames.size() ? ffnames[ffid] : std::string_view{};
  }
};

struct DetectResult {
  bool found = false;   // a LuaJIT VM is mapped
  bool usable = false;  // layout read from the build; walker may run (still validated per G)
  std::string message;  // why not usable (one line: build-id, path, what failed)
  VmLayout layout;
};

// The layout of the LuaJIT in `file` (an ELF holding lua_newstate + luaJIT_setmode), as
// detect_luajit gives it, with load_bias 0 and no exec ranges. For tests and tools.
DetectResult layout_of_file(const std::string& file);

// Looks at /proc/PID/maps and the mapped files. Does not read target memory.
DetectResult detect_luajit(pid_t pid);

}  // namespace kperf::prof::lj

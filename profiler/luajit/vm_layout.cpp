// Detects LuaJIT in a target process and reads its layout from the build: the
// interpreter's machine code for what moves between builds, the reference-width family
// for the rest (see vm_layout.hpp). The build-id table only names the Debian builds.
#include "profiler/luajit/vm_layout.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>

#include "profiler/luajit/elf_probe.hpp"
#include "profiler/luajit/ff_names.hpp"
#include "profiler/luajit/process_maps.hpp"
#include "profiler/luajit/vm_code_layout.hpp"

namespace kperf::prof::lj {
namespace {

// Build-ids read with `readelf -n` from the Debian 12 (bookworm) packages.
constexpr std::array<KnownBuild, 4> kKnownBuilds{{
    {"0a6563c55d870716908fd332f88bf7cdd9bc6a71",
     "luajit2 2.1-20230119 (libluajit2-5.1-2 2.1-20230119-1: libluajit-5.1.so.2.1.0)"},
    {"3e3d615119e82f1b42bd151e94701750bfd15a9d", "luajit2 2.1-20230119 (luajit2 2.1-20230119-1: /usr/bin/luajit)"},
    {"2e18b5eadde600273e47ba2f83a1df8b6a5b2540",
     "LuaJIT 2.1.0~beta3+git20220320 (libluajit-5.1-2 2.1.0~beta3+git20220320+dfsg-4.1+deb12u1: "
     "libluajit-5.1.so.2.1.0)"},
    {"79b0b8114f05a2726860c3141195279ceb0f6e29",
     "LuaJIT 2.1.0~beta3+git20220320 (luajit 2.1.0~beta3+git20220320+dfsg-4.1+deb12u1: /usr/bin/luajit)"},
}};

const std::vector<std::string> kVmSymbols{"lua_newstate", "luaJIT_setmode", "lua_setexdata"};

std::string basename_of(const std::string& p) {
  auto s = p.rfind('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}

// Fills L (all but load bias / exec ranges) from one probed file (path as the process
// maps it, file as readable here); false + message if the layout cannot be read from it.
bool layout_from_probe(const std::string& path, const std::string& file, const ElfProbe& probe, VmLayout& L,
                       std::string& message) {
  L.path = path;
  L.build_id = probe.build_id;
  auto it = std::find_if(kKnownBuilds.begin(), kKnownBuilds.end(),
                         [&](const KnownBuild& k) { return k.build_id == L.build_id; });
  L.known = it != kKnownBuilds.end();
  L.build = L.known ? std::string(it->description)
                    : fmt::format("build-id {}", L.build_id.empty() ? "none" : L.build_id);
  L.openresty = probe.symbols.count("lua_setexdata") > 0;
  L.ffnames = ffnames_for(L.openresty);
  if (auto own = ffnames_installed_with(file)) L.own_ffnames = std::move(*own);
  const std::string who = fmt::format("LuaJIT in {} ({})", path, L.build);
  if (!probe.vm_code) {
    message = who + ": interpreter code range not found in .eh_frame";
    return false;
  }
  L.vm_lo = probe.vm_code->first;
  L.vm_hi = probe.vm_code->second;
  if (probe.vm_bytes.empty()) {
    message = who + ": interpreter code unreadable";
    return false;
  }
  const CodeLayout c = read_vm_code_layout(probe.vm_bytes);
  if (!c.ok) {
    message = fmt::format("{}: layout not found in its machine code: {}", who, c.error);
    return false;
  }
  VmOffsets o = family_offsets(c.gc64);
  if (c.lua20) o.tr_nsnap = 0x1c;  // 2.0's GCtrace: nsnap after nins/nk (the rest as 2.1)
  const std::uint32_t r = o.ref_size;
  o.dispatch_from_G = c.dispatch_from_G;
  o.L_glref = c.L_glref;
  o.L_cframe = c.L_cframe;
  o.L_stacksize = c.L_cframe + 8;  // void *cframe; MSize stacksize
  o.L_stack = c.L_stack;
  o.L_top = c.L_top;
  o.L_base = c.L_top - 8;          // TValue *base, *top
  o.G_vmstate = c.G_vmstate;
  o.G_cur_L = c.G_cur_L;
  o.G_jit_base = c.G_cur_L + r;    // GCRef cur_L; MRef jit_base
  o.lua20 = c.lua20;
  if (c.lua20) {
    o.G_jit_L = c.G_jit_L;
    o.G_jit_base = c.G_jit_L + r;  // GCRef jit_L; MRef jit_base
  }
  o.J_from_G = c.J_from_G;
  o.J_trace = c.J_trace;
  o.J_sizetrace = c.J_trace + 12;  // GCRef *trace; TraceNo freetrace, sizetrace
  L.off = o;
  if (o.lua20) L.ffnames = ffnames_lua20();
  return true;
}

}  // namespace

std::span<const KnownBuild> known_builds() { return kKnownBuilds; }

VmOffsets family_offsets(bool gc64) {
  VmOffsets o;  // GC64
  if (gc64) return o;
  o.gc64 = false;
  o.ref_size = 4;
  o.L_glref = 0x08, o.L_base = 0x10, o.L_top = 0x18, o.L_stack = 0x24, o.L_cframe = 0x30, o.L_stacksize = 0x38;
  o.sizeof_lua_State = 0x48;
  o.G_vmstate = 0x58, o.G_cur_L = 0xf8, o.G_jit_base = 0xfc;
  o.dispatch_from_G = 0xc28;
  o.J_from_G = 0x1a0, o.J_trace = 0x170, o.J_sizetrace = 0x17c;
  o.tr_startpt = 0x30, o.tr_startpc = 0x34, o.tr_traceno = 0x50;
  o.tr_nsnap = 0x06, o.tr_snap = 0x20, o.tr_snapmap = 0x28, o.tr_szmcode = 0x3c, o.tr_mcode = 0x40;
  o.tr_ir = 0x10, o.tr_nk = 0x18;
  o.fn_gct = KPERF_LJ_FN_GCT_REF32, o.fn_ffid = KPERF_LJ_FN_FFID_REF32, o.fn_pc = KPERF_LJ_FN_PC_REF32;
  o.fn_cfunc = KPERF_LJ_FN_CFUNC_REF32;
  o.pt_sizebc = 0x08, o.pt_k = 0x10, o.pt_sizept = 0x20, o.pt_chunkname = 0x28, o.pt_firstline = 0x2c;
  o.pt_numline = 0x30, o.pt_lineinfo = 0x34, o.pt_uvinfo = 0x38, o.pt_varinfo = 0x3c, o.sizeof_GCproto = 0x40;
  o.str_len = 0x0c, o.str_data = 0x10;
  o.cframe_pc = 0x1c;
  return o;
}

std::span<const std::string_view> ffnames_for(bool openresty) {
  return openresty ? ffnames_luajit2() : ffnames_vanilla();
}

DetectResult layout_of_file(const std::string& file) {
  DetectResult r;
  auto probe = probe_elf(file, kVmSymbols, true);
  if (!probe || !probe->symbols.count("lua_newstate") || !probe->symbols.count("luaJIT_setmode")) {
    r.message = fmt::format("no LuaJIT in {}", file);
    return r;
  }
  r.found = true;
  r.usable = layout_from_probe(file, file, *probe, r.layout, r.message);
  return r;
}

DetectResult detect_luajit(pid_t pid) {
  DetectResult r;
  std::vector<Mapping> maps = read_process_maps(pid);
  std::vector<std::string> paths;
  for (const Mapping& m : maps)
    if (m.exec && !m.path.empty() && m.path[0] == '/' &&
        std::find(paths.begin(), paths.end(), m.path) == paths.end())
      paths.push_back(m.path);
  // libluajit first, then files exporting the Lua API (luajit binary, openresty).
  std::stable_sort(paths.begin(), paths.end(), [](const std::string& a, const std::string& b) {
    return (basename_of(a).rfind("libluajit", 0) == 0) > (basename_of(b).rfind("libluajit", 0) == 0);
  });
  for (const std::string& path : paths) {
    std::string base = basename_of(path);
    if (base.rfind("libc.so", 0) == 0 || base.rfind("ld-linux", 0) == 0 || base.rfind("libm.so", 0) == 0) continue;
    // /proc/PID/root makes paths valid from another mount namespace (containers).
    std::string file = fmt::format("/proc/{}/root{}", pid, path);
    auto probe = probe_elf(file, kVmSymbols, true);
    if (!probe) probe = probe_elf(path, kVmSymbols, true);
    if (!probe || !probe->symbols.count("lua_newstate") || !probe->symbols.count("luaJIT_setmode")) continue;

    r.found = true;
    VmLayout& L = r.layout;
    r.usable = layout_from_probe(path, file, *probe, L, r.message);
    for (const Mapping& m : maps) {
      if (m.path != path) continue;
      if (m.offset == 0 && L.load_bias == 0) L.load_bias = m.start - (probe->first_load_vaddr & ~0xfffull);
      if (m.exec) L.exec_ranges.emplace_back(m.start, m.end);
    }
    if (L.vm_hi) {
      L.vm_lo += L.load_bias;
      L.vm_hi += L.load_bias;
    }
    return r;
  }
  r.message = fmt::format("no LuaJIT found in process {}", pid);
  return r;
}

}  // namespace kperf::prof::lj

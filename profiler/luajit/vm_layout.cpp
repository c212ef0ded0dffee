// Detects LuaJIT in a target process, identifies the build by GNU build-id and gives
// the struct offsets (built-in table for the Debian 12 builds, validated at run time).
#include "profiler/luajit/vm_layout.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <map>

#include "profiler/luajit/elf_probe.hpp"
#include "profiler/luajit/ff_names.hpp"
#include "profiler/luajit/process_maps.hpp"

namespace kperf::prof::lj {
namespace {

// Build-ids read with `readelf -n` from the Debian 12 (bookworm) packages.
constexpr std::array<KnownBuild, 4> kKnownBuilds{{
    {"0a6563c55d870716908fd332f88bf7cdd9bc6a71",
     "luajit2 2.1-20230119 (libluajit2-5.1-2 2.1-20230119-1: libluajit-5.1.so.2.1.0)", true, true},
    {"3e3d615119e82f1b42bd151e94701750bfd15a9d", "luajit2 2.1-20230119 (luajit2 2.1-20230119-1: /usr/bin/luajit)",
     true, true},
    {"2e18b5eadde600273e47ba2f83a1df8b6a5b2540",
     "LuaJIT 2.1.0~beta3+git20220320 (libluajit-5.1-2 2.1.0~beta3+git20220320+dfsg-4.1+deb12u1: "
     "libluajit-5.1.so.2.1.0)",
     true, false},
    {"79b0b8114f05a2726860c3141195279ceb0f6e29",
     "LuaJIT 2.1.0~beta3+git20220320 (luajit 2.1.0~beta3+git20220320+dfsg-4.1+deb12u1: /usr/bin/luajit)", true,
     false},
}};

const std::vector<std::string> kVmSymbols{"lua_newstate", "luaJIT_setmode", "lua_setexdata"};

std::string basename_of(const std::string& p) {
  auto s = p.rfind('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}

}  // namespace

std::span<const KnownBuild> known_builds() { return kKnownBuilds; }

VmOffsets offsets_for(bool openresty) {
  VmOffsets o;
  if (!openresty) {
    o.sizeof_lua_State = 0x60;  // no exdata/exdata2 fields
    o.dispatch_from_G = 0xf80;
    o.J_from_G = 0x2d8;
  }
  return o;
}

std::span<const std::string_view> ffnames_for(bool openresty) {
  return openresty ? ffnames_luajit2() : ffnames_vanilla();
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
    L.path = path;
    L.build_id = probe->build_id;
    for (const Mapping& m : maps) {
      if (m.path != path) continue;
      if (m.offset == 0 && L.load_bias == 0) L.load_bias = m.start - (probe->first_load_vaddr & ~0xfffull);
      if (m.exec) L.exec_ranges.emplace_back(m.start, m.end);
    }
    if (!probe->vm_code) {
      r.message = fmt::format("LuaJIT in {} (build-id {}): interpreter code range not found in .eh_frame; no Lua "
                              "frames",
                              path, L.build_id.empty() ? "none" : L.build_id);
      return r;
    }
    L.vm_lo = probe->vm_code->first + L.load_bias;
    L.vm_hi = probe->vm_code->second + L.load_bias;
    auto it = std::find_if(kKnownBuilds.begin(), kKnownBuilds.end(),
                           [&](const KnownBuild& k) { return k.build_id == L.build_id; });
    if (it != kKnownBuilds.end()) {
      if (!it->gc64) {
        r.message = fmt::format("LuaJIT in {} is a non-GC64 build ({}): not supported, no Lua frames", path,
                                it->description);
        return r;
      }
      L.known = true;
      L.build = std::string(it->description);
      L.openresty = it->openresty;
      L.off = offsets_for(L.openresty);
      L.ffnames = ffnames_for(L.openresty);
      r.usable = true;
      r.candidates.push_back(L);
      return r;
    }
    // Unknown build: try both layouts (the exported lua_setexdata marks OpenResty's
    // branch, so that one first); find_vm accepts whichever validates.
    bool openresty = probe->symbols.count("lua_setexdata") > 0;
    L.build = fmt::format("unknown build (build-id {})", L.build_id.empty() ? "none" : L.build_id);
    r.message = fmt::format("LuaJIT in {}: {} not in the offset table; trying the {} layout, accepted only if it "
                            "validates",
                            path, L.build, openresty ? "luajit2" : "vanilla");
    for (bool flavour : {openresty, !openresty}) {
      VmLayout c = L;
      c.openresty = flavour;
      c.off = offsets_for(flavour);
      c.ffnames = ffnames_for(flavour);
      r.candidates.push_back(c);
    }
    r.layout = r.candidates.front();
    r.usable = true;
    return r;
  }
  r.message = fmt::format("no LuaJIT found in process {}", pid);
  return r;
}

}  // namespace kperf::prof::lj

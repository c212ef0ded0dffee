// Finds and validates a process's LuaJIT global_State (G); see find_vm.hpp.
#include "profiler/luajit/find_vm.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "profiler/bpf/luajit_abi.h"
#include "profiler/luajit/elf_probe.hpp"
#include "profiler/luajit/process_maps.hpp"
#include "profiler/luajit/running_thread.hpp"

namespace kperf::prof::lj {

namespace {
// A GC object address: below 2^47 (luajit_abi.h), 8-aligned, not in the first 64 KiB.
bool plausible(std::uint64_t p) { return p >= 0x10000 && p <= KPERF_LJ_GC_MASK && !(p & 7); }
}  // namespace

std::string learn_G_fields(RemoteMemory& mem, VmOffsets& o, std::uint64_t G) {
  if (!plausible(G)) return fmt::format("G 0x{:x} is not a plausible address", G);
  // GG_State: lua_State L; global_State g; ... The main thread is the thread object
  // right before G whose glref is G.
  std::uint32_t size = 0;
  for (std::uint32_t s = 0x30; s <= 0x100 && !size; s += 8) {
    auto glref = mem.ref(G - s + o.L_glref, o.ref_size);
    auto gct = mem.read<std::uint8_t>(G - s + o.fn_gct);
    if (glref && *glref == G && gct && *gct == KPERF_LJ_GCT_THREAD) size = s;
  }
  if (!size) return fmt::format("no main lua_State right before G 0x{:x} (GG_State layout)", G);
  o.sizeof_lua_State = size;
  return {};
}

bool validate_G(RemoteMemory& mem, const VmOffsets& o, std::uint64_t G) {
  if (!plausible(G)) return false;
  // GG layout: the main thread right before G, a thread whose glref is G.
  const std::uint64_t mainL = G - o.sizeof_lua_State;
  auto glref = mem.ref(mainL + o.L_glref, o.ref_size);
  auto gct = mem.read<std::uint8_t>(mainL + o.fn_gct);
  if (!glref || *glref != G || !gct || *gct != KPERF_LJ_GCT_THREAD) return false;
  auto curL = mem.ref(G + thread_field(o), o.ref_size);
  if (!curL) return false;
  if (*curL != 0) {
    auto cg = mem.ref(*curL + o.L_glref, o.ref_size);
    if (!cg || *cg != G) return false;
  }
  auto vmstate = mem.read<std::int32_t>(G + o.G_vmstate);
  return vmstate && *vmstate >= -7 && *vmstate < 65536;
}

VmFinder::VmFinder(pid_t pid) : pid_(pid), det_(detect_luajit(pid)) {}

bool VmFinder::accept_G(RemoteMemory& mem, std::uint64_t G) {
  if (!det_.usable) return false;
  VmLayout& l = det_.layout;
  VmOffsets o = l.off;
  std::string why;
  if (!l.G_fields_known) why = learn_G_fields(mem, o, G);
  if (why.empty() && !validate_G(mem, o, G))
    why = fmt::format("G 0x{:x} does not validate (main thread before G, cur_L, vmstate)", G);
  if (!why.empty()) {
    refusal_ = fmt::format("LuaJIT in {} ({}): {}", l.path, l.build, why);
    return false;
  }
  l.off = o;
  l.G_fields_known = true;
  G_ = G;
  refusal_.clear();
  return true;
}

bool VmFinder::accept_L(RemoteMemory& mem, std::uint64_t L) {
  if (!det_.usable || L == 0) return false;
  auto G = mem.ref(L + det_.layout.off.L_glref, det_.layout.off.ref_size);
  return G && accept_G(mem, *G);
}

std::optional<std::uint64_t> VmFinder::from_registers(RemoteMemory& mem, const UserRegs& regs) {
  if (!det_.usable) return std::nullopt;
  if (det_.layout.in_vm(regs.rip())) {
    std::uint64_t r14 = regs.r14();
    if (!det_.layout.off.gc64) r14 &= 0xffffffffu;  // DISPATCH is r14d
    const std::uint64_t G = r14 - det_.layout.off.dispatch_from_G;
    if (G_ && *G_ == G) return G_;
    if (accept_G(mem, G)) return G_;
  }
  return G_;
}

std::optional<std::uint64_t> VmFinder::from_stack(RemoteMemory& mem, const std::uint8_t* stack, std::size_t len) {
  if (!det_.usable || G_) return G_;
  // A trace's spill area lies between rsp and the C frame (CFRAME_SIZE_JIT and spadjust:
  // well under 1 KiB); each word that could be a lua_State gives a candidate G.
  const VmOffsets& o = det_.layout.off;
  for (std::size_t off = 0; off + 8 <= len && off < 1024; off += 8) {
    std::uint64_t w;
    std::memcpy(&w, stack + off, sizeof w);
    if (!o.gc64) w &= 0xffffffffu;
    if (!plausible(w)) continue;
    auto gct = mem.read<std::uint8_t>(w + o.fn_gct);
    if (!gct || *gct != KPERF_LJ_GCT_THREAD) continue;
    if (accept_L(mem, w)) return G_;
  }
  return G_;
}

std::optional<std::uint64_t> VmFinder::from_nginx(RemoteMemory& mem) {
  if (!det_.usable) return std::nullopt;
  // Resolve the three exported symbols in whichever mapped files define them.
  std::vector<Mapping> maps = read_process_maps(pid_);
  std::map<std::string, std::uint64_t> addr;
  const std::vector<std::string> wanted{"ngx_cycle", "ngx_http_module", "ngx_http_lua_module"};
  std::vector<std::string> seen;
  for (const Mapping& m : maps) {
    if (m.path.empty() || m.path[0] != '/' || m.offset != 0) continue;
    if (std::find(seen.begin(), seen.end(), m.path) != seen.end()) continue;
    seen.push_back(m.path);
    bool exec_mapped = std::any_of(maps.begin(), maps.end(),
                                   [&](const Mapping& x) { return x.path == m.path && x.exec; });
    if (!exec_mapped) continue;
    auto probe = probe_elf(fmt::format("/proc/{}/root{}", pid_, m.path), wanted, false);
    if (!probe) probe = probe_elf(m.path, wanted, false);
    if (!probe) continue;
    std::uint64_t bias = m.start - (probe->first_load_vaddr & ~0xfffull);
    for (const auto& [name, value] : probe->symbols)
      if (!addr.count(name)) addr[name] = value + bias;
  }
  if (addr.size() != wanted.size()) return std::nullopt;
  // ngx_module_t: ctx_index at 0, index at 8. ngx_cycle_t: conf_ctx first.
  // ngx_http_conf_ctx_t: main_conf first. ngx_http_lua_main_conf_t (0.10.23): lua first.
  auto cycle = mem.u64(addr["ngx_cycle"]);
  auto http_index = mem.u64(addr["ngx_http_module"] + 8);
  auto lua_ctx_index = mem.u64(addr["ngx_http_lua_module"]);
  if (!cycle || !*cycle || !http_index || !lua_ctx_index || *http_index > 4096 || *lua_ctx_index > 4096)
    return std::nullopt;
  auto conf_ctx = mem.u64(*cycle);
  if (!conf_ctx || !*conf_ctx) return std::nullopt;
  auto http_ctx = mem.u64(*conf_ctx + 8 * *http_index);
  if (!http_ctx || !*http_ctx) return std::nullopt;
  auto main_conf = mem.u64(*http_ctx);
  if (!main_conf || !*main_conf) return std::nullopt;
  auto lmcf = mem.u64(*main_conf + 8 * *lua_ctx_index);
  if (!lmcf || !*lmcf) return std::nullopt;
  auto L = mem.u64(*lmcf);
  if (!L || !*L) return std::nullopt;
  if (!accept_L(mem, *L)) return std::nullopt;
  nginx_L_ = *L;
  return G_;
}

VmFinder& VmCache::get(pid_t pid) {
  auto it = finders_.find(pid);
  if (it == finders_.end()) it = finders_.emplace(pid, std::make_unique<VmFinder>(pid)).first;
  return *it->second;
}

}  // namespace kperf::prof::lj

// Finds a process's LuaJIT global_State (G): from the interpreter's DISPATCH register
// (r14) while a sample is in the VM, or in nginx workers from the exported
// ngx_cycle -> http main conf -> ngx_http_lua_main_conf_t.lua chain; completes the
// layout with what only the live process tells (GG layout), validates, caches.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "profiler/luajit/remote_memory.hpp"
#include "profiler/luajit/user_regs.hpp"
#include "profiler/luajit/vm_layout.hpp"

namespace kperf::prof::lj {

// Learns, at a candidate G, sizeof(lua_State): the main thread sits right before G in
// GG_State (a thread whose glref is G). Returns what failed (empty on success); o is
// updated only on success.
std::string learn_G_fields(RemoteMemory& mem, VmOffsets& o, std::uint64_t G);

// True if G looks like a live global_State for offsets `o`: GG layout (a thread whose
// glref is G just before it), cur_L's glref == G, vmstate in range.
bool validate_G(RemoteMemory& mem, const VmOffsets& o, std::uint64_t G);

class VmFinder {
public:
  // Detects LuaJIT in pid (reads /proc/PID/maps and the mapped ELF files); throws
  // std::runtime_error if the process is gone.
  explicit VmFinder(pid_t pid);

  pid_t pid() const { return pid_; }
  bool has_luajit() const { return det_.found; }
  bool usable() const { return det_.usable; }
  const std::string& message() const { return det_.message; }  // why not usable, one line
  // Why the last candidate G was refused (one line: build, path, what failed), if it was.
  const std::string& refusal() const { return refusal_; }
  const VmLayout& layout() const { return det_.layout; }
  std::optional<std::uint64_t> G() const { return G_; }

  // Accepts G if it validates (learning the G fields at the first one); caches it.
  bool accept_G(RemoteMemory& mem, std::uint64_t G);
  // From a lua_State pointer (its glref).
  bool accept_L(RemoteMemory& mem, std::uint64_t L);
  // While rip is inside the interpreter: G = r14 - dispatch offset. Returns the cached G
  // otherwise (or if r14 does not validate).
  std::optional<std::uint64_t> from_registers(RemoteMemory& mem, const UserRegs& regs);
  // From the sample's copy of the native stack (bytes from rsp up): the VM's C frame
  // holds the running lua_State (SAVE_L), hence G. For trace code of builds whose traces
  // do not keep DISPATCH in r14 (32-bit references), before any interpreter sample.
  std::optional<std::uint64_t> from_stack(RemoteMemory& mem, const std::uint8_t* stack, std::size_t len);
  // nginx + lua-nginx-module: ngx_cycle->conf_ctx[ngx_http_module.index]
  //   ->main_conf[ngx_http_lua_module.ctx_index]->lua (first field). Returns G.
  std::optional<std::uint64_t> from_nginx(RemoteMemory& mem);
  // The main lua_State of the nginx chain (set by from_nginx).
  std::optional<std::uint64_t> nginx_main_L() const { return nginx_L_; }

  // Drops the cached G (nginx reload, failed validation later).
  void forget() { G_.reset(); }

private:
  pid_t pid_;
  DetectResult det_;
  std::optional<std::uint64_t> G_;
  std::optional<std::uint64_t> nginx_L_;
  std::string refusal_;
};

// One VmFinder per pid.
class VmCache {
public:
  VmFinder& get(pid_t pid);
  void erase(pid_t pid) { finders_.erase(pid); }

private:
  std::map<pid_t, std::unique_ptr<VmFinder>> finders_;
};

}  // namespace kperf::prof::lj

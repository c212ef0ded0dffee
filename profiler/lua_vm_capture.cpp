// The sample's captured LuaJIT VM state as RemoteMemory snapshots: each word is written
// at the address the kernel side read it from; nothing is allocated per sample (the
// snapshots' bytes go to RemoteMemory's reused buffer).
#include "profiler/lua_vm_capture.hpp"

#include <algorithm>
#include <cstring>
#include <span>

namespace kperf::prof {

namespace {

template <typename T>
void snap(lj::RemoteMemory& mem, uint64_t addr, T value) {
  unsigned char b[sizeof(T)];
  std::memcpy(b, &value, sizeof(T));
  mem.add_snapshot(addr, b);
}

// A GC reference: 4 bytes without GC64 (the kernel side read it so).
void snap_ref(lj::RemoteMemory& mem, const lj::VmOffsets& o, uint64_t addr, uint64_t value) {
  if (o.ref_size == 4) return snap(mem, addr, static_cast<uint32_t>(value));
  snap(mem, addr, value);
}

// The innermost frames' functions as they were at sample time (pairs from word `first`,
// their number in word `count`): a closure collected since (its memory freed or reused)
// still names its frame; its prototype lives on.
void add_funcs(const __u64* w, int count, int first, uint64_t max, const lj::VmOffsets& o, lj::RemoteMemory& mem) {
  const uint64_t nfuncs = std::min<uint64_t>(w[count], max);
  for (uint64_t i = 0; i < nfuncs; ++i) {
    const uint64_t word = w[first + 2 * i];
    const uint64_t fn = word & KPERF_LUA_FN_ADDR_MASK;
    const auto ffid = static_cast<uint8_t>(word >> 48);
    const uint64_t value = w[first + 2 * i + 1];
    if (fn == 0 || o.fn_ffid != o.fn_gct + 1) continue;
    const unsigned char gct_ffid[2] = {KPERF_LJ_GCT_FUNC, ffid};
    mem.add_snapshot(fn + o.fn_gct, gct_ffid);
    if (ffid == KPERF_LJ_FFID_LUA) snap_ref(mem, o, fn + o.fn_pc, value);
    if (ffid == KPERF_LJ_FFID_C) snap(mem, fn + o.fn_cfunc, value);
  }
}

}  // namespace

void add_captured_state(const SampleView& s, const lj::VmOffsets& o, lj::RemoteMemory& mem) {
  const auto& w = s.raw->lua.words;
  const uint64_t G = w[KPERF_LUA_W_G];
  snap(mem, G + o.G_vmstate, static_cast<int32_t>(w[KPERF_LUA_W_VMSTATE]));
  if (o.lua20)  // jit_L: the running thread while a trace's frame is current, else NULL
    snap_ref(mem, o, G + o.G_jit_L, w[KPERF_LUA_W_JIT_BASE] ? w[KPERF_LUA_W_CUR_L] : 0);
  else
    snap_ref(mem, o, G + o.G_cur_L, w[KPERF_LUA_W_CUR_L]);
  snap_ref(mem, o, G + o.G_jit_base, w[KPERF_LUA_W_JIT_BASE]);
  const uint64_t L = w[KPERF_LUA_W_CUR_L];
  if (L) {
    snap(mem, L + o.L_base, w[KPERF_LUA_W_L_BASE]);
    snap_ref(mem, o, L + o.L_stack, w[KPERF_LUA_W_L_STACK]);
    snap(mem, L + o.L_stacksize, static_cast<uint32_t>(w[KPERF_LUA_W_L_STACKSIZE]));
    snap(mem, L + o.L_cframe, w[KPERF_LUA_W_L_CFRAME]);
    const uint64_t cf = w[KPERF_LUA_W_L_CFRAME] & KPERF_LJ_CFRAME_MASK;
    if (cf) snap_ref(mem, o, cf + o.cframe_pc, w[KPERF_LUA_W_CFRAME_PC]);
  }
  add_funcs(w, KPERF_LUA_W_NFUNCS, KPERF_LUA_W_FUNCS, KPERF_LUA_NFUNCS, o, mem);
  if (!s.lua_window.empty()) mem.add_snapshot(w[KPERF_LUA_W_WINDOW_ADDR], s.lua_window);
}

lj::ResumerCapture add_captured_resumer(const SampleView& s, const lj::VmOffsets& o, bool nginx,
                                        lj::RemoteMemory& mem) {
  const auto& w = s.raw->lua.words;
  const uint64_t flags = w[KPERF_LUA_W_FLAGS];
  lj::ResumerCapture c;
  c.in_vm = flags & KPERF_LUA_RES_IN_VM;
  c.ngx = flags & KPERF_LUA_RES_NGX;
  c.deeper = flags & KPERF_LUA_RES_DEEPER;
  c.ngx_expected = nginx;
  const uint64_t cf = w[KPERF_LUA_W_L_CFRAME] & KPERF_LJ_CFRAME_MASK;
  if (cf >= s.user_sp() && cf - s.user_sp() + 2 * lj::kCframeSize <= s.ustack.size())
    mem.add_snapshot(cf, s.ustack.subspan(cf - s.user_sp(), 2 * lj::kCframeSize));
  const uint64_t rL = w[KPERF_LUA_W_RES_L];
  if (rL) {
    c.L = rL;
    snap_ref(mem, o, rL + o.L_glref, w[KPERF_LUA_W_G]);
    snap(mem, rL + o.L_base, w[KPERF_LUA_W_RES_BASE]);
    snap_ref(mem, o, rL + o.L_stack, w[KPERF_LUA_W_RES_STACK]);
    snap(mem, rL + o.L_stacksize, static_cast<uint32_t>(w[KPERF_LUA_W_RES_STACKSIZE]));
    if (!s.lua_resumer_window.empty()) mem.add_snapshot(w[KPERF_LUA_W_RES_WINDOW_ADDR], s.lua_resumer_window);
    add_funcs(w, KPERF_LUA_W_RES_NFUNCS, KPERF_LUA_W_RES_FUNCS, KPERF_LUA_RES_NFUNCS, o, mem);
  }
  return c;
}


}  // namespace kperf::prof

// Finds the Lua thread that resumed a coroutine; see resumer.hpp.
#include "profiler/luajit/resumer.hpp"

namespace kperf::prof::lj {

std::uint32_t exdata2_offset(const VmLayout& layout) {
  // luajit2's lua_State ends with exdata, exdata2 (both pointers); vanilla LuaJIT has
  // neither. A build with exdata only gives exdata here: the co_ctx check refuses it.
  return layout.openresty && layout.off.sizeof_lua_State > 16 ? layout.off.sizeof_lua_State - 8 : 0;
}

namespace {

// L is a thread of G whose stack holds base.
bool thread_of(RemoteMemory& mem, const VmOffsets& o, std::uint64_t G, std::uint64_t L, std::uint64_t base) {
  auto g = mem.ref(L + o.L_glref, o.ref_size);
  auto stack = mem.ref(L + o.L_stack, o.ref_size);
  auto size = mem.u32(L + o.L_stacksize);
  return g && *g == G && stack && size && base > *stack && base <= *stack + KPERF_LJ_SLOT * std::uint64_t(*size) &&
         (base & 7) == 0;
}

Resumer found(RemoteMemory& mem, const VmOffsets& o, std::uint64_t G, std::uint64_t L) {
  auto base = mem.u64(L + o.L_base);
  if (!base || !thread_of(mem, o, G, L, *base)) return Resumer{Resumer::Kind::Unknown, 0, 0};
  return Resumer{Resumer::Kind::Found, L, *base};
}

}  // namespace

Resumer find_resumer(RemoteMemory& mem, const VmLayout& layout, std::uint64_t G, std::uint64_t L,
                     const ResumerCapture* capture, bool live_ok, bool running) {
  const VmOffsets& o = layout.off;
  constexpr Resumer kNone{}, kUnknown{Resumer::Kind::Unknown, 0, 0};
  const std::uint64_t main = G - o.sizeof_lua_State;  // GG_State: the main thread, then G
  auto cf = mem.u64(L + o.L_cframe);
  if (!cf || (*cf & KPERF_LJ_CFRAME_MASK) == 0) {
    // Not running: no resumer to look for. Running without a C frame: a coroutine
    // between its yield / return (cframe cleared) and its resumer taking over again
    // (vm_leave_unw, then coroutine.resume restores BASE and cur_L): its resumer's
    // frame is no longer known here.
    return running && L != main ? kUnknown : kNone;
  }
  // lj_vm_resume called from the VM (the resume fast functions) returns into the VM.
  const std::uint64_t outer = (*cf & KPERF_LJ_CFRAME_MASK) + kCframeSize;
  auto ret = mem.u64(outer - 8);
  const bool resumed_in_vm = ret && layout.in_vm(*ret);

  if (capture) {
    if (capture->L) return found(mem, o, G, capture->L);
    if (capture->in_vm || resumed_in_vm) return kUnknown;
    if (capture->ngx) return kNone;  // an entry coroutine: nginx's C code resumed it
    if (capture->ngx_expected && L != main) return kUnknown;
    return kNone;
  }

  // Live (a stopped process, or a sample the kernel side did not capture).
  if (resumed_in_vm) {
    if (!live_ok) return kUnknown;  // the resumer ran on since: its base is not the sample's
    auto rL = mem.ref(outer + cframe_saved_L(o), o.ref_size);
    auto rcf = rL && *rL && *rL != L ? mem.u64(*rL + o.L_cframe) : std::nullopt;
    if (!rcf || (*rcf & KPERF_LJ_CFRAME_MASK) != outer) return kUnknown;
    return found(mem, o, G, *rL);
  }
  if (const std::uint32_t ex2 = exdata2_offset(layout); ex2 && live_ok) {
    const NgxCoroutineLayout n;
    auto coctx = mem.u64(L + ex2);
    auto co = coctx && *coctx ? mem.u64(*coctx + n.coctx_co) : std::nullopt;
    if (co && *co == L) {
      auto parent = mem.u64(*coctx + n.coctx_parent);
      if (!parent || !*parent) return kNone;
      auto pL = mem.u64(*parent + n.coctx_co);
      if (!pL || !*pL || *pL == L) return kUnknown;
      return found(mem, o, G, *pL);
    }
  }
  return kNone;
}

}  // namespace kperf::prof::lj

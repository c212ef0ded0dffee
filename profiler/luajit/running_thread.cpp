// The running lua_State and trace base of a LuaJIT VM; see running_thread.hpp.
#include "profiler/luajit/running_thread.hpp"

#include "profiler/luajit/resumer.hpp"

namespace kperf::prof::lj {

RunningThread running_thread(RemoteMemory& mem, const VmLayout& l, std::uint64_t G, const UserRegs& regs,
                             std::uint64_t captured_L) {
  const VmOffsets& o = l.off;
  RunningThread t;
  if (!o.lua20) {
    t.L = captured_L ? captured_L : mem.ref(G + o.G_cur_L, o.ref_size).value_or(0);
    t.jit_base = mem.ref(G + o.G_jit_base, o.ref_size).value_or(0);
    return t;
  }
  if (const std::uint64_t jit_L = mem.ref(G + o.G_jit_L, o.ref_size).value_or(0)) {
    t.L = jit_L;
    t.jit_base = mem.ref(G + o.G_jit_base, o.ref_size).value_or(0);
    return t;
  }
  if (captured_L) {
    t.L = captured_L;
  } else if (l.in_vm(regs.rip())) {
    // rsp is the C frame, or one or two words below it in a VM subroutine (vm_mod...):
    // the frame whose saved thread belongs to G and names it as its cframe.
    for (std::uint64_t cf = regs.rsp(); cf <= regs.rsp() + 16 && !t.L; cf += 8) {
      const std::uint64_t L = mem.ref(cf + cframe_saved_L(o), o.ref_size).value_or(0);
      if (L && mem.ref(L + o.L_glref, o.ref_size).value_or(0) == G &&
          (mem.u64(L + o.L_cframe).value_or(0) & KPERF_LJ_CFRAME_MASK) == cf)
        t.L = L;
    }
  }
  return t;
}

}  // namespace kperf::prof::lj

/* Test material: prints, as `name value` lines, the offsets kperf's VmOffsets names, from
   a LuaJIT tree's own headers. Compiled by the matrix test against each peer's src/ with
   the peer's XCFLAGS, so derived layouts are checked against offsetof, not against a table. */
#include <stddef.h>
#include <stdio.h>

#include "lj_obj.h"
#include "lj_dispatch.h"
#include "lj_frame.h"
#include "lj_jit.h"
#include "luajit.h"

#define P(name, value) printf("%s %ld\n", name, (long)(value))

int main(void) {
#ifdef LJ_GC64
  P("gc64", LJ_GC64);
#else
  P("gc64", 0); /* LuaJIT 2.0: no GC64 mode */
#endif
  P("L_glref", offsetof(lua_State, glref));
  P("L_base", offsetof(lua_State, base));
  P("L_top", offsetof(lua_State, top));
  P("L_stack", offsetof(lua_State, stack));
  P("L_cframe", offsetof(lua_State, cframe));
  P("L_stacksize", offsetof(lua_State, stacksize));
  P("sizeof_lua_State", GG_OFS(g));
  P("G_vmstate", offsetof(global_State, vmstate));
#if LUAJIT_VERSION_NUM >= 20100
  P("G_cur_L", offsetof(global_State, cur_L));
  P("J_from_G", GG_G2J);
#else /* 2.0: no cur_L (jit_L instead) and no GG_G2J */
  P("G_jit_L", offsetof(global_State, jit_L));
  P("J_from_G", GG_OFS(J) - GG_OFS(g));
#endif
  P("G_jit_base", offsetof(global_State, jit_base));
  P("dispatch_from_G", GG_G2DISP);
  P("J_trace", offsetof(jit_State, trace));
  P("J_sizetrace", offsetof(jit_State, sizetrace));
  P("tr_nsnap", offsetof(GCtrace, nsnap));
  P("tr_ir", offsetof(GCtrace, ir));
  P("tr_nk", offsetof(GCtrace, nk));
  P("tr_snap", offsetof(GCtrace, snap));
  P("tr_snapmap", offsetof(GCtrace, snapmap));
  P("tr_startpt", offsetof(GCtrace, startpt));
  P("tr_startpc", offsetof(GCtrace, startpc));
  P("tr_szmcode", offsetof(GCtrace, szmcode));
  P("tr_mcode", offsetof(GCtrace, mcode));
  P("tr_traceno", offsetof(GCtrace, traceno));
  P("fn_gct", offsetof(GCfuncL, gct));
  P("fn_ffid", offsetof(GCfuncL, ffid));
  P("fn_pc", offsetof(GCfuncL, pc));
  P("fn_cfunc", offsetof(GCfuncC, f));
  P("pt_sizebc", offsetof(GCproto, sizebc));
  P("pt_k", offsetof(GCproto, k));
  P("pt_sizept", offsetof(GCproto, sizept));
  P("pt_chunkname", offsetof(GCproto, chunkname));
  P("pt_firstline", offsetof(GCproto, firstline));
  P("pt_numline", offsetof(GCproto, numline));
  P("pt_lineinfo", offsetof(GCproto, lineinfo));
  P("pt_uvinfo", offsetof(GCproto, uvinfo));
  P("pt_varinfo", offsetof(GCproto, varinfo));
  P("sizeof_GCproto", sizeof(GCproto));
  P("str_len", offsetof(GCstr, len));
  P("str_data", sizeof(GCstr));
  P("cframe_pc", CFRAME_OFS_PC);
  P("cframe_size", CFRAME_SIZE);
  P("cframe_size_jit", CFRAME_SIZE_JIT);
  P("cframe_L", CFRAME_OFS_L);
  return 0;
}

/* The LuaJIT 2.1 (x86-64) ABI facts kperf relies on, in one place: slot and reference
 * sizes, type tags, GCfunc fields, frame links, C frames and trace snapshots, plus the
 * one frame-link step both walkers take. Plain C, included by the kernel side
 * (sampler.bpf.c, built with clang -target bpf and the repository root on its include
 * path) and by the userspace walker (profiler/luajit/). The facts are explained in
 * profiler/luajit/README.md, "LuaJIT layout facts". Offsets that move between builds are
 * not here: vm_code_layout reads them from each build's machine code. */
#ifndef KPERF_PROFILER_BPF_LUAJIT_ABI_H
#define KPERF_PROFILER_BPF_LUAJIT_ABI_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Stack slots (TValue) are 8 bytes in both reference widths. */
#define KPERF_LJ_SLOT 8ull

/* GC64: a tagged TValue keeps a GC object's address in its low 47 bits and its itype in
 * the top 17; a function's itype is ~LJ_TFUNC. GC objects live below 2^47 (x86-64 user
 * space) in both widths. */
#define KPERF_LJ_ITYPE_SHIFT 47
#define KPERF_LJ_GC_MASK ((1ull << KPERF_LJ_ITYPE_SHIFT) - 1)
#define KPERF_LJ_ITYPE_FUNC 0x1fff7ull

/* GCHeader.gct of the object kinds kperf checks (~LJ_Txxx). */
#define KPERF_LJ_GCT_THREAD 6
#define KPERF_LJ_GCT_PROTO 7
#define KPERF_LJ_GCT_FUNC 8
#define KPERF_LJ_GCT_TRACE 9

/* GCfunc.ffid: 0 a Lua function, 1 a C function, higher a fast function. */
#define KPERF_LJ_FFID_LUA 0
#define KPERF_LJ_FFID_C 1

/* GCfunc fields (same in every 2.1 build of one reference width): header gct / ffid,
 * GCfuncL.pc (the bytecode; its GCproto lies right before it), GCfuncC.f. */
#define KPERF_LJ_FN_GCT_GC64 0x09
#define KPERF_LJ_FN_FFID_GC64 0x0a
#define KPERF_LJ_FN_PC_GC64 0x20
#define KPERF_LJ_FN_CFUNC_GC64 0x28
#define KPERF_LJ_FN_GCT_REF32 0x05
#define KPERF_LJ_FN_FFID_REF32 0x06
#define KPERF_LJ_FN_PC_REF32 0x10
#define KPERF_LJ_FN_CFUNC_REF32 0x18

/* Frame links (the frame's ftsz, or a return PC into the caller's bytecode): the low 2
 * bits give the type, the low 3 the type with its pcall bit. A Lua link is the return
 * PC; other links hold the frame's size in bytes above the type bits (C 1 / C pcall 5,
 * continuation 2, vararg 3, pcall 6 / 7). GC64 frames take two slots (function, tagged,
 * below the link: LJ_FR2); with 32-bit references one slot holds the function in its
 * low half and the link in its high half. */
#define KPERF_LJ_FRAME_TYPE 3ull
#define KPERF_LJ_FRAME_TYPEP 7ull
#define KPERF_LJ_FRAME_LUA 0ull
#define KPERF_LJ_FRAME_C 1ull
#define KPERF_LJ_FRAME_CONT 2ull
#define KPERF_LJ_FRAME_VARG 3ull

/* The VM's C frame on x86-64 (CFRAME_SIZE); lua_State.cframe keeps flags in its low 2
 * bits. */
#define KPERF_LJ_CFRAME_SIZE 80
#define KPERF_LJ_CFRAME_MASK (~3ull)

/* Trace snapshots (GC64 entries): an entry is slot << 24 | flags | IR reference; a
 * SnapShot with mcofs is 12 bytes (mapofs u32, ref u16, mcofs u16, nslots, topslot,
 * nent, count); IR constants have references in [nk, REF_BIAS). */
#define KPERF_LJ_SNAP_FRAME 0x010000u
#define KPERF_LJ_SNAP_CONT 0x020000u
#define KPERF_LJ_SNAP_REF_MASK 0xffffu
#define KPERF_LJ_SNAP_SLOT_SHIFT 24
#define KPERF_LJ_SNAPSHOT_SIZE 12
#define KPERF_LJ_SNAPSHOT_MAPOFS 0
#define KPERF_LJ_SNAPSHOT_MCOFS 6
#define KPERF_LJ_SNAPSHOT_NENT 10
#define KPERF_LJ_REF_BIAS 0x8000u

#define KPERF_LJ_INLINE static inline __attribute__((always_inline))

/* A GC64 TValue that holds a function. */
KPERF_LJ_INLINE int kperf_lj_tv_is_func(__u64 tv)
{
  return (tv >> KPERF_LJ_ITYPE_SHIFT) == KPERF_LJ_ITYPE_FUNC;
}

/* A link returning into a Lua function (its value is the return PC). */
KPERF_LJ_INLINE int kperf_lj_link_is_lua(__u64 link)
{
  return (link & KPERF_LJ_FRAME_TYPE) == KPERF_LJ_FRAME_LUA;
}

/* A vararg frame: it sits right on top of the real frame of the same call. */
KPERF_LJ_INLINE int kperf_lj_link_is_varg(__u64 link)
{
  return (link & KPERF_LJ_FRAME_TYPEP) == KPERF_LJ_FRAME_VARG;
}

/* Bytes from a non-Lua frame down to the frame below it. */
KPERF_LJ_INLINE __u64 kperf_lj_link_delta(__u64 link)
{
  return link & ~KPERF_LJ_FRAME_TYPEP;
}

/* The A operand of a bytecode instruction (op 8 bits, A 8 bits, then C / B or D). */
KPERF_LJ_INLINE __u32 kperf_lj_bc_a(__u32 ins)
{
  return (ins >> 8) & 0xff;
}

/* The frame-link step, shared by the kernel side (capture_funcs) and the userspace
 * walker (FrameWalker::walk_stack): the caller's frame (the address of its link slot)
 * below `frame`, given frame's link. A Lua link returns into the caller's bytecode right
 * after its CALL instruction, whose A operand `call_a` (the caller reads it at link - 4)
 * is the slot of the called function relative to the caller's base; LJ_FR2 (gc64) adds
 * the link slot. Other links carry the distance. No memory is read here. */
KPERF_LJ_INLINE __u64 kperf_lj_prev_frame(__u64 frame, __u64 link, __u32 call_a, int gc64)
{
  if (kperf_lj_link_is_lua(link))
    return frame - KPERF_LJ_SLOT * ((gc64 ? 2 : 1) + (__u64)call_a);
  return frame - kperf_lj_link_delta(link);
}

#endif /* KPERF_PROFILER_BPF_LUAJIT_ABI_H */

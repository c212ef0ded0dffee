/* The record one sample puts into the BPF ring buffer, and the sampler's counters:
 * shared by the kernel side (sampler.bpf.c) and the C++ reader (sample_record.cpp). */
#ifndef KPERF_PROFILER_BPF_SAMPLE_H
#define KPERF_PROFILER_BPF_SAMPLE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#include "profiler/bpf/luajit_abi.h"

#define KPERF_COMM_LEN 16
#define KPERF_MAX_KSTACK 127        /* kernel.perf_event_max_stack default */
#define KPERF_NREGS 17              /* DWARF x86-64: rax rdx rcx rbx rsi rdi rbp rsp r8-r15 rip */
#define KPERF_MAX_USTACK (64 * 1024)  /* largest --stack-size */
#define KPERF_PAGE_SIZE 4096
#define KPERF_LUA_STATE_WORDS 48    /* 384 bytes reserved for the LuaJIT VM state */

/* DWARF register numbers used in kperf_sample.regs. */
#define KPERF_REG_RBP 6
#define KPERF_REG_RSP 7
#define KPERF_REG_R14 14
#define KPERF_REG_RIP 16

/* kperf_sample.flags */
#define KPERF_SAMPLE_USER_REGS 0x1      /* regs hold the task's user registers */
#define KPERF_SAMPLE_IN_KERNEL 0x2      /* the sample hit kernel mode */
#define KPERF_SAMPLE_KTHREAD 0x4        /* a kernel thread: no user state at all */
#define KPERF_SAMPLE_USTACK_SHORT 0x8   /* fewer stack bytes than asked (stack top reached) */

/* Indexes of the per-CPU counter map. */
enum kperf_counter {
  KPERF_CNT_SAMPLES = 0,     /* samples of a target (emitted or lost) */
  KPERF_CNT_LOST = 1,        /* ring buffer full: sample dropped */
  KPERF_CNT_KSTACK_ERR = 2,  /* bpf_get_stack failed */
  KPERF_CNT_USTACK_ERR = 3,  /* not a single byte of the user stack readable */
  KPERF_CNT__MAX = 4,
};

/* The LuaJIT VM state the kernel side reads for a tgid registered in the lua_vms map
 * (all zero otherwise). Fixed size so the record layout does not move; indexes below.
 * A window of Lua stack slots, if captured, follows the record's user stack area at
 * byte offset words[KPERF_LUA_W_WINDOW_OFF] of the record (a variable-size tail). */
struct kperf_lua_state {
  __u64 words[KPERF_LUA_STATE_WORDS];
};

#define KPERF_LUA_WINDOW_BYTES 4096 /* Lua stack slots captured below the start base */
#define KPERF_LUA_RES_WINDOW_BYTES 2048 /* the resumer's slots below its base (second window) */

/* kperf_lua_state.words[] */
enum kperf_lua_word {
  KPERF_LUA_W_FLAGS = 0,       /* KPERF_LUA_* below; 0: nothing captured */
  KPERF_LUA_W_G = 1,           /* global_State */
  KPERF_LUA_W_VMSTATE = 2,     /* G->vmstate (sign-extended i32) */
  KPERF_LUA_W_CUR_L = 3,       /* G->cur_L (LuaJIT 2.0: the running thread, see running_L) */
  KPERF_LUA_W_JIT_BASE = 4,    /* G->jit_base (2.0: 0 unless jit_L is set) */
  KPERF_LUA_W_L_BASE = 5,      /* cur_L->base */
  KPERF_LUA_W_L_STACK = 6,     /* cur_L->stack */
  KPERF_LUA_W_L_STACKSIZE = 7, /* cur_L->stacksize (u32) */
  KPERF_LUA_W_L_CFRAME = 8,    /* cur_L->cframe (raw, low bits are flags) */
  KPERF_LUA_W_CFRAME_PC = 9,   /* *((cframe & ~3) + cframe_pc) */
  KPERF_LUA_W_WINDOW_ADDR = 10, /* target address of the window's first byte */
  KPERF_LUA_W_WINDOW_LEN = 11,  /* valid window bytes */
  KPERF_LUA_W_WINDOW_OFF = 12,  /* byte offset of the window in the record */
  KPERF_LUA_W_NFUNCS = 13,      /* valid pairs in KPERF_LUA_W_FUNCS (<= KPERF_LUA_NFUNCS) */
  KPERF_LUA_W_FUNCS = 14,       /* KPERF_LUA_NFUNCS pairs, innermost frame first: */
  /*   [0] GCfunc address | ffid << 48   (the frame's function slot, read in the window)
   *   [1] ffid 0 (Lua): GCfuncL.pc (bytecode, hence the proto: pc - sizeof(GCproto));
   *       ffid 1 (C): GCfuncC.f; fast function: 0.
   * Per-call closures are often collected before userspace walks the sample: these
   * words keep the frames nameable (their prototypes live on). */
  /* The Lua thread that resumed cur_L, as it was at sample time (it runs again right
   * after, so userspace cannot read it later): see KPERF_LUA_RES_* below. */
  KPERF_LUA_W_RES_L = 30,           /* its lua_State (0: none found) */
  KPERF_LUA_W_RES_BASE = 31,        /* its base: the frame of its resume call */
  KPERF_LUA_W_RES_STACK = 32,       /* its stack */
  KPERF_LUA_W_RES_STACKSIZE = 33,   /* its stacksize (u32) */
  KPERF_LUA_W_RES_WINDOW_ADDR = 34, /* its slots below RES_BASE: target address of the first byte */
  KPERF_LUA_W_RES_WINDOW_LEN = 35,  /* valid bytes (<= KPERF_LUA_RES_WINDOW_BYTES) */
  KPERF_LUA_W_RES_WINDOW_OFF = 36,  /* byte offset in the record (after the first window's room) */
  KPERF_LUA_W_RES_NFUNCS = 37,      /* valid pairs in KPERF_LUA_W_RES_FUNCS */
  KPERF_LUA_W_RES_FUNCS = 38,       /* KPERF_LUA_RES_NFUNCS pairs for the resumer's innermost frames,
                                     * as KPERF_LUA_W_FUNCS */
};

#define KPERF_LUA_NFUNCS 8  /* frames whose function is captured (KPERF_LUA_W_FUNCS) */
#define KPERF_LUA_RES_NFUNCS 4  /* the resumer's (KPERF_LUA_W_RES_FUNCS) */
#define KPERF_LUA_FN_ADDR_MASK KPERF_LJ_GC_MASK /* below the ffid in W_FUNCS' first word */
#ifdef __cplusplus
static_assert(KPERF_LUA_W_FUNCS + 2 * KPERF_LUA_NFUNCS <= KPERF_LUA_STATE_WORDS, "room for the captured functions");
#else
_Static_assert(KPERF_LUA_W_FUNCS + 2 * KPERF_LUA_NFUNCS <= KPERF_LUA_STATE_WORDS, "room for the captured functions");
#endif
#ifdef __cplusplus
static_assert(KPERF_LUA_W_FUNCS + 2 * KPERF_LUA_NFUNCS <= KPERF_LUA_W_RES_L, "resumer words after the functions");
static_assert(KPERF_LUA_W_RES_FUNCS + 2 * KPERF_LUA_RES_NFUNCS <= KPERF_LUA_STATE_WORDS, "room for the resumer's");
#else
_Static_assert(KPERF_LUA_W_FUNCS + 2 * KPERF_LUA_NFUNCS <= KPERF_LUA_W_RES_L, "resumer words after the functions");
_Static_assert(KPERF_LUA_W_RES_FUNCS + 2 * KPERF_LUA_RES_NFUNCS <= KPERF_LUA_STATE_WORDS, "room for the resumer's");
#endif

#define KPERF_LUA_CAPTURED 0x1  /* the words above were read */
#define KPERF_LUA_WINDOW 0x2    /* the window was read */
/* Who resumed cur_L (a coroutine's frames continue with its resumer's):
 * RES_IN_VM: coroutine.resume / wrap in the VM (cur_L's C frame returns into the VM);
 *   RES_L is the resumer saved in the C frame above it, if that checks out.
 * RES_NGX: ngx_lua's coroutine context of cur_L checked out (exdata2 -> co_ctx whose co
 *   is cur_L); RES_L is the parent coroutine's, 0 for an entry coroutine (resumed by
 *   nginx's C code, which the native stack shows).
 * RES_DEEPER: the resumer was itself resumed that way (not captured).
 * RES_WINDOW: the resumer's window was read. */
#define KPERF_LUA_RES_IN_VM 0x4
#define KPERF_LUA_RES_NGX 0x8
#define KPERF_LUA_RES_DEEPER 0x10
#define KPERF_LUA_RES_WINDOW 0x20

/* Value of the lua_vms map (key: tgid), filled by userspace once it knows G. */
struct kperf_lua_vm {
  __u64 G;
  __u64 vm_lo, vm_hi;          /* the interpreter's code */
  __u32 G_vmstate, G_cur_L, G_jit_base;
  __u32 L_base, L_stack, L_stacksize, L_cframe;
  __u32 cframe_pc;
  /* The resumer of a coroutine (KPERF_LUA_RES_*): lua_State glref; a VM C frame's size
   * and where it saves its lua_State; luajit2's exdata2 (0: none) and, in ngx_lua's
   * ngx_http_lua_co_ctx_t, the coroutine and the parent context. */
  __u32 L_glref, cframe_size, cframe_L;
  __u32 L_exdata2, ngx_coctx_co, ngx_coctx_parent;
  /* GC references (GCRef / MRef): 8 bytes (GC64) or 4 (then a frame is one slot; the
   * resumer is not captured). */
  __u32 ref_size;
  /* r14 (DISPATCH) - G in the interpreter: with G 0, the kernel side derives G from a
   * sample in the interpreter, validates it (cur_L's glref is G) and keeps it here. */
  __u32 dispatch_from_G;
  /* LuaJIT 2.0 (no cur_L; G_cur_L 0): G->jit_L, the thread running a trace; 0 in 2.1. */
  __u32 G_jit_L;
};

/* One sample. The ring buffer record is sizeof(struct kperf_sample) + the configured
 * user stack size; ustack_len bytes of ustack[] are valid, copied from regs[rsp] up. */
struct kperf_sample {
  __u64 time_ns; /* bpf_ktime_get_ns (CLOCK_MONOTONIC) */
  __u32 tgid;
  __u32 tid;
  __u32 cpu;
  __u32 flags;                 /* KPERF_SAMPLE_* */
  char comm[KPERF_COMM_LEN];   /* comm of the thread-group leader (the process name) */
  __u32 kstack_len;            /* valid entries in kstack[] */
  __u32 ustack_len;            /* valid bytes in ustack[] */
  __u64 regs[KPERF_NREGS];     /* user registers, DWARF order */
  __u64 kstack[KPERF_MAX_KSTACK]; /* kernel return addresses, innermost first */
  __u64 reserved;
  struct kperf_lua_state lua;
  __u8 ustack[];
};

#endif /* KPERF_PROFILER_BPF_SAMPLE_H */

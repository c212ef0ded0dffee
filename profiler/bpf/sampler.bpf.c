/* kperf's sampler, kernel side: a perf_event program on per-CPU cpu-clock events that,
 * for the target processes, emits one kperf_sample per tick into a ring buffer. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#include "profiler/bpf/luajit_abi.h"
#include "profiler/bpf/sample.h"

#define PF_KTHREAD 0x00200000

/* Set by the loader before load (read-only afterwards, so the verifier sees constants). */
const volatile bool filter_tgids = true; /* false: every process (-a) except self_tgid */
const volatile __u32 self_tgid = 0;
const volatile __u32 ustack_size = 16384; /* bytes of user stack per sample, <= KPERF_MAX_USTACK */
const volatile __u64 wakeup_bytes = 1 << 20; /* wake the reader once this much is queued */

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __type(key, __u32);
  __type(value, __u8);
  __uint(max_entries, 4096);
} tgids SEC(".maps");

/* LuaJIT VMs of target processes (tgid -> G, interpreter range, offsets), filled by
 * userspace once it knows a process's VM (G 0 until found, by either side): their
 * samples carry the VM state and a Lua stack window. */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __type(key, __u32);
  __type(value, struct kperf_lua_vm);
  __uint(max_entries, 4096);
} lua_vms SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 32 << 20); /* resized by the loader */
} samples SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __type(key, __u32);
  __type(value, __u64);
  __uint(max_entries, KPERF_CNT__MAX);
} counters SEC(".maps");

static __always_inline void count(__u32 which)
{
  __u64 *v = bpf_map_lookup_elem(&counters, &which);
  if (v)
    *v += 1;
}

/* Bytes of the user stack to read for candidate k: up to the end of sp's page, plus k
 * more pages, never more than ustack_size. */
static __always_inline __u32 candidate_len(__u64 sp, __u32 k)
{
  __u64 len = KPERF_PAGE_SIZE - (sp & (KPERF_PAGE_SIZE - 1)) + (__u64)k * KPERF_PAGE_SIZE;
  return len > ustack_size ? ustack_size : (__u32)len;
}

/* Per thread: where its stack mapping ends, once a short read found it. Near the top of
 * a stack (nginx's main thread lives there) the next samples then need one read only. */
struct stack_end {
  __u64 end;
  __u64 start_time; /* the thread's, so a reused tid is not trusted */
};

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __type(key, __u32);
  __type(value, struct stack_end);
  __uint(max_entries, 16384);
} stack_ends SEC(".maps");

/* Copies the top of the user stack. Near the top of a stack the full read fails (the
 * mapping ends): use the end found before for this thread, else binary-search the
 * number of readable pages, read those and remember where the stack ends. */
static __always_inline __u32 copy_user_stack(struct task_struct *task, __u32 tid, struct kperf_sample *s,
                                             __u64 sp)
{
  __u32 size = ustack_size;
  if (size == 0)
    return 0;
  __u64 start_time = task->start_time;
  struct stack_end *known = bpf_map_lookup_elem(&stack_ends, &tid);
  if (known && known->start_time == start_time && known->end > sp && known->end - sp < size) {
    __u32 len = (__u32)(known->end - sp);
    if (len <= size && bpf_probe_read_user(s->ustack, len, (const void *)sp) == 0)
      return len;
  }
  if (bpf_probe_read_user(s->ustack, size, (const void *)sp) == 0)
    return size;

  __u32 lo = 0;                           /* candidates < lo are assumed readable */
  __u32 hi = size / KPERF_PAGE_SIZE + 1;  /* candidates >= hi are unreadable */
  for (int i = 0; i < 6 && lo < hi; i++) {
    __u32 mid = (lo + hi) / 2;
    __u32 len = candidate_len(sp, mid);
    if (len > size)
      break;
    if (bpf_probe_read_user(s->ustack, len, (const void *)sp) == 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo == 0)
    return 0; /* not even sp's own page */
  __u32 len = candidate_len(sp, lo - 1);
  if (len > size)
    return 0;
  /* A failed probe zeroes its destination: read the largest good prefix again. */
  if (bpf_probe_read_user(s->ustack, len, (const void *)sp) != 0)
    return 0;
  if (len < size) {
    struct stack_end e = {.end = sp + len, .start_time = start_time};
    bpf_map_update_elem(&stack_ends, &tid, &e, BPF_ANY);
  }
  return len;
}

/* The perf event context: the UAPI struct pt_regs (x86-64), read by word index because
 * the verifier allows only 8-byte loads at constant offsets from the context pointer. */
enum uapi_pt_regs_word {
  W_R15, W_R14, W_R13, W_R12, W_RBP, W_RBX, W_R11, W_R10, W_R9, W_R8, W_RAX, W_RCX,
  W_RDX, W_RSI, W_RDI, W_ORIG_RAX, W_RIP, W_CS, W_EFLAGS, W_RSP, W_SS,
};

static __always_inline void ctx_regs_to_dwarf(__u64 *r, const volatile __u64 *w)
{
  r[0] = w[W_RAX];
  r[1] = w[W_RDX];
  r[2] = w[W_RCX];
  r[3] = w[W_RBX];
  r[4] = w[W_RSI];
  r[5] = w[W_RDI];
  r[6] = w[W_RBP];
  r[7] = w[W_RSP];
  r[8] = w[W_R8];
  r[9] = w[W_R9];
  r[10] = w[W_R10];
  r[11] = w[W_R11];
  r[12] = w[W_R12];
  r[13] = w[W_R13];
  r[14] = w[W_R14];
  r[15] = w[W_R15];
  r[16] = w[W_RIP];
}

/* The task's saved user registers (a BTF pointer: CO-RE field reads). */
static __always_inline void task_regs_to_dwarf(__u64 *r, const struct pt_regs *p)
{
  r[0] = p->ax;
  r[1] = p->dx;
  r[2] = p->cx;
  r[3] = p->bx;
  r[4] = p->si;
  r[5] = p->di;
  r[6] = p->bp;
  r[7] = p->sp;
  r[8] = p->r8;
  r[9] = p->r9;
  r[10] = p->r10;
  r[11] = p->r11;
  r[12] = p->r12;
  r[13] = p->r13;
  r[14] = p->r14;
  r[15] = p->r15;
  r[16] = p->ip;
}

static __always_inline __u64 read_u64(__u64 addr)
{
  __u64 v = 0;
  if (bpf_probe_read_user(&v, sizeof(v), (const void *)addr) != 0)
    return 0;
  return v;
}

/* A LuaJIT GC reference (GCRef / MRef): ref_size 8 (GC64) or 4 bytes. */
static __always_inline __u64 read_ref(__u64 addr, __u32 ref_size)
{
  if (ref_size != 4)
    return read_u64(addr);
  __u32 v = 0;
  bpf_probe_read_user(&v, sizeof(v), (const void *)addr);
  return v;
}

/* Bytes read from a GCfunc: from its header word (the one holding gct and ffid) up to
 * GCfuncC.f, in both reference widths. */
#define LJ_FN_READ 0x28
_Static_assert(KPERF_LJ_FN_CFUNC_GC64 - (KPERF_LJ_FN_GCT_GC64 & ~7) + 8 <= LJ_FN_READ, "GC64 GCfunc read");
_Static_assert(KPERF_LJ_FN_CFUNC_REF32 - (KPERF_LJ_FN_GCT_REF32 & ~7) + 8 <= LJ_FN_READ, "32-bit GCfunc read");

/* A slot of a captured window (window bytes [0, len) hold [lo, lo + len), room for wmax
 * bytes at tail); 0 outside. */
static __always_inline int window_slot(const __u8 *tail, __u64 lo, __u64 len, __u64 addr, __u64 *out,
                                       const __u64 wmax)
{
  __u64 off = addr - lo;
  if (addr < lo || len < KPERF_LJ_SLOT || off > len - KPERF_LJ_SLOT || off > wmax - KPERF_LJ_SLOT)
    return 0;
  asm volatile("" : "+r"(off));
  if (off > wmax - KPERF_LJ_SLOT)
    return 0;
  *out = *(const __u64 *)(tail + off);
  return 1;
}

/* The functions of the innermost nmax frames (pairs into out, their number into *nout),
 * following the same links as the userspace walker (profiler/luajit/frame_walker.cpp)
 * over a captured window (room wmax): a closure created per call may be collected (its
 * memory reused) before userspace reads it, but what naming needs of it (ffid and pc,
 * or a C function's f) is here. */
static __always_inline void capture_funcs(__u64 *out, __u64 *nout, const __u32 nmax, const __u8 *tail, __u64 lo,
                                          __u64 len, const __u64 wmax, __u64 start, __u64 bottom, const bool ref32)
{
  /* ref32 (32-bit GC references): a frame is one slot, function in its low half and
   * link in its high half. GC64: function tagged in the slot below the link. The GCfunc
   * is read from the 8-byte word holding gct and ffid (luajit_abi.h). The link step
   * itself is kperf_lj_prev_frame, the userspace walker's too. */
  __u64 frame = start - KPERF_LJ_SLOT;
  __u32 n = 0;
  /* Recursion repeats the function and the return PC: read each once. */
  __u64 last_fn = 0, last_word = 0, last_val = 0, last_ret = 0, last_a = 0;
  for (int i = 0; i < nmax; i++) {
    __u64 ftv, link, fn;
    if (frame <= bottom || !window_slot(tail, lo, len, frame, &link, wmax))
      break;
    if (ref32) {
      fn = link & 0xffffffffull;
      link >>= 32;
    } else {
      if (!window_slot(tail, lo, len, frame - KPERF_LJ_SLOT, &ftv, wmax) || !kperf_lj_tv_is_func(ftv))
        break;
      fn = ftv & KPERF_LJ_GC_MASK;
    }
    if (fn != last_fn) {
      __u64 f[LJ_FN_READ / 8];
      if (bpf_probe_read_user(f, sizeof(f),
                              (const void *)(fn + (ref32 ? KPERF_LJ_FN_GCT_REF32 & ~7 : KPERF_LJ_FN_GCT_GC64 & ~7))) !=
          0)
        break;
      __u8 gct, ffid;
      __u64 pc, cf;
      if (ref32) {
        gct = (__u8)(f[0] >> 8 * (KPERF_LJ_FN_GCT_REF32 & 7));
        ffid = (__u8)(f[0] >> 8 * (KPERF_LJ_FN_FFID_REF32 & 7));
        pc = f[(KPERF_LJ_FN_PC_REF32 - (KPERF_LJ_FN_GCT_REF32 & ~7)) / 8] & 0xffffffffull;
        cf = f[(KPERF_LJ_FN_CFUNC_REF32 - (KPERF_LJ_FN_GCT_REF32 & ~7)) / 8];
      } else {
        gct = (__u8)(f[0] >> 8 * (KPERF_LJ_FN_GCT_GC64 & 7));
        ffid = (__u8)(f[0] >> 8 * (KPERF_LJ_FN_FFID_GC64 & 7));
        pc = f[(KPERF_LJ_FN_PC_GC64 - (KPERF_LJ_FN_GCT_GC64 & ~7)) / 8];
        cf = f[(KPERF_LJ_FN_CFUNC_GC64 - (KPERF_LJ_FN_GCT_GC64 & ~7)) / 8];
      }
      if (gct != KPERF_LJ_GCT_FUNC)
        break;
      last_fn = fn;
      last_word = fn | ((__u64)ffid << 48);
      last_val = ffid == KPERF_LJ_FFID_LUA ? pc : ffid == KPERF_LJ_FFID_C ? cf : 0;
    }
    out[2 * i] = last_word;
    out[2 * i + 1] = last_val;
    n = i + 1;
    if (n == nmax)
      break; /* no need for the next frame's address */
    if (kperf_lj_link_is_varg(link)) { /* the real frame lies below */
      frame -= kperf_lj_link_delta(link);
      if (!window_slot(tail, lo, len, frame, &link, wmax))
        break;
      if (ref32)
        link >>= 32;
    }
    __u32 call_a = 0;
    if (kperf_lj_link_is_lua(link)) { /* returns into Lua: the CALL's A operand */
      if (link != last_ret) {
        __u32 ins = 0;
        if (bpf_probe_read_user(&ins, sizeof(ins), (const void *)(link - 4)) != 0)
          break;
        last_ret = link;
        last_a = kperf_lj_bc_a(ins);
      }
      call_a = (__u32)last_a;
    }
    const __u64 prev = kperf_lj_prev_frame(frame, link, call_a, !ref32);
    if (prev >= frame)
      break;
    frame = prev;
  }
  *nout = n;
}

/* Who resumed coroutine L, read now because the resumer runs again right after (see
 * KPERF_LUA_RES_* in sample.h): coroutine.resume / wrap in the VM call lj_vm_resume,
 * whose C frame (L's) lies right below the resumer's C frame and returns into the VM;
 * the resumer's frame holds its lua_State. ngx_lua instead yields the parent coroutine
 * and resumes L from C: L's co_ctx (luajit2 exdata2) names the parent's. The resumer's
 * base and the slots below it (its frames down to the resume call) go into the record;
 * userspace walks them like cur_L's. */
static __always_inline void capture_resumer(struct kperf_sample *s, const struct kperf_lua_vm *vm, __u64 G,
                                            __u64 L, __u64 cframe, __u8 *tail, __u64 tail_off)
{
  __u64 *w = s->lua.words;
  const __u64 cf = cframe & KPERF_LJ_CFRAME_MASK;
  if (!cf || !vm->cframe_size)
    return;
  const __u64 outer = cf + vm->cframe_size;
  const __u64 ret = read_u64(outer - 8);
  __u64 rL = 0;
  if (ret >= vm->vm_lo && ret < vm->vm_hi) {
    w[KPERF_LUA_W_FLAGS] |= KPERF_LUA_RES_IN_VM;
    const __u64 cand = read_ref(outer + vm->cframe_L, vm->ref_size);
    if (cand && cand != L && read_ref(cand + vm->L_glref, vm->ref_size) == G &&
        (read_u64(cand + vm->L_cframe) & KPERF_LJ_CFRAME_MASK) == outer) {
      rL = cand;
      const __u64 ret2 = read_u64(outer + vm->cframe_size - 8);
      if (ret2 >= vm->vm_lo && ret2 < vm->vm_hi)
        w[KPERF_LUA_W_FLAGS] |= KPERF_LUA_RES_DEEPER;
    }
  } else if (vm->L_exdata2) {
    const __u64 coctx = read_u64(L + vm->L_exdata2);
    if (coctx && read_u64(coctx + vm->ngx_coctx_co) == L) {
      w[KPERF_LUA_W_FLAGS] |= KPERF_LUA_RES_NGX;
      const __u64 parent = read_u64(coctx + vm->ngx_coctx_parent);
      const __u64 cand = parent ? read_u64(parent + vm->ngx_coctx_co) : 0;
      if (cand && cand != L && read_ref(cand + vm->L_glref, vm->ref_size) == G) {
        rL = cand;
        if (read_u64(parent + vm->ngx_coctx_parent))
          w[KPERF_LUA_W_FLAGS] |= KPERF_LUA_RES_DEEPER;
      }
    }
  }
  if (!rL)
    return;
  const __u64 base = read_u64(rL + vm->L_base);
  const __u64 stack = read_ref(rL + vm->L_stack, vm->ref_size);
  __u32 stacksize = 0;
  bpf_probe_read_user(&stacksize, sizeof(stacksize), (const void *)(rL + vm->L_stacksize));
  if (!stack || base <= stack || base > stack + 8 * (__u64)stacksize)
    return;
  w[KPERF_LUA_W_RES_L] = rL;
  w[KPERF_LUA_W_RES_BASE] = base;
  w[KPERF_LUA_W_RES_STACK] = stack;
  w[KPERF_LUA_W_RES_STACKSIZE] = stacksize;
  __u64 lo = base > KPERF_LUA_RES_WINDOW_BYTES ? base - KPERF_LUA_RES_WINDOW_BYTES : 0;
  if (lo < stack)
    lo = stack;
  __u64 len = base - lo;
  asm volatile("" : "+r"(len)); /* keep the bound check on the register passed below */
  if (len == 0 || len > KPERF_LUA_RES_WINDOW_BYTES)
    return;
  if (bpf_probe_read_user(tail, len, (const void *)lo) != 0)
    return;
  w[KPERF_LUA_W_RES_WINDOW_ADDR] = lo;
  w[KPERF_LUA_W_RES_WINDOW_LEN] = len;
  w[KPERF_LUA_W_RES_WINDOW_OFF] = tail_off;
  w[KPERF_LUA_W_FLAGS] |= KPERF_LUA_RES_WINDOW;
  /* A suspended parent's frames run per-request closures too (nginx handlers). */
  const bool gc64 = vm->ref_size != 4;
  capture_funcs(&w[KPERF_LUA_W_RES_FUNCS], &w[KPERF_LUA_W_RES_NFUNCS], KPERF_LUA_RES_NFUNCS, tail, lo, len,
                KPERF_LUA_RES_WINDOW_BYTES, base, stack + (gc64 ? KPERF_LJ_SLOT : 0), !gc64);
}

/* Words of the copied user stack searched for LuaJIT 2.0's interpreter C frame: 16 KiB, the
 * default stack copy (a C function's luaL_Buffer alone is 8 KiB). */
#define LUA20_SCAN_WORDS 2048

/* Candidate frames checked per sample: stale return addresses lie in uninitialised
 * locals (a luaL_Buffer) above the real one. */
#define LUA20_CANDIDATES 8

/* LuaJIT 2.0: the thread saved in the interpreter's C frame at cf, if that frame is its
 * thread's (glref G, cframe cf). */
static __always_inline __u64 lua20_frame_thread(const struct kperf_lua_vm *vm, __u64 G, __u64 cf)
{
  const __u64 L = read_ref(cf + vm->cframe_L, vm->ref_size);
  if (L && read_ref(L + vm->L_glref, vm->ref_size) == G &&
      (read_u64(L + vm->L_cframe) & KPERF_LJ_CFRAME_MASK) == cf)
    return L;
  return 0;
}

/* One word of the copied stack (bpf_loop callback: verified once, not per word). */
struct lua20_scan {
  const struct kperf_sample *s;
  const struct kperf_lua_vm *vm;
  __u64 G, L;
  __u32 n;
  int tries;
};

static long lua20_scan_step(__u32 i, void *ctx)
{
  struct lua20_scan *c = ctx;
  if (i >= c->n || c->tries >= LUA20_CANDIDATES)
    return 1;
  __u64 off = (__u64)i * 8;
  if (off + 8 > ustack_size)
    return 1;
  const __u64 w = *(const __u64 *)(c->s->ustack + off);
  if (w < c->vm->vm_lo || w >= c->vm->vm_hi)
    return 0;
  c->L = lua20_frame_thread(c->vm, c->G, c->s->regs[KPERF_REG_RSP] + off + 8);
  c->tries++;
  return c->L ? 1 : 0;
}

/* The lua_State the VM runs (profiler/luajit/running_thread.hpp) and, in *jit_base, the
 * base of a trace's frame if one is current (else 0). 2.1: cur_L and jit_base. LuaJIT 2.0
 * (G_jit_L set) has no cur_L: jit_L while a trace runs (jit_base is stale after it),
 * otherwise the lua_State saved in the interpreter's C frame. In the interpreter that
 * frame is rsp, or one or two words above in a VM subroutine it called (vm_mod...); in C
 * code the interpreter called, it starts right above a return address into the VM on the
 * copied stack (the interpreter calls with rsp at its C frame). */
static __always_inline __u64 running_L(const struct kperf_sample *s, const struct kperf_lua_vm *vm, __u64 G,
                                       bool in_vm, __u64 *jit_base)
{
  *jit_base = read_ref(G + vm->G_jit_base, vm->ref_size);
  if (!vm->G_jit_L)
    return read_ref(G + vm->G_cur_L, vm->ref_size);
  __u64 L = read_ref(G + vm->G_jit_L, vm->ref_size);
  if (L)
    return L;
  *jit_base = 0;
  const __u64 sp = s->regs[KPERF_REG_RSP];
  if (in_vm) {
    for (int k = 0; k < 3; k++)
      if ((L = lua20_frame_thread(vm, G, sp + 8 * k)))
        return L;
    return 0;
  }
  struct lua20_scan c = {.s = s, .vm = vm, .G = G, .n = s->ustack_len / 8};
  bpf_loop(LUA20_SCAN_WORDS, lua20_scan_step, &c, 0);
  return c.L;
}

/* G from r14 (r14d without GC64): DISPATCH in the interpreter and in trace code, often
 * still in C code called from either (callee-saved). Kept only if the running thread's
 * glref is G and vmstate is a VM state, as userspace validates it. */
static __always_inline __u64 derive_G(const struct kperf_sample *s, const struct kperf_lua_vm *vm, bool in_vm)
{
  __u64 r14 = s->regs[KPERF_REG_R14];
  if (vm->ref_size == 4)
    r14 &= 0xffffffffULL;
  if (r14 <= vm->dispatch_from_G)
    return 0;
  const __u64 G = r14 - vm->dispatch_from_G;
  __u64 jit_base;
  const __u64 L = running_L(s, vm, G, in_vm, &jit_base);
  if (!L || read_ref(L + vm->L_glref, vm->ref_size) != G)
    return 0;
  __s32 vmstate = 0;
  if (bpf_probe_read_user(&vmstate, sizeof(vmstate), (const void *)(G + vm->G_vmstate)) != 0 || vmstate < -7)
    return 0;
  return G;
}

/* Reads the LuaJIT VM state words and the window of Lua stack slots below the start
 * base (interpreter: rdx; trace: jit_base; else cur_L->base) into the record, and what
 * capture_resumer finds. The record has KPERF_LUA_WINDOW_BYTES of room at tail (offset
 * tail_off), then KPERF_LUA_RES_WINDOW_BYTES for the resumer. Until userspace knows G,
 * the first sample with DISPATCH in r14 finds it (derive_G) and keeps it in the entry,
 * so that samples are captured from a process's first Lua code on. */
static __always_inline void capture_lua(struct kperf_sample *s, struct kperf_lua_vm *vm, __u8 *tail,
                                        __u64 tail_off)
{
  __u64 *w = s->lua.words;
  __u64 G = vm->G;
  const __u64 rip = s->regs[KPERF_REG_RIP];
  const bool in_vm = rip >= vm->vm_lo && rip < vm->vm_hi;
  if (G == 0) {
    G = derive_G(s, vm, in_vm);
    if (G == 0)
      return;
    vm->G = G;
  }
  __s32 vmstate = 0;
  if (bpf_probe_read_user(&vmstate, sizeof(vmstate), (const void *)(G + vm->G_vmstate)) != 0)
    return;
  __u64 jit_base;
  const __u64 L = running_L(s, vm, G, in_vm, &jit_base);
  w[KPERF_LUA_W_G] = G;
  w[KPERF_LUA_W_VMSTATE] = (__u64)(__s64)vmstate;
  w[KPERF_LUA_W_CUR_L] = L;
  w[KPERF_LUA_W_JIT_BASE] = jit_base;
  w[KPERF_LUA_W_FLAGS] = KPERF_LUA_CAPTURED;
  if (!L)
    return;
  const __u64 base = read_u64(L + vm->L_base);
  const __u64 stack = read_ref(L + vm->L_stack, vm->ref_size);
  __u32 stacksize = 0;
  bpf_probe_read_user(&stacksize, sizeof(stacksize), (const void *)(L + vm->L_stacksize));
  const __u64 cframe = read_u64(L + vm->L_cframe);
  w[KPERF_LUA_W_L_BASE] = base;
  w[KPERF_LUA_W_L_STACK] = stack;
  w[KPERF_LUA_W_L_STACKSIZE] = stacksize;
  w[KPERF_LUA_W_L_CFRAME] = cframe;
  if (cframe & KPERF_LJ_CFRAME_MASK)
    w[KPERF_LUA_W_CFRAME_PC] = read_ref((cframe & KPERF_LJ_CFRAME_MASK) + vm->cframe_pc, vm->ref_size);

  /* No VM C frame: the VM is not running (nginx between requests, cur_L stale), so no
   * Lua frames will be spliced: keep the words, skip the window and the functions. */
  if (!(cframe & KPERF_LJ_CFRAME_MASK) && !in_vm)
    return;
  const bool gc64 = vm->ref_size != 4; /* two slots per frame, or one */
  capture_resumer(s, vm, G, L, cframe, tail + KPERF_LUA_WINDOW_BYTES, tail_off + KPERF_LUA_WINDOW_BYTES);

  /* Where the userspace walker starts: BASE in the interpreter, else jit_base while a
   * trace's frame is current (a trace, or GC / a helper called from it), else L->base. */
  __u64 start = base;
  if (in_vm)
    start = s->regs[1]; /* rdx: BASE */
  else if (jit_base)
    start = jit_base;
  const __u64 limit = stack + 8 * (__u64)stacksize;
  if (!stack || start <= stack || start > limit)
    return;
  __u64 lo = start > KPERF_LUA_WINDOW_BYTES ? start - KPERF_LUA_WINDOW_BYTES : 0;
  if (lo < stack)
    lo = stack;
  __u64 len = start - lo;
  asm volatile("" : "+r"(len)); /* keep the bound check on the register passed below */
  if (len == 0 || len > KPERF_LUA_WINDOW_BYTES)
    return;
  if (bpf_probe_read_user(tail, len, (const void *)lo) != 0)
    return;
  w[KPERF_LUA_W_WINDOW_ADDR] = lo;
  w[KPERF_LUA_W_WINDOW_LEN] = len;
  w[KPERF_LUA_W_WINDOW_OFF] = tail_off;
  w[KPERF_LUA_W_FLAGS] |= KPERF_LUA_WINDOW;
  /* The bottom frame: tvref(L->stack) + LJ_FR2 slots. */
  capture_funcs(&w[KPERF_LUA_W_FUNCS], &w[KPERF_LUA_W_NFUNCS], KPERF_LUA_NFUNCS, tail, lo, len,
                KPERF_LUA_WINDOW_BYTES, start, stack + (gc64 ? KPERF_LJ_SLOT : 0), !gc64);
}

SEC("perf_event")
int kperf_sample(struct bpf_perf_event_data *ctx)
{
  __u64 id = bpf_get_current_pid_tgid();
  __u32 tgid = id >> 32;
  __u32 tid = (__u32)id;

  if (tid == 0)
    return 0; /* the idle task */
  if (filter_tgids) {
    if (!bpf_map_lookup_elem(&tgids, &tgid))
      return 0;
  } else if (tgid == self_tgid) {
    return 0;
  }
  count(KPERF_CNT_SAMPLES);

  struct kperf_lua_vm *vm = bpf_map_lookup_elem(&lua_vms, &tgid);
  struct kperf_sample *s;
  if (vm)
    s = bpf_ringbuf_reserve(&samples, sizeof(*s) + ustack_size + KPERF_LUA_WINDOW_BYTES + KPERF_LUA_RES_WINDOW_BYTES,
                            0);
  else
    s = bpf_ringbuf_reserve(&samples, sizeof(*s) + ustack_size, 0);
  if (!s) {
    count(KPERF_CNT_LOST);
    return 0;
  }

  struct task_struct *task = bpf_get_current_task_btf();
  s->time_ns = bpf_ktime_get_ns();
  s->tgid = tgid;
  s->tid = tid;
  s->cpu = bpf_get_smp_processor_id();
  s->flags = 0;
  s->ustack_len = 0;
  s->reserved = 0;
  __builtin_memset(&s->lua, 0, sizeof(s->lua));
  __builtin_memset(s->comm, 0, sizeof(s->comm));
  struct task_struct *leader = BPF_CORE_READ(task, group_leader);
  bpf_probe_read_kernel_str(s->comm, sizeof(s->comm), &leader->comm);

  const volatile __u64 *w = (const volatile __u64 *)ctx;
  const bool kthread = task->flags & PF_KTHREAD;
  const bool user_mode = !kthread && (w[W_CS] & 3);

  /* Kernel stack: only when the tick hit the kernel (a user-mode tick has none). */
  long klen = 0;
  if (!user_mode) {
    klen = bpf_get_stack(ctx, s->kstack, sizeof(s->kstack), 0);
    if (klen < 0) {
      count(KPERF_CNT_KSTACK_ERR);
      klen = 0;
    }
  }
  s->kstack_len = (__u32)klen / sizeof(__u64);

  if (kthread) {
    s->flags |= KPERF_SAMPLE_KTHREAD | KPERF_SAMPLE_IN_KERNEL;
    __builtin_memset(s->regs, 0, sizeof(s->regs));
  } else {
    if (user_mode) {
      ctx_regs_to_dwarf(s->regs, w);
    } else {
      /* In the kernel: the user registers saved at kernel entry. */
      s->flags |= KPERF_SAMPLE_IN_KERNEL;
      task_regs_to_dwarf(s->regs, (const struct pt_regs *)bpf_task_pt_regs(task));
    }
    s->flags |= KPERF_SAMPLE_USER_REGS;
    __u32 n = copy_user_stack(task, tid, s, s->regs[KPERF_REG_RSP]);
    if (n == 0)
      count(KPERF_CNT_USTACK_ERR);
    if (n < ustack_size)
      s->flags |= KPERF_SAMPLE_USTACK_SHORT;
    s->ustack_len = n;
    if (vm)
      capture_lua(s, vm, (__u8 *)s + sizeof(*s) + ustack_size, sizeof(*s) + ustack_size);
  }

  /* Batch wakeups: the reader polls on a timer and is woken only when data piles up. */
  __u64 queued = bpf_ringbuf_query(&samples, BPF_RB_AVAIL_DATA);
  bpf_ringbuf_submit(s, queued >= wakeup_bytes ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";

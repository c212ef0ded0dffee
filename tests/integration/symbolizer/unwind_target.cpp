// unwind_target: a process with a known call chain for the unwinder tests, built with
// -O2 -fomit-frame-pointer. `unwind_target chain` spins in kperf_leaf <- kperf_spin <-
// kperf_level3 <- kperf_level2 <- kperf_level1 <- main; `unwind_target qsort` spins in
// kperf_spin <- kperf_cmp <- (libc qsort internals) <- kperf_sort_path <- main.
#include <cstdio>
#include <cstdlib>
#include <cstring>

// kperf_cfi_epilogue: an early return whose CFI brackets the epilogue with
// DW_CFA_remember_state / DW_CFA_restore_state, as gcc emits for most functions with
// several exits. Byte offsets: push 0, test 1, je 4, pop 6, ret 7, mov 8, pop 11, ret 12;
// CFA rsp+8 at 0, 7, 12 and rsp+16 at 1..6 and 8..11 (checked by the CFI unit test).
asm(R"(
  .text
  .globl kperf_cfi_epilogue
  .type kperf_cfi_epilogue, @function
kperf_cfi_epilogue:
  .cfi_startproc
  push %rbx
  .cfi_def_cfa_offset 16
  .cfi_offset %rbx, -16
  test %rdi, %rdi
  je 1f
  .cfi_remember_state
  pop %rbx
  .cfi_def_cfa_offset 8
  ret
1:
  .cfi_restore_state
  mov %rdi, %rax
  pop %rbx
  .cfi_def_cfa_offset 8
  ret
  .cfi_endproc
  .size kperf_cfi_epilogue, .-kperf_cfi_epilogue
)");

extern "C" {

unsigned long kperf_cfi_epilogue(unsigned long);
volatile unsigned long kperf_sink;
volatile int kperf_stop;

// Uses several callee-saved registers so its prologue/epilogue push and pop them.
__attribute__((noinline)) unsigned long kperf_leaf(unsigned long a, unsigned long b) {
  unsigned long x = a, y = b, z = a ^ b, w = a + 7;
  for (int i = 0; i < 200; ++i) {
    x += y * 3;
    y ^= z + static_cast<unsigned long>(i);
    z += w;
    w = (w << 1) ^ x;
    asm volatile("" : "+r"(x), "+r"(y), "+r"(z), "+r"(w));
  }
  return x + y + z + w;
}

__attribute__((noinline)) int kperf_spin(int seed) {
  std::printf("ready\n");
  std::fflush(stdout);
  unsigned long acc = static_cast<unsigned long>(seed);
  while (!kperf_stop) {
    acc = kperf_leaf(acc, kperf_sink);
    kperf_sink = kperf_sink + (acc & 1);
  }
  return static_cast<int>(acc);
}

__attribute__((noinline)) int kperf_level3(int x) { return kperf_spin(x * 3) + static_cast<int>(kperf_sink); }
__attribute__((noinline)) int kperf_level2(int x) { return kperf_level3(x + 5) * 7 + static_cast<int>(kperf_sink); }
__attribute__((noinline)) int kperf_level1(int x) { return kperf_level2(x ^ 9) - static_cast<int>(kperf_sink); }

__attribute__((noinline)) int kperf_cmp(const void* a, const void* b) {
  int x = *static_cast<const int*>(a), y = *static_cast<const int*>(b);
  if (kperf_sink == 0) kperf_spin(x + y);
  return (x > y) - (x < y);
}

__attribute__((noinline)) int kperf_sort_path(int n) {
  int values[64];
  for (int i = 0; i < 64; ++i) values[i] = (i * 37 + n) % 64;
  std::qsort(values, 64, sizeof(int), kperf_cmp);
  return values[0] + static_cast<int>(kperf_sink);
}

}  // extern "C"

int main(int argc, char** argv) {
  if (argc > 2) return static_cast<int>(kperf_cfi_epilogue(static_cast<unsigned long>(argc)) & 1);
  if (argc > 1 && std::strcmp(argv[1], "qsort") == 0) return kperf_sort_path(argc) & 1;
  return kperf_level1(argc) & 1;
}

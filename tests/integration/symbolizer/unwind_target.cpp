// unwind_target: a process with a known call chain for the unwinder tests, built with
// -O2 -fomit-frame-pointer. `unwind_target chain` spins in kperf_leaf <- kperf_spin <-
// kperf_level3 <- kperf_level2 <- kperf_level1 <- main; `unwind_target qsort` spins in
// kperf_spin <- kperf_cmp <- (libc qsort internals) <- kperf_sort_path <- main.
#include <cstdio>
#include <cstdlib>
#include <cstring>

extern "C" {

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
  if (argc > 1 && std::strcmp(argv[1], "qsort") == 0) return kperf_sort_path(argc) & 1;
  return kperf_level1(argc) & 1;
}

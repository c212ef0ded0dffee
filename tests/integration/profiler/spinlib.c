/* The library dlspinner loads late: a named function that spins on the CPU. */
#include <time.h>

volatile unsigned long kperf_test_lib_sink;

__attribute__((noinline)) static void lib_inner(void) {
  for (int i = 0; i < 100000; i++) kperf_test_lib_sink += (unsigned long)i * 2654435761u;
}

__attribute__((noinline)) void kperf_test_lib_spin(double until) {
  for (;;) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    if (ts.tv_sec + ts.tv_nsec / 1e9 >= until) break;
    lib_inner();
  }
}

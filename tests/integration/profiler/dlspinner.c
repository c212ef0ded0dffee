/* Test target for the profiler: spins in main for a while, then dlopens a library and
 * spins inside it (its frames must be named: the profiler re-reads the maps).
 * Usage: dlspinner LIBRARY SECONDS_BEFORE SECONDS_IN_LIBRARY */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

volatile unsigned long sink;

__attribute__((noinline)) static void spin_before_dlopen(double until) {
  while (now() < until) {
    for (int i = 0; i < 100000; i++) sink += (unsigned long)i * 2654435761u;
  }
}

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: dlspinner LIBRARY SECONDS_BEFORE SECONDS_IN_LIBRARY\n");
    return 2;
  }
  spin_before_dlopen(now() + atof(argv[2]));
  void* lib = dlopen(argv[1], RTLD_NOW);
  if (!lib) {
    fprintf(stderr, "dlopen: %s\n", dlerror());
    return 1;
  }
  void (*spin)(double) = (void (*)(double))dlsym(lib, "kperf_test_lib_spin");
  if (!spin) return 1;
  spin(now() + atof(argv[3]));
  return 0;
}

/* Test target for the profiler: spins on the CPU in main -> level1 -> level2 -> level3,
 * built -O2 -fomit-frame-pointer so unwinding must use CFI. Usage: spinner [SECONDS]
 * At exit it prints its CPU time: "cpu_seconds=S". */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

volatile unsigned long sink;

__attribute__((noinline)) void level3(double until) {
  while (now() < until) {
    for (int i = 0; i < 100000; i++) sink += (unsigned long)i * 2654435761u;
  }
}

__attribute__((noinline)) void level2(double until) {
  level3(until);
  sink++;
}

__attribute__((noinline)) void level1(double until) {
  level2(until);
  sink++;
}

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? atof(argv[1]) : 3.0;
  level1(now() + seconds);
  struct timespec cpu;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
  printf("cpu_seconds=%.6f\n", cpu.tv_sec + cpu.tv_nsec / 1e9);
  return 0;
}

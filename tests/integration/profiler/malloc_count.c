// A malloc counter for the steady-state allocation test: LD_PRELOADed into kperf, it counts
// malloc / calloc / realloc calls and every 100 ms appends "PID MS COUNT" (milliseconds
// since it was loaded) to $KPERF_TEST_MALLOC_LOG, so that a test can take the allocations
// of a window in the middle of one run. The processes kperf starts inherit it and append
// lines of their own pid.
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

extern void* __libc_malloc(size_t);
extern void* __libc_calloc(size_t, size_t);
extern void* __libc_realloc(void*, size_t);

static atomic_ulong calls;

void* malloc(size_t n) {
  atomic_fetch_add_explicit(&calls, 1, memory_order_relaxed);
  return __libc_malloc(n);
}
void* calloc(size_t k, size_t n) {
  atomic_fetch_add_explicit(&calls, 1, memory_order_relaxed);
  return __libc_calloc(k, n);
}
void* realloc(void* p, size_t n) {
  atomic_fetch_add_explicit(&calls, 1, memory_order_relaxed);
  return __libc_realloc(p, n);
}

static int log_fd = -1;
static struct timespec start;

static void append_count(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  const long ms = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
  char line[80];
  const int n = snprintf(line, sizeof line, "%d %ld %lu\n", (int)getpid(), ms, (unsigned long)atomic_load(&calls));
  if (n > 0) (void)!write(log_fd, line, (size_t)n);
}

static void* ticker(void* arg) {
  (void)arg;
  for (int i = 0; i < 600; ++i) {  // a minute at most
    const struct timespec tick = {0, 100 * 1000 * 1000};
    nanosleep(&tick, NULL);
    append_count();
  }
  return NULL;
}

__attribute__((constructor)) static void begin(void) {
  const char* path = getenv("KPERF_TEST_MALLOC_LOG");
  if (!path) return;
  clock_gettime(CLOCK_MONOTONIC, &start);
  log_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return;
  pthread_t t;
  if (pthread_create(&t, NULL, ticker, NULL) == 0) pthread_detach(t);
}

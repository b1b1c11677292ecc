/* bench_random_mixed ITERATIONS WORKING_SET SEED [MIN_SIZE MAX_SIZE]
 *
 * A working set of WORKING_SET slots; each iteration picks a random slot,
 * frees its block (if any) and allocates a new one of a random size in
 * [MIN_SIZE, MAX_SIZE] (default 16..1024), touching its first bytes.
 * Prints the rate in M ops/s (one op: one malloc or one free) and which
 * allocator library is mapped into the process, so that a run that fell
 * back to another allocator is seen. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *allocator_mapped(void) {
  static char name[256] = "glibc";
  FILE *f = fopen("/proc/self/maps", "r");
  if (!f) return "unknown";
  char line[1024];
  const char *libs[] = { "libhakmem", "libmimalloc", "libjemalloc", "libtcmalloc" };
  while (fgets(line, sizeof line, f)) {
    for (size_t i = 0; i < sizeof libs / sizeof libs[0]; i++) {
      if (strstr(line, libs[i])) { snprintf(name, sizeof name, "%s", libs[i] + 3); fclose(f); return name; }
    }
  }
  fclose(f);
  return name;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s ITERATIONS WORKING_SET SEED [MIN_SIZE MAX_SIZE]\n", argv[0]);
    return 2;
  }
  long iters = atol(argv[1]);
  long ws = atol(argv[2]);
  uint64_t s = (uint64_t)atol(argv[3]) * 0x9e3779b97f4a7c15ull + 1;
  size_t lo = argc > 5 ? (size_t)atol(argv[4]) : 16, hi = argc > 5 ? (size_t)atol(argv[5]) : 1024;
  if (ws < 1 || iters < 1 || lo > hi) return 2;
  void **slots = calloc((size_t)ws, sizeof(void *));
  struct timespec t0, t1;
  long ops = 0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (long i = 0; i < iters; i++) {
    s ^= s << 13; s ^= s >> 7; s ^= s << 17;
    size_t k = (size_t)(s % (uint64_t)ws);
    size_t n = lo + (size_t)((s >> 20) % (hi - lo + 1));
    if (slots[k]) { free(slots[k]); ops++; }
    char *p = malloc(n);
    p[0] = (char)i;
    p[n - 1] = (char)i;
    slots[k] = p;
    ops++;
  }
  for (long k = 0; k < ws; k++) free(slots[k]);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
  free(slots);
  printf("bench_random_mixed: %.2f M ops/s (allocator: %s)\n", (double)ops / secs / 1e6, allocator_mapped());
  return 0;
}

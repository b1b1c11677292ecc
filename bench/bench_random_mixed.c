/* bench_random_mixed ITERATIONS WORKING_SET SEED [MIN_SIZE MAX_SIZE]
 *
 * A working set of WORKING_SET slots; each iteration (one operation) picks
 * a random slot, frees its block (if any) and allocates a new one of a
 * random size in [MIN_SIZE, MAX_SIZE] (default 16..1024), touching its
 * first and last byte. */
#include "common.h"

#include <stdlib.h>

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s ITERATIONS WORKING_SET SEED [MIN_SIZE MAX_SIZE]\n", argv[0]);
    return 2;
  }
  long iters = atol(argv[1]);
  long ws = atol(argv[2]);
  uint64_t s = (uint64_t)atol(argv[3]) * 0x9e3779b97f4a7c15ull + 1;
  size_t lo = argc > 5 ? (size_t)atol(argv[4]) : 16, hi = argc > 5 ? (size_t)atol(argv[5]) : 1024;
  if (ws < 1 || iters < 1 || lo < 1 || lo > hi) return 2;
  void **slots = calloc((size_t)ws, sizeof(void *));
  double t0 = now_s();
  for (long i = 0; i < iters; i++) {
    size_t k = (size_t)rng_below(&s, (uint64_t)ws);
    size_t n = lo + (size_t)rng_below(&s, hi - lo + 1);
    free(slots[k]);
    char *p = malloc(n);
    p[0] = (char)i;
    p[n - 1] = (char)i;
    slots[k] = p;
  }
  double t1 = now_s();
  for (long k = 0; k < ws; k++) free(slots[k]);
  free(slots);
  report_faults("bench_random_mixed", (double)iters);
  report("bench_random_mixed", (double)iters, t1 - t0);
  return 0;
}

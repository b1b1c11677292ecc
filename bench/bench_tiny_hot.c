/* bench_tiny_hot [ITERATIONS]: for each size 16, 32, ..., 1024, malloc and
 * immediately free in a tight loop (ITERATIONS pairs per size, default
 * 2000000); one operation is one pair. */
#include "common.h"

#include <stdlib.h>

int main(int argc, char **argv) {
  long iters = argc > 1 ? atol(argv[1]) : 2000000;
  double t0 = now_s();
  long ops = 0;
  for (size_t size = 16; size <= 1024; size += size < 256 ? 16 : size / 8) {
    for (long i = 0; i < iters; i++) {
      void *volatile p = malloc(size);
      free(p);
    }
    ops += iters;
  }
  report("bench_tiny_hot", (double)ops, now_s() - t0);
  return 0;
}

/* bench_live SIZE [COUNT]: keeps COUNT (default 1000000) blocks of SIZE
 * bytes live at once, with an array of their pointers, then frees them.
 * The figure that matters is the peak resident memory (the runner's
 * measurement); the rate is printed too. */
#include "common.h"

#include <stdlib.h>

int main(int argc, char **argv) {
  size_t size = argc > 1 ? (size_t)atol(argv[1]) : 16;
  long count = argc > 2 ? atol(argv[2]) : 1000000;
  char **blocks = malloc((size_t)count * sizeof(char *));
  double t0 = now_s();
  for (long i = 0; i < count; i++) {
    blocks[i] = malloc(size);
    blocks[i][0] = (char)i;
  }
  long sum = 0;
  for (long i = 0; i < count; i++) sum += blocks[i][0];
  for (long i = 0; i < count; i++) free(blocks[i]);
  double t1 = now_s();
  free(blocks);
  if (sum == 42) puts("");
  report("bench_live", (double)count, t1 - t0);
  return 0;
}

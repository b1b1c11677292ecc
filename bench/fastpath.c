/* fastpath N: N pairs of malloc(32)/free(p) with 64 blocks of the same
 * size kept live (so that no slab empties).  Run under callgrind twice, with
 * two values of N, by bench/fastpath.sh: the difference of the instruction
 * totals over the difference of N is the cost of one pair, loop included. */
#include <stdlib.h>

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 100000;
  void *live[64];
  for (int i = 0; i < 64; i++) live[i] = malloc(32);
  for (long i = 0; i < n; i++) {
    void *volatile p = malloc(32);
    free(p);
  }
  for (int i = 0; i < 64; i++) free(live[i]);
  return 0;
}

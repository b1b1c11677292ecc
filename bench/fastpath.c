/* A loop of small malloc/free pairs that stays in the thread cache: run
 * under callgrind by bench/fastpath.sh to count the fast paths' instructions. */
#include <stdlib.h>

int main(void) {
  void *p[64];
  for (int r = 0; r < 20000; r++) {
    for (int i = 0; i < 64; i++) p[i] = malloc(32 + (size_t)(i & 3) * 16);
    for (int i = 0; i < 64; i++) free(p[i]);
  }
  return 0;
}

/* When the kernel refuses memory (run under ulimit -v), allocation fails
 * with ENOMEM and the allocator stays usable: after freeing, allocation
 * works again.  Run with libhakmem preloaded. */
#include "check.h"

#include <errno.h>
#include <string.h>

int hak_owns(const void *p) __attribute__((weak));

#define MAXBLOCKS (1 << 21)
static void *blocks[MAXBLOCKS];

/* Allocates blocks of size n until the allocator says no; returns the count. */
static size_t exhaust(size_t n, int *enomem) {
  size_t k = 0;
  while (k < MAXBLOCKS) {
    errno = 0;
    void *p = malloc(n);
    if (p == NULL) { *enomem = errno == ENOMEM; break; }
    memset(p, 0x11, n < 128 ? n : 128);
    blocks[k++] = p;
  }
  return k;
}

static void release(size_t k) {
  for (size_t i = 0; i < k; i++) free(blocks[i]);
}

int main(void) {
  CHECK(hak_owns != NULL);
  const size_t sizes[] = { 1 << 20, 100000, 8000, 1000, 400 };   /* MAXBLOCKS of each exceed the limit */
  for (int round = 0; round < 2; round++) {
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
      int enomem = 0;
      size_t k = exhaust(sizes[s], &enomem);
      CHECK(k > 0 && k < MAXBLOCKS);   /* the limit was reached */
      CHECK(enomem);
      /* other entry points fail cleanly too */
      errno = 0;
      CHECK(calloc(1, 64 << 20) == NULL && errno == ENOMEM);
      void *big = NULL;
      CHECK(posix_memalign(&big, 1 << 21, 64 << 20) == ENOMEM);
      char *keep = blocks[k - 1];
      errno = 0;
      char *moved = realloc(keep, 256 << 20);
      CHECK(moved == NULL && errno == ENOMEM && keep[0] == 0x11);
      if (moved != NULL) blocks[k - 1] = moved;
      release(k);
      /* and everything works again */
      void *again = malloc(sizes[s]);
      CHECK(again != NULL);
      free(again);
      size_t k2 = exhaust(sizes[s], &enomem);
      CHECK(k2 * 10 >= k * 9);   /* the freed memory is reused */
      release(k2);
    }
  }
  CHECK_DONE();
}

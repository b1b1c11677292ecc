/* For the tests of what happens as the process begins to shrink (parked
 * blocks, src/tiny.c): large blocks written in full (48 MiB resident) and
 * 300 blocks of 64 bytes.  Freeing the large ones leaves more pages dirty
 * than in use, and over the 32 MiB floor: the process shrinks; freeing the
 * small ones then overflows a thread cache: the thread's caches drain, and
 * its sparse mid slabs park. */
#ifndef HAKMEM_TEST_SHRINK_H
#define HAKMEM_TEST_SHRINK_H
#include "hakmem.h"

#include <string.h>

enum { SHRINK_BIG = 48, SHRINK_SMALL = 300 };
static void *shrink_big[SHRINK_BIG], *shrink_small[SHRINK_SMALL];

static void shrink_prepare(void) {
  for (int i = 0; i < SHRINK_BIG; i++) {
    shrink_big[i] = hak_malloc(1000 << 10);
    memset(shrink_big[i], 1, 1000 << 10);
  }
  for (int i = 0; i < SHRINK_SMALL; i++) shrink_small[i] = hak_malloc(64);
}

static void shrink_free_big(void) {
  for (int i = 0; i < SHRINK_BIG; i++) hak_free(shrink_big[i]);
}

static void shrink_drain(void) {
  for (int i = 0; i < SHRINK_SMALL; i++) hak_free(shrink_small[i]);
}
#endif

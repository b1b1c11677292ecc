/* bench_xthread [PAIRS [BLOCKS_PER_PAIR]]: PAIRS producer/consumer pairs
 * (default 1, so 2 threads); each producer allocates blocks of 16..512
 * bytes and hands them in batches through a lock-free queue to its consumer,
 * which frees them: every free is remote.  One operation is one block
 * (allocated and freed). */
#include "common.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#define BATCH 256
#define SLOTS 64   /* batches in flight per pair */

typedef struct pair {
  _Atomic(void **) ring[SLOTS];
  long blocks;
} pair_t;

static void *producer(void *arg) {
  pair_t *q = arg;
  uint64_t s = (uintptr_t)arg | 1;
  long batches = q->blocks / BATCH;
  for (long b = 0; b < batches; b++) {
    void **batch = malloc(BATCH * sizeof(void *));
    for (int i = 0; i < BATCH; i++) {
      size_t n = 16 + (size_t)rng_below(&s, 497);
      char *p = malloc(n);
      p[0] = 1;
      batch[i] = p;
    }
    _Atomic(void **) *slot = &q->ring[b % SLOTS];
    void **expected = NULL;
    while (!atomic_compare_exchange_weak(slot, &expected, batch)) expected = NULL;   /* wait for room */
  }
  return NULL;
}

static void *consumer(void *arg) {
  pair_t *q = arg;
  long batches = q->blocks / BATCH;
  for (long b = 0; b < batches; b++) {
    _Atomic(void **) *slot = &q->ring[b % SLOTS];
    void **batch;
    while ((batch = atomic_exchange(slot, NULL)) == NULL) {}
    for (int i = 0; i < BATCH; i++) free(batch[i]);
    free(batch);
  }
  return NULL;
}

int main(int argc, char **argv) {
  int pairs = argc > 1 ? atoi(argv[1]) : 1;
  long blocks = argc > 2 ? atol(argv[2]) : 4000000;
  if (pairs < 1 || pairs > 32) return 2;
  pair_t *q = calloc((size_t)pairs, sizeof(pair_t));
  pthread_t t[64];
  double t0 = now_s();
  for (int i = 0; i < pairs; i++) {
    q[i].blocks = blocks;
    pthread_create(&t[2 * i], NULL, producer, &q[i]);
    pthread_create(&t[2 * i + 1], NULL, consumer, &q[i]);
  }
  for (int i = 0; i < 2 * pairs; i++) pthread_join(t[i], NULL);
  report("bench_xthread", (double)pairs * (double)(blocks / BATCH * BATCH), now_s() - t0);
  free(q);
  return 0;
}

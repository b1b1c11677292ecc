/* bench_mid_large_mt THREADS [OPS_PER_THREAD [SEED]]: each thread keeps 256
 * slots of blocks of 1 KiB..256 KiB and replaces random ones, writing one
 * byte per 4 KiB page and the last byte, so the memory is really used.  A
 * quarter of the frees are remote: the block goes to the next thread (a
 * ring), in batches of 64 so that the handoff costs little, and that thread
 * frees it.  One operation is one replacement. */
#include "common.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#define SLOTS 256
#define BATCH 64
#define MIN_SIZE 1024
#define MAX_SIZE (256 * 1024)
#define MAX_THREADS 256

typedef struct batch {
  struct batch *next;
  int n;
  void *p[BATCH];
} batch_t;

/* One cache line each: the inbox is written by the previous thread. */
typedef struct worker {
  _Atomic(batch_t *) inbox;   /* a stack; its only pusher is the previous thread */
  struct worker *next;
  long ops;
  uint64_t seed;
} __attribute__((aligned(64))) worker_t;

static atomic_int finished;
static int nthreads;

static void drain(worker_t *w) {
  batch_t *b = atomic_exchange(&w->inbox, NULL);
  while (b) {
    batch_t *next = b->next;
    for (int i = 0; i < b->n; i++) free(b->p[i]);
    free(b);
    b = next;
  }
}

static void send(worker_t *to, batch_t *b) {
  b->next = atomic_load_explicit(&to->inbox, memory_order_relaxed);
  while (!atomic_compare_exchange_weak(&to->inbox, &b->next, b)) {}
}

static void *work(void *arg) {
  worker_t *w = arg;
  uint64_t s = w->seed;
  char *slots[SLOTS] = { 0 };
  batch_t *out = malloc(sizeof *out);
  out->n = 0;
  for (long i = 0; i < w->ops; i++) {
    size_t k = (size_t)rng_below(&s, SLOTS);
    if (slots[k]) {
      if ((rng_next(&s) & 3) == 0) {
        out->p[out->n++] = slots[k];
        if (out->n == BATCH) {
          send(w->next, out);
          out = malloc(sizeof *out);
          out->n = 0;
        }
      } else {
        free(slots[k]);
      }
    }
    size_t n = MIN_SIZE + (size_t)rng_below(&s, MAX_SIZE - MIN_SIZE + 1);
    char *p = malloc(n);
    for (size_t off = 0; off < n; off += 4096) p[off] = (char)i;
    p[n - 1] = (char)i;
    slots[k] = p;
    if (atomic_load_explicit(&w->inbox, memory_order_relaxed)) drain(w);
  }
  if (out->n) send(w->next, out); else free(out);
  /* The previous thread may still be sending: drain until every thread
   * has sent its last batch, then once more. */
  atomic_fetch_add(&finished, 1);
  while (atomic_load(&finished) < nthreads) {
    drain(w);
    sched_yield();
  }
  drain(w);
  for (int k = 0; k < SLOTS; k++) free(slots[k]);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s THREADS [OPS_PER_THREAD [SEED]]\n", argv[0]);
    return 2;
  }
  nthreads = atoi(argv[1]);
  long ops = argc > 2 ? atol(argv[2]) : 200000;
  uint64_t seed = argc > 3 ? (uint64_t)atol(argv[3]) : 42;
  if (nthreads < 1 || nthreads > MAX_THREADS || ops < 1) return 2;
  static worker_t w[MAX_THREADS];
  pthread_t t[MAX_THREADS];
  for (int i = 0; i < nthreads; i++) {
    w[i].next = &w[(i + 1) % nthreads];
    w[i].ops = ops;
    w[i].seed = (seed * MAX_THREADS + (uint64_t)i + 1) * 0x9e3779b97f4a7c15ull;
  }
  double t0 = now_s();
  for (int i = 0; i < nthreads; i++) pthread_create(&t[i], NULL, work, &w[i]);
  for (int i = 0; i < nthreads; i++) pthread_join(t[i], NULL);
  double t1 = now_s();
  printf("bench_mid_large_mt threads=%d ops_per_thread=%ld\n", nthreads, ops);
  report_faults("bench_mid_large_mt", (double)nthreads * (double)ops);
  report("bench_mid_large_mt", (double)nthreads * (double)ops, t1 - t0);
  return 0;
}

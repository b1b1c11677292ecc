/* bench_larson [THREADS [SECONDS [MIN [MAX [BLOCKS_PER_THREAD [ROUNDS]]]]]]:
 * the Larson server simulation (defaults 2 threads, 2 s, 8..1000 bytes, 1000
 * blocks, 10000 rounds).  Each thread owns an array of blocks and, ROUNDS
 * times, frees a random one and allocates a replacement of a random size in
 * [MIN, MAX].  Then it hands the array to a new thread and exits, so blocks
 * allocated by one thread are freed by another, as in a server whose
 * connections move between worker threads.  The first blocks are allocated
 * by main.  One operation is one replacement; runs for SECONDS. */
#include "common.h"

#include <pthread.h>
#include <stdatomic.h>

#define MAX_THREADS 256

typedef struct lineage {
  char **blocks;
  long nblocks, rounds, ops, generations;
  uint64_t rng;
} lineage_t;

static atomic_bool stop;
static atomic_int running;   /* lineages that have not seen the stop */
static size_t min_size, max_size;
static pthread_attr_t detached;

static void *generation(void *arg) {
  lineage_t *l = arg;
  for (;;) {
    uint64_t s = l->rng;
    long r = 0;
    for (; r < l->rounds; r++) {
      if ((r & 63) == 0 && atomic_load_explicit(&stop, memory_order_relaxed)) break;
      size_t k = (size_t)rng_below(&s, (uint64_t)l->nblocks);
      free(l->blocks[k]);
      size_t n = min_size + (size_t)rng_below(&s, max_size - min_size + 1);
      char *p = malloc(n);
      p[0] = (char)r;
      p[n - 1] = (char)r;
      l->blocks[k] = p;
    }
    l->rng = s;
    l->ops += r;
    l->generations++;
    if (atomic_load(&stop)) {
      atomic_fetch_sub(&running, 1);
      return NULL;
    }
    pthread_t t;
    if (pthread_create(&t, &detached, generation, l) == 0) return NULL;
    /* No new thread to be had: this one goes on. */
  }
}

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 2;
  double secs = argc > 2 ? atof(argv[2]) : 2;
  min_size = argc > 3 ? (size_t)atol(argv[3]) : 8;
  max_size = argc > 4 ? (size_t)atol(argv[4]) : 1000;
  long nblocks = argc > 5 ? atol(argv[5]) : 1000;
  long rounds = argc > 6 ? atol(argv[6]) : 10000;
  if (threads < 1 || threads > MAX_THREADS || secs <= 0 || min_size < 1 || min_size > max_size || nblocks < 1 || rounds < 1) {
    fprintf(stderr, "usage: %s [THREADS [SECONDS [MIN [MAX [BLOCKS_PER_THREAD [ROUNDS]]]]]]\n", argv[0]);
    return 2;
  }
  pthread_attr_init(&detached);
  pthread_attr_setdetachstate(&detached, PTHREAD_CREATE_DETACHED);
  static lineage_t l[MAX_THREADS];
  uint64_t s = 0x9e3779b97f4a7c15ull;
  for (int i = 0; i < threads; i++) {
    l[i].blocks = malloc((size_t)nblocks * sizeof(char *));
    for (long k = 0; k < nblocks; k++) {
      size_t n = min_size + (size_t)rng_below(&s, max_size - min_size + 1);
      l[i].blocks[k] = malloc(n);
      l[i].blocks[k][0] = 0;
    }
    l[i].nblocks = nblocks;
    l[i].rounds = rounds;
    l[i].rng = ((uint64_t)i + 1) * 0xbf58476d1ce4e5b9ull;
  }
  atomic_store(&running, threads);
  double t0 = now_s();
  for (int i = 0; i < threads; i++) {
    pthread_t t;
    if (pthread_create(&t, &detached, generation, &l[i]) != 0) { perror("pthread_create"); return 1; }
  }
  struct timespec nap = { (time_t)secs, (long)((secs - (double)(time_t)secs) * 1e9) };
  while (nanosleep(&nap, &nap) != 0) {}
  atomic_store(&stop, 1);
  struct timespec tick = { 0, 100000 };
  while (atomic_load(&running) > 0) nanosleep(&tick, NULL);
  double t1 = now_s();
  double ops = 0;
  long gens = 0;
  for (int i = 0; i < threads; i++) {
    ops += (double)l[i].ops;
    gens += l[i].generations;
    for (long k = 0; k < nblocks; k++) free(l[i].blocks[k]);
    free(l[i].blocks);
  }
  printf("bench_larson threads=%d sizes=%zu..%zu blocks=%ld rounds=%ld generations=%ld\n", threads, min_size, max_size, nblocks, rounds, gens);
  report("bench_larson", ops, t1 - t0);
  return 0;
}

/* Multi-threaded stress through the hak_ API: random sizes in every tier,
 * malloc, calloc, realloc and aligned allocation, a pattern in every block
 * checked before it is freed or reallocated, and a share of the blocks
 * handed to other threads (through a shared exchange) and freed there.
 * With LIVE above 512 (blocks each thread keeps), the threads also free
 * 15 of every 16 of their blocks every 2 * LIVE operations: waves in which
 * the process shrinks, and mid slabs park their free pages (src/tiny.c)
 * while other threads free into them.
 *
 * usage: test_stress [THREADS [OPS_PER_THREAD [LIVE]]] */
#include "check.h"
#include "hakmem.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

/* The invariant checker (src/verify.c), in libhakmem-api.a. */
size_t hak_verify(void);

#define LIVE_MIN 512
#define EXCHANGE 256

typedef struct block { unsigned char *p; size_t n; uint32_t seed; } block_t;

static _Atomic(block_t *) exchange[EXCHANGE];
static long ops_per_thread = 400000;
static long live_blocks = LIVE_MIN;
static atomic_long errors;

static uint64_t rnd(uint64_t *s) {
  *s ^= *s << 13; *s ^= *s >> 7; *s ^= *s << 17;
  return *s;
}

static size_t pick_size(uint64_t *s) {
  uint64_t r = rnd(s) % 10000;
  if (r < 7000) return rnd(s) % 256;            /* tiny */
  if (r < 9700) return 256 + rnd(s) % 32768;     /* tiny and mid */
  if (r < 9998) return 32768 + rnd(s) % 300000;  /* large */
  return (1u << 20) + rnd(s) % (7u << 20);     /* huge, up to 8 MiB */
}

/* The pattern covers the first and last 64 bytes, and a word per page. */
static void pattern(unsigned char *p, size_t n, uint32_t seed, int write, atomic_long *bad) {
  size_t head = n < 64 ? n : 64;
  for (size_t i = 0; i < head; i++) {
    unsigned char v = (unsigned char)(seed + i);
    if (write) p[i] = v; else if (p[i] != v) { atomic_fetch_add(bad, 1); return; }
  }
  for (size_t i = n > 128 ? n - 64 : head; i < n; i++) {
    unsigned char v = (unsigned char)(seed ^ i);
    if (write) p[i] = v; else if (p[i] != v) { atomic_fetch_add(bad, 1); return; }
  }
  for (size_t i = 4096; i + 64 < n; i += 16384) {
    unsigned char v = (unsigned char)(seed * 3 + i / 4096);
    if (write) p[i] = v; else if (p[i] != v) { atomic_fetch_add(bad, 1); return; }
  }
}

/* b->p is read by the thread that owns the carrier and cleared by whichever
 * thread frees the handed-off block: atomic accesses. */
static void release(block_t *b) {
  pattern(b->p, b->n, b->seed, 0, &errors);
  hak_free(b->p);
  __atomic_store_n(&b->p, NULL, __ATOMIC_RELEASE);
}

static void *worker(void *arg) {
  uint64_t s = 0x9e3779b97f4a7c15ull * ((uintptr_t)arg + 1);
  const long LIVE = live_blocks;
  block_t *live = hak_calloc((size_t)LIVE, sizeof *live);
  if (live == NULL) { atomic_fetch_add(&errors, 1); return NULL; }
  block_t *boxes = hak_malloc(sizeof(block_t) * EXCHANGE);   /* carriers for handed-off blocks */
  memset(boxes, 0, sizeof(block_t) * EXCHANGE);
  for (long op = 0; op < ops_per_thread; op++) {
    if (LIVE > LIVE_MIN && op % (2 * LIVE) == 2 * LIVE - 1) {
      for (long i = 0; i < LIVE; i++)
        if (i % 16 != 0 && live[i].p) release(&live[i]);
    }
    block_t *b = &live[rnd(&s) % LIVE];
    uint64_t kind = rnd(&s) % 100;
    if (b->p != NULL && kind < 10) {
      /* realloc: the pattern's prefix survives */
      size_t n = pick_size(&s) + 1;   /* realloc(p, 0) would free */
      pattern(b->p, b->n, b->seed, 0, &errors);
      unsigned char *q = hak_realloc(b->p, n);
      if (q == NULL) { atomic_fetch_add(&errors, 1); continue; }
      size_t keep = n < b->n ? n : b->n;
      size_t head = keep < 64 ? keep : 64;
      for (size_t i = 0; i < head; i++) if (q[i] != (unsigned char)(b->seed + i)) { atomic_fetch_add(&errors, 1); break; }
      b->p = q; b->n = n; b->seed = (uint32_t)rnd(&s);
      pattern(q, n, b->seed, 1, NULL);
      continue;
    }
    if (b->p != NULL && kind < 25) {
      /* hand the block to whichever thread takes the exchange slot next */
      block_t *box = &boxes[rnd(&s) % EXCHANGE];
      if (__atomic_load_n(&box->p, __ATOMIC_ACQUIRE) != NULL) { release(b); continue; }
      *box = *b;
      b->p = NULL;
      block_t *old = atomic_exchange(&exchange[rnd(&s) % EXCHANGE], box);
      if (old != NULL) release(old);   /* another thread's block, freed here */
      continue;
    }
    if (b->p != NULL) release(b);
    size_t n = pick_size(&s);
    unsigned char *p;
    if (kind < 40) {
      p = hak_calloc(1, n);
      for (size_t i = 0; i < (n < 256 ? n : 256); i++) if (p[i] != 0) { atomic_fetch_add(&errors, 1); break; }
    } else if (kind < 45) {
      size_t a = (size_t)16 << (rnd(&s) % 9);
      p = hak_aligned_alloc(a, n);
      if ((uintptr_t)p % a != 0) atomic_fetch_add(&errors, 1);
    } else {
      p = hak_malloc(n);
    }
    if (p == NULL) { atomic_fetch_add(&errors, 1); continue; }
    b->p = p; b->n = n; b->seed = (uint32_t)rnd(&s);
    pattern(p, n, b->seed, 1, NULL);
  }
  for (long i = 0; i < LIVE; i++) if (live[i].p) release(&live[i]);
  hak_free(live);
  /* Boxes may still sit in the exchange: the main thread drains it after
   * all workers are done, so the carriers are leaked on purpose until then. */
  return boxes;
}

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 4;
  if (argc > 2) ops_per_thread = atol(argv[2]);
  if (argc > 3 && atol(argv[3]) > LIVE_MIN) live_blocks = atol(argv[3]);
  pthread_t t[64];
  if (threads < 1 || threads > 64) threads = 4;
  for (int round = 0; round < 2; round++) {
    for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)(i + round * 100));
    void *boxes[64];
    for (int i = 0; i < threads; i++) pthread_join(t[i], &boxes[i]);
    CHECK(atomic_load(&errors) == 0);
    for (int i = 0; i < EXCHANGE; i++) {
      block_t *b = atomic_exchange(&exchange[i], NULL);
      if (b) release(b);
    }
    for (int i = 0; i < threads; i++) hak_free(boxes[i]);
    CHECK(hak_verify() == 0);   /* every thread is gone: the structures are at rest */
  }
  CHECK(atomic_load(&errors) == 0);
  struct mallinfo2 mi = hak_mallinfo2();
  CHECK(mi.hblks == 0);   /* every huge block came back */
  struct hak_stats st;
  hak_stats_get(&st);
  /* the waves parked blocks (unless a purge delay of its own keeps the
   * dirty pages too few for the process to count as shrinking) */
  if (live_blocks > LIVE_MIN && getenv("HAKMEM_PURGE_DELAY_MS") == NULL) CHECK(st.bytes_parked > 0);
  printf("test_stress: %d threads x %ld ops x 2 rounds = %ld operations\n", threads, ops_per_thread, 2L * threads * ops_per_thread);
  CHECK_DONE();
}

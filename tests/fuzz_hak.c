/* Fuzzing harness for the hak_ API: the input bytes are decoded into a
 * sequence of operations (allocate in every tier with or without an
 * alignment, free, realloc, free on a helper thread, allocate on the helper
 * thread, restart the helper, malloc_trim, error paths, batches of
 * thousands of small blocks) over a table of slots.  Every block holds a
 * pattern derived from its slot and a per-block seed, written over its whole
 * usable size (sampled for big blocks) and checked before it is freed or
 * reallocated; alignment, usable size, ownership and calloc's zeroes are
 * checked on allocation.  At the end of each input every block is freed,
 * the per-class counts of blocks in use must be back where they were, no
 * huge block may be left, and hakmem's invariant checker must pass.  Any
 * mismatch aborts with a message on stderr.
 *
 * Built by tests/fuzz.sh with clang's libFuzzer; with -DFUZZ_REPLAY it is a
 * plain program (any C11 compiler) that runs the given files, or every file
 * in the given directories, through LLVMFuzzerTestOneInput once each. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "hakmem.h"

/* hakmem's invariant checker (src/verify.c, in libhakmem-api.a): the
 * number of inconsistencies found, each described on stderr. */
size_t hak_verify(void);

#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS        64
#define MAX_OPS      1000
#define LIVE_CAP     ((size_t)64 << 20)    /* requested bytes live (and queued to the helper) */
#define BIG_BUDGET   ((size_t)64 << 20)    /* bytes of huge blocks per input: their pages are touched */
#define FULL_MAX     ((size_t)32 << 10)    /* blocks up to this (the slab classes) get the pattern over every byte */
#define EDGE         4096                  /* bigger ones: first and last 4 KiB, a word per page */
#define QUEUE        64
#define MAX_RESTARTS 4
#define BATCHES      4
#define BATCH_MAX    8192                  /* blocks: enough to overflow thread caches and fill slabs */
#define BATCH_BYTES  ((size_t)4 << 20)
#define TIER_SMALL   ((size_t)32 << 10)    /* hakmem's tier boundaries (src/internal.h) */
#define TIER_LARGE   ((size_t)1 << 20)

static _Atomic unsigned long cur_op;   /* for messages (the helper thread's too) */
static const char *cur_file;           /* the replay driver's input, for messages */

__attribute__((noreturn, format(printf, 1, 2)))
static void fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (cur_file != NULL) fprintf(stderr, "fuzz_hak: input %s\n", cur_file);
  fprintf(stderr, "fuzz_hak: op %lu: ", (unsigned long)cur_op);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  abort();
}

/* ------------------------------------------------------------ patterns */

typedef struct block {
  unsigned char *p;
  size_t size;    /* requested */
  size_t ext;     /* the pattern's extent: the usable size */
  uint64_t seed;
} block_t;

static inline uint64_t word_of(uint64_t seed, size_t k) {
  /* position-dependent, so that a block copied to a shifted place fails */
  uint64_t x = (seed ^ (uint64_t)k) * 0x9e3779b97f4a7c15ull;
  return x ^ (x >> 31) ^ seed;
}

static inline unsigned char byte_of(uint64_t seed, size_t i) {
  return (unsigned char)(word_of(seed, i >> 3) >> ((i & 7) * 8));
}

/* The harness's own loops over blocks skip the sanitizers' checks and the
 * fuzzer's comparison tracing: blocks live in hakmem's mappings, which ASan
 * never poisons, the pattern's values guide nothing, and these loops are a
 * large part of the run time. */
#ifdef __clang__
#define HOT __attribute__((no_sanitize("address", "undefined", "coverage")))
#else
#define HOT
#endif

/* Writes (check == 0) or checks [a, b) of the pattern; returns the first
 * offset that differs, or SIZE_MAX. */
HOT static size_t range_op(unsigned char *p, size_t a, size_t b, uint64_t seed, int check) {
  size_t i = a;
  for (; i < b && (i & 7) != 0; i++) {
    if (!check) p[i] = byte_of(seed, i);
    else if (p[i] != byte_of(seed, i)) return i;
  }
  for (; i + 8 <= b; i += 8) {
    uint64_t w = word_of(seed, i >> 3), have;
    if (!check) { memcpy(p + i, &w, 8); continue; }
    memcpy(&have, p + i, 8);
    if (have != w) {
      for (size_t j = i; j < i + 8; j++) if (p[j] != byte_of(seed, j)) return j;
    }
  }
  for (; i < b; i++) {
    if (!check) p[i] = byte_of(seed, i);
    else if (p[i] != byte_of(seed, i)) return i;
  }
  return SIZE_MAX;
}

/* The first byte of [a, b) that is not zero, or SIZE_MAX. */
HOT static size_t zero_check(const unsigned char *p, size_t a, size_t b) {
  size_t i = a;
  for (; i < b && (i & 7) != 0; i++) if (p[i] != 0) return i;
  for (; i + 8 <= b; i += 8) {
    uint64_t w;
    memcpy(&w, p + i, 8);
    if (w != 0) break;
  }
  for (; i < b; i++) if (p[i] != 0) return i;
  return SIZE_MAX;
}

/* The pattern of a block of extent ext, restricted to [0, limit): the whole
 * block when small, else its ends and one word per page (at an offset the
 * seed picks).  check: 0 writes, 1 checks the pattern, 2 checks zeroes. */
static size_t pattern_op(unsigned char *p, size_t ext, size_t limit, uint64_t seed, int check) {
  size_t lim = limit < ext ? limit : ext, bad;
  size_t head = ext <= FULL_MAX ? ext : EDGE;
  if ((bad = check == 2 ? zero_check(p, 0, head < lim ? head : lim) : range_op(p, 0, head < lim ? head : lim, seed, check)) != SIZE_MAX)
    return bad;
  if (ext <= FULL_MAX) return SIZE_MAX;
  /* A word-aligned place in each page; in huge blocks in every 16th page
   * only (which ones, the seed decides), since every page touched first
   * costs a page fault and they would dominate the run time. */
  size_t off = (size_t)(seed >> 40) % 512 * 8, step = 4096;
  if (ext > TIER_LARGE) { off += (size_t)(seed >> 32) % 16 * 4096; step *= 16; }
  for (size_t i = EDGE + off; i + 8 <= ext - EDGE && i + 8 <= lim; i += step)
    if ((bad = check == 2 ? zero_check(p, i, i + 8) : range_op(p, i, i + 8, seed, check)) != SIZE_MAX) return bad;
  if (ext - EDGE < lim) return check == 2 ? zero_check(p, ext - EDGE, lim) : range_op(p, ext - EDGE, lim, seed, check);
  return SIZE_MAX;
}

static void check_block(const block_t *b, size_t limit, const char *what) {
  size_t bad = pattern_op(b->p, b->ext, limit, b->seed, 1);
  if (bad != SIZE_MAX)
    fail("%s: block %p (size %zu, usable %zu) byte %zu is 0x%02x, expected 0x%02x",
         what, (void *)b->p, b->size, b->ext, bad, b->p[bad], byte_of(b->seed, bad));
}

/* ------------------------------------------------------------ allocation */

enum { A_MALLOC, A_CALLOC, A_ALIGNED, A_POSIX, A_MEMALIGN, A_VALLOC, A_PVALLOC, A_KINDS };

typedef struct request {
  int kind;
  size_t size;
  size_t align;     /* as passed */
  size_t count, elem;   /* calloc: count * elem == size */
  uint64_t seed;
} request_t;

static size_t pow2_at_least(size_t a) {
  size_t r = 16;
  while (r < a) r <<= 1;
  return r;
}

/* Allocates as asked, checks the block (alignment, usable size, ownership,
 * calloc's zeroes) and writes its pattern.  Runs on either thread. */
static block_t do_alloc(const request_t *q) {
  void *p = NULL;
  size_t size = q->size, align = 16, ps = 4096;
  switch (q->kind) {
  case A_MALLOC:  p = hak_malloc(size); break;
  case A_CALLOC:  p = hak_calloc(q->count, q->elem); break;
  case A_ALIGNED: p = hak_aligned_alloc(q->align, size); align = q->align; break;
  case A_POSIX: {
    int rc = hak_posix_memalign(&p, q->align, size);
    if (rc != 0) fail("posix_memalign(%zu, %zu) returned %d", q->align, size, rc);
    align = q->align;
    break;
  }
  case A_MEMALIGN: p = hak_memalign(q->align, size); align = pow2_at_least(q->align); break;
  case A_VALLOC:   p = hak_valloc(size); align = ps; break;
  default:         p = hak_pvalloc(size); align = ps; size = size == 0 ? ps : (size + ps - 1) & ~(ps - 1); break;
  }
  if (p == NULL) fail("allocation kind %d of %zu bytes (alignment %zu) failed: errno %d", q->kind, size, q->align, errno);
  if ((uintptr_t)p % (align < 16 ? 16 : align) != 0)
    fail("allocation kind %d of %zu bytes: %p not aligned to %zu", q->kind, size, p, align);
  block_t b = { p, q->size, hak_malloc_usable_size(p), q->seed };
  if (b.ext < size) fail("usable size %zu of %p below the %zu bytes asked", b.ext, p, size);
  if (!hak_owns(p)) fail("hak_owns(%p) is 0 for a live block", p);
  if (b.ext > 16 && hak_owns((char *)p + 16)) fail("hak_owns(%p + 16) is 1 inside a live block of %zu", p, b.ext);
  if (q->kind == A_CALLOC) {
    size_t bad = pattern_op(b.p, b.ext, size, 0, 2);
    if (bad != SIZE_MAX) fail("calloc(%zu, ..) block %p byte %zu is 0x%02x, not zero", q->count, p, bad, b.p[bad]);
  }
  pattern_op(b.p, b.ext, b.ext, b.seed, 0);
  return b;
}

static void do_free(block_t *b, const char *what) {
  check_block(b, b->ext, what);
  int saved = errno = 1234;   /* free never changes errno */
  hak_free(b->p);
  if (errno != saved) fail("%s of %p changed errno to %d", what, (void *)b->p, errno);
}

/* ------------------------------------------------------------ helper thread */

enum { J_FREE, J_ALLOC, J_FREE_BATCH, J_ALLOC_BATCH, J_TRIM, J_EXIT };

/* A batch: many blocks of one size, allocated and freed together, to push
 * thread caches past their bounds, fill slabs and flood remote frees. */
typedef struct batch {
  block_t blk[BATCH_MAX];
  unsigned n;                /* entries; freed ones are NULL */
  unsigned long ticket;      /* of the helper's last job on it */
} batch_t;

typedef struct job { int kind; block_t b; request_t q; batch_t *batch; unsigned step, start; } job_t;

static block_t do_alloc(const request_t *q);
static void do_free(block_t *b, const char *what);

/* Allocates n blocks as q asks, each with its own seed. */
static void batch_alloc(batch_t *bt, const request_t *q, unsigned n) {
  request_t r = *q;
  for (unsigned k = 0; k < n; k++) {
    r.seed = q->seed + k * 0x2545f4914f6cdd1dull;
    bt->blk[k] = do_alloc(&r);
  }
  bt->n = n;
}

/* Frees every step-th entry from start or, when step is 0, every entry,
 * the last first; returns the requested bytes freed. */
static size_t batch_free(batch_t *bt, unsigned step, unsigned start, const char *what) {
  size_t bytes = 0;
  for (unsigned k = start; step != 0 && k < bt->n; k += step)
    if (bt->blk[k].p != NULL) { bytes += bt->blk[k].size; do_free(&bt->blk[k], what); bt->blk[k].p = NULL; }
  for (unsigned k = bt->n; step == 0 && k-- > 0;)
    if (bt->blk[k].p != NULL) { bytes += bt->blk[k].size; do_free(&bt->blk[k], what); bt->blk[k].p = NULL; }
  return bytes;
}

static struct {
  pthread_mutex_t lock;
  pthread_cond_t work, done;
  job_t ring[QUEUE];
  unsigned long posted, finished;   /* tickets: the helper finishes them in order */
  size_t queued_bytes;              /* requested bytes of blocks waiting to be freed */
  block_t result;                   /* of the last J_ALLOC */
  pthread_t thread;
  int running;
} hq = { .lock = PTHREAD_MUTEX_INITIALIZER, .work = PTHREAD_COND_INITIALIZER, .done = PTHREAD_COND_INITIALIZER };

static void *helper_main(void *arg) {
  (void)arg;
  pthread_mutex_lock(&hq.lock);
  for (;;) {
    while (hq.finished == hq.posted) pthread_cond_wait(&hq.work, &hq.lock);
    job_t j = hq.ring[hq.finished % QUEUE];
    pthread_mutex_unlock(&hq.lock);   /* the main thread goes on meanwhile */
    block_t res = { 0 };
    size_t freed = 0;
    if (j.kind == J_FREE) do_free(&j.b, "free on the helper thread");
    else if (j.kind == J_ALLOC) res = do_alloc(&j.q);
    else if (j.kind == J_FREE_BATCH) freed = batch_free(j.batch, j.step, j.start, "batch free on the helper thread");
    else if (j.kind == J_ALLOC_BATCH) batch_alloc(j.batch, &j.q, j.step);
    else if (j.kind == J_TRIM) hak_malloc_trim(0);
    pthread_mutex_lock(&hq.lock);
    if (j.kind == J_FREE) hq.queued_bytes -= j.b.size;
    if (j.kind == J_FREE_BATCH) hq.queued_bytes -= freed;
    if (j.kind == J_ALLOC) hq.result = res;
    hq.finished++;
    pthread_cond_broadcast(&hq.done);
    if (j.kind == J_EXIT) break;
  }
  pthread_mutex_unlock(&hq.lock);
  return NULL;   /* its heap is retired: slabs of blocks it handed out are orphaned */
}

static void helper_start(void) {
  if (hq.running) return;
  if (pthread_create(&hq.thread, NULL, helper_main, NULL) != 0) fail("pthread_create failed");
  hq.running = 1;
}

/* Posts a job; returns its ticket.  Waits while the ring is full. */
static unsigned long helper_post(const job_t *j) {
  helper_start();
  pthread_mutex_lock(&hq.lock);
  while (hq.posted - hq.finished == QUEUE) pthread_cond_wait(&hq.done, &hq.lock);
  hq.ring[hq.posted % QUEUE] = *j;
  if (j->kind == J_FREE) hq.queued_bytes += j->b.size;
  if (j->kind == J_FREE_BATCH) hq.queued_bytes += j->q.size;   /* what batch_free will return */
  unsigned long t = ++hq.posted;
  pthread_cond_signal(&hq.work);
  pthread_mutex_unlock(&hq.lock);
  return t;
}

static void helper_wait(unsigned long ticket) {
  pthread_mutex_lock(&hq.lock);
  while (hq.finished < ticket) pthread_cond_wait(&hq.done, &hq.lock);
  pthread_mutex_unlock(&hq.lock);
}

static void helper_drain(void) {
  if (!hq.running) return;
  pthread_mutex_lock(&hq.lock);
  unsigned long t = hq.posted;
  pthread_mutex_unlock(&hq.lock);
  helper_wait(t);
}

static size_t helper_queued(void) {
  pthread_mutex_lock(&hq.lock);
  size_t n = hq.queued_bytes;
  pthread_mutex_unlock(&hq.lock);
  return n;
}

/* A new helper thread: the old one exits (its heap retired) after its jobs. */
static void helper_restart(void) {
  if (!hq.running) return;
  job_t j = { .kind = J_EXIT };
  helper_wait(helper_post(&j));
  pthread_join(hq.thread, NULL);
  hq.running = 0;
  helper_start();
}

/* ------------------------------------------------------------ decoding */

typedef struct reader { const uint8_t *p; size_t n; } reader_t;

static unsigned rd8(reader_t *r) {
  if (r->n == 0) return 0;
  r->n--;
  return *r->p++;
}

static unsigned rd24(reader_t *r) {
  unsigned v = rd8(r);
  v |= rd8(r) << 8;
  return v | rd8(r) << 16;
}

static const size_t edge_sizes[] = {
  0, 1, 8, 15, 16, 17, 31, 32, 33, 48, 255, 256, 257, 1023, 1024, 1025, 1280, 1536, 2048, 4095, 4096,
  4097, 8192, 16384, 24576, 32767, 32768, 32769, 36864, 65536, 65537, 131072, 524288, 1048575, 1048576,
  1048577, 2097152 - 4096, 2097152 - 64, 2097152, 2097153, 4194304, 8388608 - 4096, 8388608,
};

typedef struct state {
  block_t slot[SLOTS];
  size_t live;         /* requested bytes in the slots */
  size_t big_used;     /* huge bytes allocated so far in this input */
  uint64_t seeds;
  int restarts;
} state_t;

/* A size in (lo, 2 lo], (2 lo, 4 lo], ... (lo << doublings - 1, lo << doublings]:
 * each doubling as likely as the others, as in most programs. */
static size_t log_uniform(unsigned v, size_t lo, unsigned doublings) {
  size_t base = lo << ((v >> 20) % doublings);
  return base + 1 + (size_t)(((uint64_t)(v & 0xfffff) * base) >> 20);
}

/* Tiers, biased to small: 0..1 KiB, 1..32 KiB, 32 KiB..1 MiB, 1..8 MiB,
 * and sizes at the edges of tiers and classes. */
static size_t rd_size(reader_t *r, state_t *s) {
  unsigned t = rd8(r), v = rd24(r);
  size_t n;
  if (t < 128) n = v % 1025;
  else if (t < 200) n = log_uniform(v, 1024, 5);
  else if (t < 236) n = log_uniform(v, TIER_SMALL, 5);
  else if (t < 248) n = log_uniform(v, TIER_LARGE, 3);
  else n = edge_sizes[v % (sizeof edge_sizes / sizeof edge_sizes[0])];
  if (n > TIER_LARGE && s->big_used + n > BIG_BUDGET) n %= TIER_LARGE;   /* keep the input fast */
  return n;
}

/* Powers of two 16..64 KiB, now and then up to 8 MiB. */
static size_t rd_align(reader_t *r) {
  unsigned b = rd8(r);
  return (size_t)1 << (b >= 240 ? 17 + (b - 240) % 7 : 4 + b % 13);
}

static uint64_t next_seed(state_t *s, unsigned slot) {
  s->seeds += 0x9e3779b97f4a7c15ull;
  return s->seeds ^ ((uint64_t)slot << 56) ^ 0x5bd1e995u;
}

static request_t rd_request(reader_t *r, state_t *s, unsigned slot, int kind) {
  request_t q = { .kind = kind, .seed = next_seed(s, slot), .align = 16, .count = 1, .elem = 1 };
  q.size = rd_size(r, s);
  if (kind == A_CALLOC) {
    static const size_t elems[] = { 1, 2, 3, 4, 8, 12, 16, 24, 100, 4096 };
    q.elem = elems[rd8(r) % 10];
    q.count = q.size / q.elem;
    q.size = q.count * q.elem;
  } else if (kind == A_ALIGNED || kind == A_POSIX) {
    q.align = rd_align(r);
  } else if (kind == A_MEMALIGN) {
    unsigned b = rd8(r);
    q.align = b < 128 ? rd_align(r) : 1 + (b * 2654435761u) % 70000;   /* rounded up to a power of two */
  }
  return q;
}

static void release(state_t *s, unsigned i, const char *what) {
  if (s->slot[i].p == NULL) return;
  do_free(&s->slot[i], what);
  s->live -= s->slot[i].size;
  s->slot[i] = (block_t){ 0 };
}

static void alloc_into(state_t *s, unsigned i, const request_t *q, int on_helper) {
  release(s, i, "free before reuse of the slot");
  size_t need = q->kind == A_PVALLOC ? q->size + 4096 : q->size;
  if (s->live + helper_queued() + need > LIVE_CAP) return;
  block_t b;
  if (on_helper) {
    job_t j = { .kind = J_ALLOC, .q = *q };
    helper_wait(helper_post(&j));
    b = hq.result;   /* written before the ticket was finished, under the lock */
  } else {
    b = do_alloc(q);
  }
  if (b.size > TIER_LARGE) s->big_used += b.size;
  s->slot[i] = b;
  s->live += b.size;
}

static void do_realloc(state_t *s, unsigned i, size_t n, int array) {
  block_t *b = &s->slot[i];
  if (n > b->size && s->live + helper_queued() + (n - b->size) > LIVE_CAP) return;
  if (b->p == NULL) {
    /* realloc(NULL, n) is malloc(n) */
    unsigned char *p = array ? hak_reallocarray(NULL, 1, n) : hak_realloc(NULL, n);
    if (p == NULL) fail("realloc(NULL, %zu) failed", n);
    block_t nb = { p, n, hak_malloc_usable_size(p), next_seed(s, i) };
    if ((uintptr_t)p % 16 != 0 || nb.ext < n) fail("realloc(NULL, %zu): %p, usable %zu", n, (void *)p, nb.ext);
    pattern_op(p, nb.ext, nb.ext, nb.seed, 0);
    *b = nb;
    s->live += n;
    if (n > TIER_LARGE) s->big_used += n;
    return;
  }
  check_block(b, b->ext, "before realloc");
  if (n == 0) {
    int saved = errno = 4321;
    void *p = array ? hak_reallocarray(b->p, 0, 1) : hak_realloc(b->p, 0);
    if (p != NULL) fail("realloc(%p, 0) returned %p, not NULL", (void *)b->p, p);
    if (errno != saved) fail("realloc(%p, 0) changed errno to %d", (void *)b->p, errno);
    s->live -= b->size;
    *b = (block_t){ 0 };
    return;
  }
  unsigned char *p = array ? hak_reallocarray(b->p, n / 4 ? n / 4 : n, n / 4 ? 4 : 1) : hak_realloc(b->p, n);
  if (array && n / 4) n = n / 4 * 4;
  if (p == NULL) fail("realloc(%p, %zu) failed: errno %d", (void *)b->p, n, errno);
  if ((uintptr_t)p % 16 != 0) fail("realloc to %zu: %p not 16-aligned", n, (void *)p);
  block_t kept = *b;
  kept.p = p;
  check_block(&kept, n < b->size ? n : b->size, "kept prefix after realloc");
  s->live = s->live - b->size + n;
  if (n > TIER_LARGE && n > b->size) s->big_used += n - (b->size > TIER_LARGE ? b->size : 0);
  b->p = p;
  b->size = n;
  b->ext = hak_malloc_usable_size(p);
  if (b->ext < n) fail("usable size %zu after realloc to %zu", b->ext, n);
  b->seed = next_seed(s, i);
  pattern_op(p, b->ext, b->ext, b->seed, 0);
}

/* Requests that must fail, and how; slot i's block (if any) must survive
 * a realloc that fails. */
static void error_paths(reader_t *r, state_t *s, unsigned i) {
  unsigned b = rd8(r) % 10, a = rd8(r);
  void *p = (void *)1;
  block_t *blk = &s->slot[i];
  errno = 0;
  switch (b) {
  case 0: p = hak_malloc(SIZE_MAX - a); break;
  case 1: p = hak_calloc(SIZE_MAX / 2, 3 + a % 5); break;
  case 2:
    p = hak_aligned_alloc(16 * (3 + 2 * (a % 8)), 64);   /* an odd multiple of 16 */
    if (p != NULL || errno != EINVAL) fail("aligned_alloc(non power of two): %p errno %d", p, errno);
    return;
  case 3: {   /* 4, or not a power of two */
    int rc = hak_posix_memalign(&p, 4 + 8 * (a % 4), 64);
    if (rc != EINVAL || p != (void *)1) fail("posix_memalign(bad alignment) returned %d", rc);
    return;
  }
  case 4: p = hak_realloc(NULL, (size_t)PTRDIFF_MAX + a); break;
  case 5: p = hak_memalign(16, SIZE_MAX - 4096 * (size_t)a); break;
  case 6: case 7:   /* a failed realloc leaves the block as it was */
    if (blk->p == NULL) return;
    p = b == 6 ? hak_realloc(blk->p, SIZE_MAX - 4096 * (size_t)a) : hak_reallocarray(blk->p, SIZE_MAX / 16, 17 + a);
    if (p != NULL || errno != ENOMEM) fail("realloc(%p, impossible) returned %p errno %d", (void *)blk->p, p, errno);
    check_block(blk, blk->ext, "after a failed realloc");
    return;
  case 8: {
    helper_drain();   /* the figures are consistent when no other thread is inside */
    struct mallinfo2 mi = hak_mallinfo2();
    if (mi.fordblks > mi.arena) fail("mallinfo2: fordblks %zu above arena %zu", mi.fordblks, mi.arena);
    struct mallinfo old = hak_mallinfo();
    if ((size_t)old.hblks != mi.hblks && mi.hblks < (size_t)INT_MAX) fail("mallinfo and mallinfo2 differ: hblks %d, %zu", old.hblks, mi.hblks);
    if (hak_mallopt(M_MXFAST, (int)a) != ((int)a >= 0 && (int)a <= 160) || hak_mallopt(-12345, 0) != 0) fail("mallopt");
    return;
  }
  default:
    hak_free(NULL);
    if (hak_malloc_usable_size(NULL) != 0 || hak_owns(NULL)) fail("usable size or ownership of NULL");
    return;
  }
  if (p != NULL || errno != ENOMEM) fail("impossible request %u: %p errno %d", b, p, errno);
}

static batch_t batches[BATCHES];   /* outside state_t: not cleared per input */

static void batch_wait(batch_t *bt) {
  if (bt->ticket != 0) helper_wait(bt->ticket);
}

/* Allocates a batch of up to BATCH_MAX small blocks, here or on the helper. */
static void batch_op_alloc(reader_t *r, state_t *s, unsigned i, unsigned on_helper) {
  batch_t *bt = &batches[i % BATCHES];
  batch_wait(bt);
  s->live -= batch_free(bt, 0, 0, "free of a batch before reuse");
  bt->n = 0;
  int kind = (int)(rd8(r) % A_KINDS);
  unsigned b = rd8(r), count = 1 + b * b / 8;   /* up to 8129, mostly fewer */
  request_t q = rd_request(r, s, i, kind);
  if (q.size > TIER_SMALL) {   /* small blocks: slab classes only */
    q.size %= TIER_SMALL + 1;
    if (kind == A_CALLOC) q.count = q.size / q.elem, q.size = q.count * q.elem;
  }
  if (q.align > 4096) q.align = 4096;
  size_t each = (kind == A_PVALLOC || kind == A_VALLOC ? q.size + 4096 : q.size) + 16;
  if ((size_t)count * each > BATCH_BYTES) count = (unsigned)(BATCH_BYTES / each);
  if (s->live + helper_queued() + count * q.size > LIVE_CAP || count == 0) return;
  if (on_helper) {
    job_t j = { .kind = J_ALLOC_BATCH, .q = q, .batch = bt, .step = count };
    helper_wait(bt->ticket = helper_post(&j));
  } else {
    batch_alloc(bt, &q, count);
  }
  s->live += count * q.size;
}

/* Frees part of a batch (every step-th entry) or all of it, here or on the helper. */
static void batch_op_free(reader_t *r, state_t *s, unsigned i, unsigned on_helper) {
  batch_t *bt = &batches[i % BATCHES];
  unsigned step = rd8(r) % 5, start = rd8(r) % 8;
  batch_wait(bt);
  if (!on_helper) { s->live -= batch_free(bt, step, start, "batch free"); return; }
  size_t bytes = 0;
  for (unsigned k = step ? start : 0; k < bt->n; k += step ? step : 1)
    if (bt->blk[k].p != NULL) bytes += bt->blk[k].size;
  job_t j = { .kind = J_FREE_BATCH, .batch = bt, .step = step, .start = start, .q.size = bytes };
  s->live -= bytes;
  bt->ticket = helper_post(&j);   /* the batch is the helper's until then */
}

/* ------------------------------------------------------------ one input */

typedef struct counts { size_t small_live[HAK_STATS_CLASSES], large_live, huge_now; } counts_t;

static void counts_get(counts_t *c) {
  static struct hak_stats st;
  hak_stats_get(&st);
  for (int i = 0; i < HAK_STATS_CLASSES; i++) c->small_live[i] = st.classes[i].allocs - st.classes[i].frees;
  c->large_live = st.large_allocs - st.large_frees;
  c->huge_now = st.huge_now;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static state_t s;
  counts_t before, after;
  reader_t r = { data, size };
  memset(&s, 0, sizeof s);
  counts_get(&before);
  for (cur_op = 0; cur_op < MAX_OPS && r.n > 0; cur_op++) {
    unsigned op = rd8(&r) % 20, i = rd8(&r) % SLOTS;
    request_t q;
    int k;
    switch (op) {
    case 0: case 1: case 2: case 18: case 19:
      q = rd_request(&r, &s, i, A_MALLOC); alloc_into(&s, i, &q, 0); break;
    case 3:
      q = rd_request(&r, &s, i, A_CALLOC); alloc_into(&s, i, &q, 0); break;
    case 4:
      k = A_ALIGNED + (int)(rd8(&r) % (A_KINDS - A_ALIGNED));
      q = rd_request(&r, &s, i, k); alloc_into(&s, i, &q, 0); break;
    case 5: case 6:
      release(&s, i, "free"); break;
    case 7: case 8:
      do_realloc(&s, i, rd_size(&r, &s), 0); break;
    case 9: {   /* relative: grow or shrink by a factor, or to 0 */
      unsigned f = rd8(&r);
      size_t n = s.slot[i].size;
      n = f < 16 ? 0 : f < 128 ? n * (f % 8 + 1) / 9 : n + n * (f % 8 + 1) / 4 + f % 64;
      if (n > TIER_LARGE && s.big_used + n > BIG_BUDGET) n %= TIER_LARGE;
      do_realloc(&s, i, n, f & 1);
      break;
    }
    case 10: case 11:   /* freed by the helper thread while this one goes on */
      if (s.slot[i].p != NULL) {
        job_t j = { .kind = J_FREE, .b = s.slot[i] };
        s.live -= s.slot[i].size;
        s.slot[i] = (block_t){ 0 };
        helper_post(&j);
      }
      break;
    case 12:   /* allocated by the helper thread, freed here later */
      k = (int)(rd8(&r) % A_KINDS);
      q = rd_request(&r, &s, i, k); alloc_into(&s, i, &q, 1); break;
    case 13: {
      /* trims are rarer: each purges every free page, and the next
       * allocations fault them in again */
      k = (int)(rd8(&r) % 8);
      if (k == 0) hak_malloc_trim(0);
      else if (k == 1) { job_t j = { .kind = J_TRIM }; helper_post(&j); }
      else if (k == 2 && s.restarts < MAX_RESTARTS) { s.restarts++; helper_restart(); }
      else helper_drain();
      break;
    }
    case 14:   /* look at a block without freeing it */
      if (s.slot[i].p != NULL) {
        block_t *b = &s.slot[i];
        check_block(b, b->ext, "check");
        if (hak_malloc_usable_size(b->p) != b->ext) fail("usable size of %p changed from %zu", (void *)b->p, b->ext);
        b->seed = next_seed(&s, i);
        pattern_op(b->p, b->ext, b->ext, b->seed, 0);
      }
      break;
    case 15:
      error_paths(&r, &s, i); break;
    case 16:   /* batch i % BATCHES, on the helper if bit 2 of i is set */
      batch_op_alloc(&r, &s, i, i & 4); break;
    default:
      batch_op_free(&r, &s, i, i & 4); break;
    }
  }
  cur_op = MAX_OPS;
  for (unsigned i = 0; i < SLOTS; i++) release(&s, i, "free at the end");
  for (unsigned i = 0; i < BATCHES; i++) {
    batch_wait(&batches[i]);
    s.live -= batch_free(&batches[i], 0, 0, "free of a batch at the end");
    batches[i].n = 0;
  }
  helper_drain();   /* no block outlives the input */
  if (s.live != 0) fail("harness: %zu bytes live at the end", s.live);
  counts_get(&after);
  for (int i = 0; i < HAK_STATS_CLASSES; i++)
    if (after.small_live[i] != before.small_live[i])
      fail("class %d: %zd blocks more in use after the input than before", i, (ssize_t)(after.small_live[i] - before.small_live[i]));
  if (after.large_live != before.large_live) fail("large blocks: %zd more in use after the input", (ssize_t)(after.large_live - before.large_live));
  if (after.huge_now != 0) fail("%zu huge blocks still counted after the input", after.huge_now);
  /* The structures are at rest (the helper waits for work), unless the
   * spill queues' drainer thread may be running. */
  static int drainer = -1;
  if (drainer < 0) drainer = getenv("HAKMEM_TINY_BG_SPILL") != NULL && strcmp(getenv("HAKMEM_TINY_BG_SPILL"), "0") != 0;
  if (!drainer && hak_verify() != 0) fail("hak_verify found inconsistencies (above)");
  return 0;
}

/* ------------------------------------------------------------ replay */

#ifdef FUZZ_REPLAY
#include <dirent.h>
#include <sys/stat.h>

static int replay_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) { perror(path); exit(2); }
  size_t cap = 4096, n = 0;
  uint8_t *buf = malloc(cap);
  size_t got;
  while (buf != NULL && (got = fread(buf + n, 1, cap - n, f)) > 0) {
    n += got;
    if (n == cap) buf = realloc(buf, cap *= 2);
  }
  if (buf == NULL) { fprintf(stderr, "out of memory reading %s\n", path); exit(2); }
  fclose(f);
  cur_file = path;
  LLVMFuzzerTestOneInput(buf, n);
  cur_file = NULL;
  free(buf);
  return 1;
}

int main(int argc, char **argv) {
  int count = 0;
  for (int a = 1; a < argc; a++) {
    struct stat st;
    if (stat(argv[a], &st) != 0) { perror(argv[a]); return 2; }
    if (!S_ISDIR(st.st_mode)) { count += replay_file(argv[a]); continue; }
    DIR *d = opendir(argv[a]);
    if (d == NULL) { perror(argv[a]); return 2; }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      if (e->d_name[0] == '.') continue;   /* ., .., and hidden files such as .gitkeep */
      char path[4096];
      snprintf(path, sizeof path, "%s/%s", argv[a], e->d_name);
      if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) count += replay_file(path);
    }
    closedir(d);
  }
  printf("replayed %d inputs\n", count);
  return 0;
}
#endif

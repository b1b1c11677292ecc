/* Unit tests of the internal modules: size classes, registry, SuperSlab
 * pool and slabs, huge tier, options table. */
#include "check.h"
#include "hakmem.h"
#include "internal.h"
#include "options.h"
#include "shrink.h"

#include <pthread.h>
#include <unistd.h>
#include <string.h>
#include <sys/mman.h>

static void test_size_classes(void) {
  /* classes ascend in multiples of 16; every multiple of 16 up to 256 is one */
  for (unsigned c = 0; c < NUM_CLASSES; c++) {
    CHECK(hak_class_size[c] % 16 == 0);
    if (c > 0) CHECK(hak_class_size[c] > hak_class_size[c - 1]);
    if (c < 16) CHECK(hak_class_size[c] == 16 * (c + 1));
  }
  CHECK(hak_class_size[NUM_CLASSES - 1] == SMALL_MAX);
  size_t worst_num = 0, worst_den = 1;
  for (size_t n = 0; n <= SMALL_MAX; n++) {
    unsigned c = size_class(n);
    CHECK_QUIET(c == size_class_compute(n));
    if (n <= TINY_MAX) CHECK_QUIET(hak_cache_off_small[n] == c * sizeof(tcache_t));
    CHECK_QUIET(hak_class_size[c] >= n);
    CHECK_QUIET(c == 0 || hak_class_size[c - 1] < n);   /* the smallest class that fits */
    if (n > 256 && (hak_class_size[c] - n) * worst_den > worst_num * n) { worst_num = hak_class_size[c] - n; worst_den = n; }
  }
  CHECK(worst_num * 8 <= worst_den);   /* rounding wastes at most 12.5% above 256 bytes */
}

static void test_registry(void) {
  int local;
  CHECK(registry_lookup(&local) == 0);
  CHECK(registry_lookup(NULL) == 0);
  CHECK(registry_lookup((void *)UINTPTR_MAX) == 0);
  CHECK(registry_lookup((void *)((uintptr_t)1 << 47)) == 0);
  void *p = hak_malloc(100);
  uintptr_t e = registry_lookup(p);
  CHECK(e != 0 && registry_huge(e) == NULL);
  CHECK(e == ((uintptr_t)p & ~(SS_SIZE - 1)));
  region_hdr_t *r = (region_hdr_t *)e;
  CHECK(r->magic == REGION_MAGIC && r->kind == REGION_SUPERSLAB);
  /* a huge block spanning several chunks: every chunk maps to its header */
  char *h = hak_malloc(7 << 20);
  uintptr_t he = registry_lookup(h);
  huge_hdr_t *hh = registry_huge(he);
  CHECK(hh != NULL && hh->hdr.kind == REGION_HUGE && hh->user == h);
  CHECK(registry_lookup(h + (6 << 20)) == he);
  CHECK(registry_lookup(h + (7 << 20) + 4096) == 0 || registry_lookup(h + (7 << 20) + 4096) == he);
  hak_free(h);
  CHECK(!hak_owns(h));           /* kept in the huge cache, with no block */
  hak_malloc_trim(0);
  CHECK(registry_lookup(h) == 0);
  hak_free(p);
  /* set and clear on memory the test maps itself: edges of the chunks */
  void *m = mmap(NULL, 4 * SS_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  char *base = (char *)align_up((uintptr_t)m, SS_SIZE);
  CHECK(registry_set(base, SS_SIZE + 1, (uintptr_t)base | REG_HUGE_TAG));
  CHECK(registry_lookup(base) == ((uintptr_t)base | REG_HUGE_TAG));
  CHECK(registry_lookup(base + SS_SIZE - 1) == ((uintptr_t)base | REG_HUGE_TAG));
  CHECK(registry_lookup(base + SS_SIZE) == ((uintptr_t)base | REG_HUGE_TAG));
  CHECK(registry_lookup(base + 2 * SS_SIZE) == 0);
  CHECK(registry_lookup(base - 1) == 0);
  registry_clear(base, SS_SIZE + 1);
  CHECK(registry_lookup(base) == 0 && registry_lookup(base + SS_SIZE) == 0);
  munmap(m, 4 * SS_SIZE);
}

static void test_pool(void) {
  /* Acquire more slabs than a SuperSlab holds, for various classes: the
   * slab layout matches the class, and releasing them all frees the
   * SuperSlabs. */
  size_t before = atomic_load(&hak_global.superslabs);
  enum { N = SLABS_PER_SS * 2 };
  slab_meta_t *ms[N];
  static heap_t fake;   /* a unique owner, of arena 0 */
  heap_t *owner = &fake;
  for (unsigned i = 0; i < N; i++) {
    unsigned cls = (i * 7) % NUM_CLASSES;
    ms[i] = pool_acquire_slab(cls, owner);
    CHECK(ms[i] != NULL);
    slab_meta_t *m = ms[i];
    superslab_t *ss = (superslab_t *)((uintptr_t)m & ~(SS_SIZE - 1));
    unsigned idx = (unsigned)(m - ss->slabs);
    uint8_t *start = (uint8_t *)ss + (size_t)idx * SLAB_SIZE;
    uint32_t bs = hak_class_size[cls];
    CHECK(idx >= SLAB_FIRST && m->cls == cls && atomic_load(&m->owner) == owner);
    CHECK(slab_capacity(m) == SLAB_SIZE / bs && m->used == 0 && m->carved == 0);
    CHECK(slab_of(ss, start) == m && slab_of(ss, start + SLAB_SIZE - 1) == m);
    /* exactly the blocks are valid: first, last, not between, not past */
    CHECK(slab_block_valid(m, start) && slab_block_valid(m, start + (size_t)(slab_capacity(m) - 1) * bs));
    CHECK(!slab_block_valid(m, start + 8) && (bs == 16 || !slab_block_valid(m, start + bs - 16)));
    if ((size_t)slab_capacity(m) * bs < SLAB_SIZE) CHECK(!slab_block_valid(m, start + (size_t)slab_capacity(m) * bs));
    CHECK(!slab_block_valid(&ss->slabs[0], (uint8_t *)ss + 4096));   /* the header slab */
  }
  CHECK(atomic_load(&hak_global.superslabs) >= before + 1);
  /* a slab freed by one class serves another */
  uint8_t *first = (uint8_t *)ms[0];
  pool_release_slab(ms[0]);
  CHECK(!slab_block_valid((slab_meta_t *)first, first));
  slab_meta_t *again = pool_acquire_slab(5, owner);
  CHECK(again == (slab_meta_t *)first && again->cls == 5);
  ms[0] = again;
  for (unsigned i = 0; i < N; i++) pool_release_slab(ms[i]);
  pool_trim();
  CHECK(atomic_load(&hak_global.superslabs) <= before);
}

static uint8_t *slab_start_of(slab_meta_t *m) {
  superslab_t *ss = (superslab_t *)((uintptr_t)m & ~(SS_SIZE - 1));
  return (uint8_t *)ss + (size_t)(m - ss->slabs) * SLAB_SIZE;
}

static long rss_kb(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  long pages = 0, resident = 0;
  if (f) { if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0; fclose(f); }
  return resident * 4;
}

static void test_purge(void) {
  /* free slabs keep their pages for the delay, then a pool operation gives
   * them back; malloc_trim gives back everything at once */
  long saved_delay = hak_options[OPT_PURGE_DELAY_MS];
  static heap_t fake;   /* a unique owner, of arena 0 */
  heap_t *owner = &fake;
  enum { N = 20 };
  slab_meta_t *ms[N];
  hak_options[OPT_PURGE_DELAY_MS] = 100;
  slab_meta_t *trigger = pool_acquire_slab(4, owner);   /* keeps the SuperSlab mapped */
  for (int i = 0; i < N; i++) ms[i] = pool_acquire_slab(3, owner);
  for (int i = 0; i < N; i++) memset(slab_start_of(ms[i]), 7, SLAB_SIZE);
  long touched = rss_kb();
  size_t purged = atomic_load(&hak_global.pages_purged);
  for (int i = 0; i < N; i++) pool_release_slab(ms[i]);
  CHECK(atomic_load(&hak_global.pages_purged) == purged);   /* not yet */
  CHECK(rss_kb() > touched - 64);
  usleep(150 * 1000);
  slab_meta_t *t2 = pool_acquire_slab(4, owner);            /* a pool operation after a quiet delay purges */
  CHECK(atomic_load(&hak_global.pages_purged) >= purged + (N - 1) * PAGES_PER_SLAB);
  pool_release_slab(t2);
  pool_release_slab(trigger);
  long after = rss_kb();
  if (after >= touched - N * 32) fprintf(stderr, "rss: touched %ld KB, after the purge %ld KB\n", touched, after);
  CHECK(after < touched - N * 32);
  for (int i = 0; i < N; i++)   /* purged pages read as zero (where still mapped and not reused) */
    if (registry_lookup(ms[i]) != 0 && ms[i] != t2) CHECK(slab_start_of(ms[i])[0] == 0 && slab_start_of(ms[i])[SLAB_SIZE - 1] == 0);
  /* malloc_trim purges at once, whatever the delay */
  hak_options[OPT_PURGE_DELAY_MS] = 60000;
  slab_meta_t *m = pool_acquire_slab(5, owner);
  memset(slab_start_of(m), 7, SLAB_SIZE);
  pool_release_slab(m);
  purged = atomic_load(&hak_global.pages_purged);
  pool_trim();
  CHECK(atomic_load(&hak_global.pages_purged) >= purged + 1 || registry_lookup(m) == 0);
  hak_options[OPT_PURGE_DELAY_MS] = saved_delay;
}

/* All slabs of a class, for the tests below. */
static size_t class_slabs(size_t size) {
  pool_usage_t u;
  pool_usage(&u);
  return u.class_slabs[size_class(size)];
}

static void *keep_blocks(void *arg) {
  void **blocks = arg;
  for (int i = 0; i < 10000; i++) blocks[i] = hak_malloc(200);
  return NULL;   /* exits with 10000 live blocks: its slabs become orphans */
}

static void *free_one(void *arg) {
  hak_free(arg);
  return NULL;
}

static void test_remote_and_exit(void) {
  /* a block freed on another thread goes back to its owner */
  void *p = hak_malloc(24);
  pthread_t t;
  pthread_create(&t, NULL, free_one, p);
  pthread_join(t, NULL);
  static heap_counters_t c;
  heap_counters_sum(&c);
  CHECK(c.remote[size_class(24)] >= 1);
  int reused = 0;
  void *mine[4096];
  for (int i = 0; i < 4096 && !reused; i++) { mine[i] = hak_malloc(24); reused = mine[i] == p; if (reused) mine[i + 1] = NULL; }
  CHECK(reused);
  for (int i = 0; i < 4096 && mine[i] != NULL; i++) hak_free(mine[i]);

  /* a thread allocates 10,000 blocks and exits; this one frees them; the
   * memory is reused and the slabs go back */
  hak_malloc_trim(0);
  size_t ss_before = atomic_load(&hak_global.superslabs);
  size_t slabs_before = class_slabs(200);
  static void *blocks[10000];
  pthread_create(&t, NULL, keep_blocks, blocks);
  pthread_join(t, NULL);
  CHECK(class_slabs(200) >= slabs_before + 10000 * 208 / SLAB_SIZE);
  heap_counters_sum(&c);
  CHECK(c.orphaned >= 1);
  for (int i = 0; i < 10000; i++) hak_free(blocks[i]);
  CHECK(class_slabs(200) <= slabs_before + 1);   /* orphan slabs freed as they empty */
  hak_malloc_trim(0);
  CHECK(atomic_load(&hak_global.superslabs) <= ss_before + 1);
  void *q = hak_malloc(200);
  CHECK(q != NULL);
  hak_free(q);
}

static unsigned page_in(const void *p) { return (unsigned)(((uintptr_t)p & (SS_SIZE - 1)) >> PAGE_SHIFT); }

static bool pages_free(const superslab_t *ss, unsigned start, unsigned n) {
  for (unsigned i = start; i < start + n; i++)
    if (!(ss->free_map[i / 64] >> (i % 64) & 1)) return false;
  return true;
}

static void test_large(void) {
  /* page-granular runs: the usable size is the request rounded to pages */
  for (size_t size = SMALL_MAX + 1; size <= LARGE_MAX; size += 4093) {
    char *p = hak_malloc(size);
    CHECK(p != NULL && ((uintptr_t)p & 4095) == 0);
    CHECK(hak_malloc_usable_size(p) == align_up(size, 4096));
    CHECK(registry_huge(registry_lookup(p)) == NULL);   /* in a SuperSlab */
    p[0] = 1;
    p[size - 1] = 2;
    hak_free(p);
  }
  hak_malloc_trim(0);
  /* freed pages coalesce with free neighbours: a run shrunk in place, then
   * freed, leaves one free run of its whole former length */
  char *a = pool_alloc_run(heap_for_thread(), 300);
  CHECK(a != NULL);
  superslab_t *ss = ss_of(a);
  CHECK(pool_resize_run(ss, page_in(a), 100));
  CHECK(pages_free(ss, page_in(a) + 100, 200) && !pages_free(ss, page_in(a), 1));
  pool_free_runs(&(void *){ a }, 1, "free");
  CHECK(pages_free(ss, page_in(a), 300) && ss->max_run >= 300);
  /* realloc shrinks a run in place, and grows it into the free pages after it */
  char *p = hak_malloc(120 << 10);
  for (int i = 0; i < (40 << 10); i++) p[i] = (char)(i * 7);
  char *q = hak_realloc(p, 40 << 10);
  CHECK(q == p && hak_malloc_usable_size(q) == (40 << 10));
  CHECK(pages_free(ss_of(p), page_in(p) + 10, 20));
  q = hak_realloc(p, 100 << 10);
  CHECK(q == p && hak_malloc_usable_size(q) == (100 << 10));
  int same = 1;
  for (int i = 0; i < (40 << 10); i++) same &= q[i] == (char)(i * 7);
  CHECK(same);
  q = hak_realloc(q, 36 << 10);
  CHECK(q == p && hak_malloc_usable_size(q) == (36 << 10));
  CHECK(pages_free(ss_of(p), page_in(p) + 9, 16));
  hak_free(q);
  /* a freed run is cached by the thread and served again for a size within 12.5% */
  void *r = hak_malloc(200 << 10);
  hak_free(r);
  CHECK(!hak_owns(r));
  void *r2 = hak_malloc((200 << 10) - 8000);
  CHECK(r2 == r);
  hak_free(r2);
  /* a longer cached run is split: the front is served, the rest stays
   * cached and serves the next request; each part is a run of its own */
  hak_malloc_trim(0);
  char *big = hak_malloc(400 << 10);
  hak_free(big);
  char *front = hak_malloc(100 << 10), *rest = hak_malloc(250 << 10);
  CHECK(front == big && rest == big + (100 << 10));
  CHECK(hak_malloc_usable_size(front) == (100 << 10) && hak_malloc_usable_size(rest) == align_up(250 << 10, 4096));
  memset(front, 1, 100 << 10);
  memset(rest, 2, 250 << 10);
  CHECK(front[(100 << 10) - 1] == 1 && rest[0] == 2);
  pool_usage_t u;
  pool_usage(&u);
  CHECK(u.large_runs >= 2);
  hak_free(front);
  hak_free(rest);
  hak_malloc_trim(0);   /* both back to the pool, as two runs */
  pool_usage(&u);
  CHECK(u.large_runs == 0 && u.large_bytes == 0);
}

static void test_large_purge(void) {
  /* a freed run keeps its pages for the delay, then goes back */
  long saved_delay = hak_options[OPT_PURGE_DELAY_MS];
  hak_options[OPT_PURGE_DELAY_MS] = 100;
  hak_malloc_trim(0);
  char *keep = pool_alloc_run(heap_for_thread(), 1);     /* keeps the SuperSlab mapped */
  char *p = pool_alloc_run(heap_for_thread(), 256);
  char *other = pool_alloc_run(heap_for_thread(), 1);
  CHECK(ss_of(p) == ss_of(keep) && ss_of(other) == ss_of(keep));
  memset(p, 9, 256 << 12);
  long touched = rss_kb();
  size_t purged = atomic_load(&hak_global.pages_purged);
  pool_free_runs(&(void *){ p }, 1, "free");
  CHECK(atomic_load(&hak_global.pages_purged) == purged);   /* not before the delay */
  CHECK(rss_kb() > touched - 64);
  /* still dirty while the SuperSlab keeps freeing */
  for (int i = 0; i < 3; i++) {
    usleep(60 * 1000);
    pool_free_runs(&(void *){ other }, 1, "free");
    other = pool_alloc_run(heap_for_thread(), 1);
  }
  CHECK(atomic_load(&hak_global.pages_purged) == purged);
  usleep(150 * 1000);
  char *t = pool_alloc_run(heap_for_thread(), 1);   /* a pool operation after a quiet delay purges */
  CHECK(atomic_load(&hak_global.pages_purged) >= purged + 250);
  CHECK(rss_kb() < touched - 800);
  CHECK(p[(256 << 12) - 1] == 0);
  pool_free_runs(&(void *){ t }, 1, "free");
  pool_free_runs(&(void *){ other }, 1, "free");
  pool_free_runs(&(void *){ keep }, 1, "free");
  hak_options[OPT_PURGE_DELAY_MS] = saved_delay;
}

static void test_exchange(void) {
  /* clean pages taken while quiet dirty ones wait: as many dirty ones go
   * back; not those of a SuperSlab that frees now, and taking pages purged
   * this way purges nothing more */
  long saved_delay = hak_options[OPT_PURGE_DELAY_MS];
  hak_options[OPT_PURGE_DELAY_MS] = 60000;   /* the clock purges nothing here */
  hak_malloc_trim(0);
  heap_t *h = heap_for_thread();
  enum { K = 7, LEN = 64 };   /* 448 dirty pages, over the floor of 256; 64 pages: the lowest of its pool bin */
  char *a[K], *k[K];
  for (int i = 0; i < K; i++) {
    a[i] = pool_alloc_run(h, LEN);
    k[i] = pool_alloc_run(h, 1);   /* keeps the stretches apart */
    CHECK(ss_of(a[i]) == ss_of(a[0]) && ss_of(k[i]) == ss_of(a[0]));
    memset(a[i], 9, LEN << 12);
  }
  size_t purged = atomic_load(&hak_global.pages_purged);
  uint64_t freed = os_now_ms();
  pool_free_runs((void *const *)a, K, "free");
  char *busy = pool_alloc_run(h, 120);   /* fits none of the dirty stretches: clean pages */
  CHECK(ss_of(busy)->arena == ss_of(a[0])->arena);   /* else the exchange runs in the other arena */
  if (os_now_ms() - freed < 20) CHECK(atomic_load(&hak_global.pages_purged) == purged);   /* freed just now: kept */
  usleep(40 * 1000);
  purged = atomic_load(&hak_global.pages_purged);
  char *big = pool_alloc_run(h, 100);   /* clean pages again, the dirty ones quiet: as many go back */
  CHECK(ss_of(big)->arena == ss_of(a[0])->arena);
  size_t got = atomic_load(&hak_global.pages_purged) - purged;
  CHECK(got >= 100 && got < 100 + 16);   /* (plus clean pages taken before, fewer than a batch) */
  CHECK(a[0][0] == 0 && a[0][(LEN << 12) - 1] == 0);   /* lowest first: all of the first stretch, */
  CHECK(a[1][0] == 0 && a[1][(LEN << 12) - 1] == 9);   /* the start of the second */
  purged = atomic_load(&hak_global.pages_purged);
  char *again = pool_alloc_run(h, LEN);   /* best fit: the purged stretch */
  CHECK(again == a[0]);
  CHECK(atomic_load(&hak_global.pages_purged) == purged);   /* pages purged by an exchange: none more */
  char *big2 = pool_alloc_run(h, 300);   /* more clean pages than the dirty ones above the floor */
  if (ss_of(big2)->arena == ss_of(a[0])->arena) {   /* (not borrowed from the other arena) */
    size_t more = atomic_load(&hak_global.pages_purged) - purged;
    CHECK(more > 0 && more <= K * LEN - got - 256);   /* the arena keeps 256 dirty pages */
  }
  CHECK(hak_verify() == 0);
  void *runs[] = { again, big, busy, big2 };
  pool_free_runs(runs, 4, "free");
  pool_free_runs((void *const *)k, K, "free");
  hak_options[OPT_PURGE_DELAY_MS] = saved_delay;
}

/* exit_thread: takes a page and a run of 256 pages of one SuperSlab,
 * touches the run, frees it (and the page unless the test frees it), then
 * waits for go before it exits */
typedef struct { char *run, *one; int keep_one; _Atomic int freed, go; } exiter_t;

static void *exit_thread(void *arg) {
  exiter_t *e = arg;
  e->one = pool_alloc_run(heap_for_thread(), 1);
  e->run = pool_alloc_run(heap_for_thread(), 256);
  memset(e->run, 9, 256 << 12);
  pool_free_runs(&(void *){ e->run }, 1, "free");
  if (!e->keep_one) pool_free_runs(&(void *){ e->one }, 1, "free");
  atomic_store(&e->freed, 1);
  while (!atomic_load(&e->go)) usleep(1000);
  return NULL;
}

static void test_exit_purge(void) {
  /* an exiting thread's SuperSlabs give back the dirty pages above the
   * arena's floor (128 pages) at once, lowest first; not a SuperSlab that
   * a live thread freed pages into since.  (After the trim no wholly free
   * SuperSlab is beyond those kept: the exiter's is purged, not unmapped.) */
  long saved_delay = hak_options[OPT_PURGE_DELAY_MS], saved_exit = hak_options[OPT_EXIT_PURGE];
  hak_options[OPT_PURGE_DELAY_MS] = 60000;   /* the clock purges nothing here */
  hak_options[OPT_EXIT_PURGE] = 1;
  for (int live_frees_after = 0; live_frees_after < 2; live_frees_after++) {
    hak_malloc_trim(0);
    exiter_t e = { .keep_one = live_frees_after };
    pthread_t t;
    pthread_create(&t, NULL, exit_thread, &e);
    while (!atomic_load(&e.freed)) usleep(1000);
    CHECK(ss_of(e.one) == ss_of(e.run));
    if (live_frees_after) pool_free_runs(&(void *){ e.one }, 1, "free");   /* this thread frees into it last */
    size_t purged = atomic_load(&hak_global.pages_purged);
    atomic_store(&e.go, 1);
    pthread_join(t, NULL);
    size_t got = atomic_load(&hak_global.pages_purged) - purged;
    if (live_frees_after) {
      CHECK(got == 0);
      CHECK(e.run[0] == 9);
    } else {
      CHECK(got >= 257 - 128 && got <= 257);
      CHECK(e.run[0] == 0);                    /* lowest first */
      CHECK(e.run[(256 << 12) - 1] == 9);      /* the floor stays */
    }
    CHECK(hak_verify() == 0);
  }
  hak_options[OPT_PURGE_DELAY_MS] = saved_delay;
  hak_options[OPT_EXIT_PURGE] = saved_exit;
}

static void test_huge(void) {
  /* a freed mapping is cached, served again, and unmapped after the delay */
  long saved_delay = hak_options[OPT_PURGE_DELAY_MS];
  hak_options[OPT_PURGE_DELAY_MS] = 100;
  hak_malloc_trim(0);
  size_t reused = atomic_load(&hak_global.huge_reused);
  char *p = hak_malloc(5 << 20);
  memset(p, 3, 5 << 20);
  hak_free(p);
  char *q = hak_calloc(1, (4 << 20) + 100);   /* fits the cached one: reused, and zeroed */
  CHECK(q == p && atomic_load(&hak_global.huge_reused) == reused + 1);
  CHECK(hak_malloc_usable_size(q) >= (4 << 20) + 100 && hak_malloc_usable_size(q) < (5 << 20) - 4096);
  int zero = 1;
  for (size_t i = 0; i < (4 << 20) + 100; i += 512) zero &= q[i] == 0;
  CHECK(zero);
  /* mremap growth keeps the contents */
  for (size_t i = 0; i < (4 << 20); i += 4096) q[i] = (char)(i >> 12);
  char *g = hak_realloc(q, 40 << 20);
  CHECK(g != NULL);
  int same = 1;
  for (size_t i = 0; i < (4 << 20); i += 4096) same &= g[i] == (char)(i >> 12);
  CHECK(same);
  /* a much longer cached mapping serves a small request: its tail goes */
  char *big = hak_malloc(20 << 20);
  memset(big, 5, 4 << 20);
  hak_free(big);
  char *small = hak_malloc(3 << 20);
  CHECK(small == big && atomic_load(&hak_global.huge_reused) == reused + 2);
  CHECK(hak_malloc_usable_size(small) < (4 << 20));
  CHECK(registry_lookup(big + (8 << 20)) == 0);   /* the tail is unmapped */
  hak_free(small);
  hak_free(g);
  CHECK(registry_lookup(g) != 0);          /* cached */
  huge_cache_expire(os_now_ms() - 50, false);   /* a time read before it was cached (a pool operation's) */
  CHECK(registry_lookup(g) != 0);          /* is not 50 ms after it */
  usleep(150 * 1000);
  void *t = hak_malloc(3 << 20);           /* a huge operation expires the cache */
  CHECK(registry_lookup(g) == 0 || (char *)t == g);
  hak_free(t);
  hak_malloc_trim(0);
  CHECK(registry_lookup(t) == 0);
  hak_options[OPT_PURGE_DELAY_MS] = saved_delay;
}

static void test_drain_on_shrink(void) {
  /* A thread that frees most of the memory empties its caches, so that one
   * malloc after an idle delay, of a class it had cached, reads the purge
   * clock and gives the pages back; nothing is purged before the delay (no
   * pages are taken meanwhile, so no exchange either). */
  long saved_delay = hak_options[OPT_PURGE_DELAY_MS];
  hak_options[OPT_PURGE_DELAY_MS] = 100;
  hak_malloc_trim(0);
  enum { N = 48 << 10 };   /* 48 MiB of 1 KiB blocks: over the 32 MiB floor */
  static void *b[N];
  for (int i = 0; i < N; i++) {
    b[i] = hak_malloc(1024);
    memset(b[i], 1, 1024);
  }
  void *small = hak_malloc(64);
  hak_free(small);   /* the 64-byte class now has a block cached */
  long touched = rss_kb();
  size_t purged = atomic_load(&hak_global.pages_purged), mapped = atomic_load(&hak_global.mapped);
  for (int i = 0; i < N; i++) hak_free(b[i]);
  CHECK(pool_shrink_epoch() != 0);
  heap_t *h = hak_tls_heap;
  unsigned c64 = size_class(64);
  CHECK(h->cache[c64].head == NULL && h->cache[c64].cap == 0);   /* drained, not only the class that overflowed */
  CHECK(atomic_load(&hak_global.pages_purged) == purged && atomic_load(&hak_global.mapped) == mapped);   /* not at once */
  CHECK(rss_kb() > touched - 4096);
  CHECK(hak_verify() == 0);
  usleep(150 * 1000);
  void *p = hak_malloc(64);
  /* purged, or unmapped with their wholly free SuperSlab */
  size_t gone = (atomic_load(&hak_global.pages_purged) - purged) * 4096 + (mapped - atomic_load(&hak_global.mapped));
  CHECK(gone >= (40u << 20));
  long after = rss_kb();
  if (after >= touched - (32 << 10)) fprintf(stderr, "rss: touched %ld KB, after the idle malloc %ld KB\n", touched, after);
  CHECK(after < touched - (32 << 10));
  CHECK(h->cache[c64].cap != 0);   /* the class caches again once it allocates */
  hak_free(p);
  hak_options[OPT_PURGE_DELAY_MS] = saved_delay;
}

static size_t count_parked(char **b, int n) {
  size_t k = 0;
  for (int i = 0; i < n; i++)
    if (i % 16 != 0) k += tiny_block_parked(slab_of(ss_of(b[i]), b[i]), b[i]);
  return k;
}

static void test_park(void) {
  /* When the process begins to shrink, a thread's mid slabs left a
   * sixteenth used give back, as its caches drain, the pages that only
   * free blocks cover (parked: off the free list); the blocks come back
   * when the class allocates again.  Not while the process does not
   * shrink. */
  hak_malloc_trim(0);
  enum { MID = 64 };
  static char *mid[MID];
  for (int i = 0; i < MID; i++) {
    mid[i] = hak_malloc(4096);
    memset(mid[i], 7, 4096);
  }
  CHECK(pool_shrink_epoch() == 0);
  for (int i = 0; i < MID; i++)
    if (i % 16 != 0) hak_free(mid[i]);
  CHECK(count_parked(mid, MID) == 0);
  for (int i = 0; i < MID; i++)
    if (i % 16 != 0) mid[i] = hak_malloc(4096);
  shrink_prepare();
  for (int i = 0; i < MID; i++)
    if (i % 16 != 0) hak_free(mid[i]);
  CHECK(count_parked(mid, MID) == 0);
  shrink_free_big();
  CHECK(pool_shrink_epoch() != 0);
  size_t purged = atomic_load(&hak_global.pages_purged);
  shrink_drain();   /* past the 64-byte cache's bound: the caches drain */
  CHECK(hak_tls_heap->drained_epoch == pool_shrink_epoch());
  size_t parked = count_parked(mid, MID);
  CHECK(parked >= MID / 2);
  CHECK(atomic_load(&hak_global.pages_purged) - purged >= parked);   /* a 4 KiB block covers one page */
  int resident = 0;
  for (int i = 0; i < MID; i++) {
    unsigned char v = 0;
    if (i % 16 != 0 && tiny_block_parked(slab_of(ss_of(mid[i]), mid[i]), mid[i])) {
      CHECK(mincore(mid[i], 4096, &v) == 0);
      resident += v & 1;
    }
  }
  CHECK(resident == 0);
  for (int i = 0; i < MID; i += 16) CHECK(mid[i][0] == 7 && mid[i][4095] == 7);   /* the live blocks kept theirs */
  CHECK(hak_verify() == 0);
  /* the checker counts parked blocks: a live block marked parked is caught */
  int flagged = 0;
  for (int i = 0; i < MID && !flagged; i += 16) {
    superslab_t *ss = ss_of(mid[i]);
    slab_meta_t *m = slab_of(ss, mid[i]);
    if (!tiny_block_parked(m, mid[i]) && ss->parked[m - ss->slabs] != 0) {
      uint64_t bit = 1ull << (((uintptr_t)mid[i] & (SLAB_SIZE - 1)) / 4096);
      fprintf(stderr, "(expected verify lines follow)\n");
      ss->parked[m - ss->slabs] ^= bit;
      CHECK(hak_verify() > 0);
      ss->parked[m - ss->slabs] ^= bit;
      flagged = 1;
    }
  }
  CHECK(flagged && hak_verify() == 0);
  /* back: distinct blocks (the survivors' slabs are reused first), writable */
  static char *again[MID];
  int reused = 0;
  for (int i = 0; i < MID - MID / 16; i++) {
    again[i] = hak_malloc(4096);
    memset(again[i], 9, 4096);
    for (int j = 0; j < MID; j += 16) CHECK(again[i] != mid[j]);
    for (int j = 0; j < i; j++) CHECK(again[j] != again[i]);
    for (int j = 1; j < MID; j++) reused += j % 16 != 0 && again[i] == mid[j];
  }
  CHECK(reused >= (int)parked);
  CHECK(count_parked(mid, MID) == 0);
  CHECK(hak_verify() == 0);
  for (int i = 0; i < MID - MID / 16; i++) hak_free(again[i]);
  for (int i = 0; i < MID; i += 16) hak_free(mid[i]);
  CHECK(hak_verify() == 0);
  hak_malloc_trim(0);
}

static void test_slab_tail(void) {
  /* Slabs taken from dirty pages while the arena holds many give back at
   * once the pages past their class's last block (a 22 KiB class: 2
   * blocks, 11 pages of 16).  The big runs leave 105 MiB dirty in
   * SuperSlabs that each keep one live run, so that neither the exchange
   * (which would unmap a wholly free SuperSlab, all its dirty pages at
   * once) nor the clock (a long delay here) brings the dirty pages under
   * the 32 MiB floor while the slabs are taken; the pool hands out the
   * clean free slabs of fuller SuperSlabs first, 800 blocks reach the
   * dirty ones. */
  long saved_delay = hak_options[OPT_PURGE_DELAY_MS];
  hak_options[OPT_PURGE_DELAY_MS] = 60000;
  hak_malloc_trim(0);
  enum { BIG = 512, MID = 800 };
  static void *big[BIG];
  static char *mid[MID];
  for (int i = 0; i < BIG; i++) {
    big[i] = hak_malloc(240 << 10);
    memset(big[i], 1, 240 << 10);
  }
  for (int i = 0; i < BIG; i++)
    if (i % 8 != 0) hak_free(big[i]);
  int tail_resident = 0, in_dirty = 0;
  for (int i = 0; i < MID; i++) {
    mid[i] = hak_malloc(22000);
    CHECK(hak_malloc_usable_size(mid[i]) == 22528);
    uint8_t *start = (uint8_t *)((uintptr_t)mid[i] & ~(SLAB_SIZE - 1));
    unsigned char v[PAGES_PER_SLAB];
    CHECK(mincore(start, SLAB_SIZE, v) == 0);
    for (int k = 11; k < 16; k++) tail_resident += v[k] & 1;
    for (int j = 0; j < BIG; j += 8) in_dirty += ss_of(big[j]) == ss_of(mid[i]) && (uintptr_t)mid[i] == (uintptr_t)start;
  }
  CHECK(tail_resident == 0);
  CHECK(in_dirty > 0);   /* some slabs lie where the big runs were written */
  for (int i = 0; i < MID; i++) hak_free(mid[i]);
  for (int i = 0; i < BIG; i += 8) hak_free(big[i]);
  hak_options[OPT_PURGE_DELAY_MS] = saved_delay;
  hak_malloc_trim(0);
}

static void *churn_thread(void *arg) {
  void **out = arg;
  for (int i = 0; i < 64; i++) out[i] = hak_malloc(i % 4 == 0 ? 40000 + i * 1000 : 16 + i * 40);
  void *tmp = hak_malloc(100 << 10);   /* freed here: into this thread's run cache */
  hak_free(tmp);
  return NULL;
}

static void test_thread_churn(void) {
  /* 1000 threads allocate and exit, two at a time; this thread frees their
   * blocks; the mapped memory falls back */
  hak_malloc_trim(0);
  size_t mapped_before = atomic_load(&hak_global.mapped);
  static void *blocks[2][64];
  size_t high = 0, early = 0;   /* highest mapped over all rounds; over the first 100 threads */
  for (int i = 0; i < 1000; i += 2) {
    pthread_t t[2];
    for (int k = 0; k < 2; k++) pthread_create(&t[k], NULL, churn_thread, blocks[k]);
    for (int k = 0; k < 2; k++) pthread_join(t[k], NULL);
    for (int k = 0; k < 2; k++)
      for (int j = 0; j < 64; j++) hak_free(blocks[k][j]);
    size_t now = atomic_load(&hak_global.mapped);
    if (now > high) high = now;
    if (i == 98) early = high;
  }
  /* flat: not growing with the thread count (up to 8 free SuperSlabs are
   * kept mapped, and each thread caches up to 2 MiB of runs) */
  if (high > early + (4u << 20) || high > mapped_before + (40u << 20))
    fprintf(stderr, "mapped: before %zu, first 100 threads %zu, all %zu\n", mapped_before, early, high);
  CHECK(high <= early + (4u << 20));
  CHECK(high <= mapped_before + (40u << 20));
  hak_malloc_trim(0);
  CHECK(atomic_load(&hak_global.mapped) <= mapped_before + (2u << 20) + (64u << 10));
  pool_usage_t u;
  pool_usage(&u);
  CHECK(u.large_runs == 0);
}

static void test_options(void) {
  for (unsigned i = 0; i < OPT_COUNT; i++) {
    const hak_option_desc_t *d = &hak_option_table[i];
    CHECK(d->name != NULL && strncmp(d->name, "HAKMEM_", 7) == 0);
    CHECK(d->min <= d->def && d->def <= d->max);
    CHECK(d->doc != NULL && d->doc[0] != '\0');
  }
}

/* The invariant checker finds what it is meant to find: each corruption
 * below is made, found, and undone. */
static void test_verify_catches(void) {
  CHECK(hak_verify() == 0);
  void *blocks[8];
  for (int i = 0; i < 8; i++) blocks[i] = hak_malloc(80);
  slab_meta_t *m = slab_of(ss_of(blocks[0]), blocks[0]);
  m->used++;   /* a count that does not add up */
  fprintf(stderr, "(expected verify lines follow)\n");
  CHECK(hak_verify() > 0);
  m->used--;
  CHECK(hak_verify() == 0);
  hak_free(blocks[1]);
  hak_free(blocks[2]);
  void *saved = *(void **)blocks[2];   /* the cache head, linked to blocks[1] */
  link_put(blocks[2], blocks[2]);      /* a cycle */
  CHECK(hak_verify() > 0);
  *(void **)blocks[2] = saved;
  CHECK(hak_verify() == 0);
  superslab_t *ss = ss_of(blocks[0]);
  ss->free_pages++;
  CHECK(hak_verify() > 0);
  ss->free_pages--;
  CHECK(hak_verify() == 0);
  hak_free(blocks[0]);
  for (int i = 3; i < 8; i++) hak_free(blocks[i]);
  CHECK(hak_verify() == 0);
  void *run = hak_malloc(100 << 10);
  hak_free(run);   /* into this thread's run cache */
  uint16_t *entry = &ss_of(run)->run[page_of(ss_of(run), run)];
  CHECK((*entry & RUN_LIVE) && ((uintptr_t *)run)[1] == MARK_RUN);
  (*entry)++;      /* a run one page longer than the cache says */
  CHECK(hak_verify() > 0);
  (*entry)--;
  CHECK(hak_verify() == 0);
  ((uintptr_t *)run)[1] = 0;   /* a write after free over the cached run's mark */
  CHECK(hak_verify() > 0);
  ((uintptr_t *)run)[1] = MARK_RUN;
  CHECK(hak_verify() == 0);
}

int main(void) {
  test_size_classes();
  CHECK(hak_verify() == 0);
  test_registry();
  CHECK(hak_verify() == 0);
  test_pool();
  CHECK(hak_verify() == 0);
  test_purge();
  CHECK(hak_verify() == 0);
  test_remote_and_exit();
  CHECK(hak_verify() == 0);
  test_large();
  CHECK(hak_verify() == 0);
  test_large_purge();
  CHECK(hak_verify() == 0);
  test_exchange();
  CHECK(hak_verify() == 0);
  test_exit_purge();
  CHECK(hak_verify() == 0);
  test_huge();
  CHECK(hak_verify() == 0);
  test_drain_on_shrink();
  CHECK(hak_verify() == 0);
  test_park();
  CHECK(hak_verify() == 0);
  test_slab_tail();
  CHECK(hak_verify() == 0);
  test_thread_churn();
  CHECK(hak_verify() == 0);
  test_options();
  test_verify_catches();
  CHECK_DONE();
}

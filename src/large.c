/* The large tier: blocks above SMALL_MAX up to LARGE_MAX are runs of whole
 * pages from the page pool (superslab.c), so they coalesce with free
 * neighbours, share SuperSlabs with slabs, and grow or shrink in place.
 * The block is the run: no header, its length is kept in its SuperSlab's
 * run table, and it is 4 KiB aligned.
 *
 * Each thread keeps the last few runs it freed (RUN_CACHE_SLOTS, up to
 * RUN_CACHE_PAGES in all) and serves a request from the smallest that is
 * long enough, whole if it is at most 12.5% too long, else split (the rest
 * stays cached), so that threads freeing and allocating runs of any sizes
 * seldom take the pool lock.  Runs are not owned by threads: any thread frees
 * any run, into its own cache or straight to the pool. */
#include "internal.h"

#include <errno.h>

static unsigned pages_for(size_t size) { return (unsigned)((size + PAGE_SIZE_ - 1) >> PAGE_SHIFT); }

/* How long ago cached run i was freed, in frees (seq wraps: compare ages,
 * not seqs). */
static uint32_t run_age(const heap_t *h, unsigned i) { return h->run_seq - h->runs[i].seq; }

/* Takes cached run i out of the cache: it is live, no longer cached.  The
 * last entry fills its slot (keeping the entries in order by age moved
 * half the array on every take); the age is in seq instead. */
static void *cache_take(heap_t *h, unsigned i) {
  void *p = h->runs[i].p;
  /* a write after free over the mark, which could also hide a second free
   * of the run and cache it twice */
  if (UNLIKELY(((uintptr_t *)p)[1] != MARK_RUN)) hak_fatal_mark(p);
  h->run_pages -= h->runs[i].pages;
  /* in this order for a fork child's flush (see CACHE_ORDER): the count
   * first, so that the last entry is never named twice (it would be given
   * back twice); a fork in between leaves it uncounted, a run lost to the
   * child, not freed twice */
  unsigned last = --h->run_count;
  CACHE_ORDER();
  h->runs[i] = h->runs[last];
  CACHE_ORDER();
  ((uintptr_t *)p)[1] = 0;
  return p;
}

/* Gives the oldest cached runs back to the pool, in one lock hold, until
 * the cache holds at most slots runs and pages pages. */
static void cache_evict(heap_t *h, unsigned slots, unsigned pages) {
  void *out[RUN_CACHE_SLOTS];
  unsigned k = 0;
  while (h->run_count > 0 && (h->run_count > slots || h->run_pages > pages)) {
    unsigned oldest = 0;
    for (unsigned i = 1; i < h->run_count; i++)
      if (run_age(h, i) > run_age(h, oldest)) oldest = i;
    out[k++] = cache_take(h, oldest);
  }
  if (k > 0) pool_free_runs(out, k, "free");
}

void *large_alloc(size_t size) {
  int saved = errno;   /* a heap that could not be made must not leave ENOMEM after a success */
  heap_t *h = hak_tls_heap;
  if (UNLIKELY(h->state != HEAP_LIVE)) h = heap_for_thread();
  unsigned n = pages_for(size);
  /* the smallest cached run that is long enough, the newest among equals */
  unsigned best = RUN_CACHE_SLOTS;
  for (unsigned i = 0; i < h->run_count; i++)
    if (h->runs[i].pages >= n &&
        (best == RUN_CACHE_SLOTS || h->runs[i].pages < h->runs[best].pages ||
         (h->runs[i].pages == h->runs[best].pages && run_age(h, i) < run_age(h, best)))) best = i;
  if (best != RUN_CACHE_SLOTS) {
    void *p = h->runs[best].p;
    unsigned have = h->runs[best].pages;
    if (have - n <= n / 8) {   /* close enough: the whole run */
      cache_take(h, best);
    } else {
      superslab_t *ss = ss_of(p);
      unsigned page = page_of(ss, p);
      /* Split without the pool lock: the run table entries of a cached
       * run are written only by the thread that caches it, and no other
       * thread holds a pointer into it.  The rest stays cached. */
      void *rest = (uint8_t *)p + ((size_t)n << PAGE_SHIFT);
      ss->run[page + n] = (uint16_t)((have - n) | RUN_LIVE);
      ss->run[page] = (uint16_t)(n | RUN_LIVE);
      ((uintptr_t *)rest)[1] = MARK_RUN;
      CACHE_ORDER();
      h->runs[best].p = rest;
      h->runs[best].pages = have - n;
      CACHE_ORDER();
      ((uintptr_t *)p)[1] = 0;
      h->run_pages -= n;
      h->counters.run_splits++;
    }
    h->counters.large_allocs++;
    return p;
  }
  void *p = pool_alloc_run(h, n);
  errno = p ? saved : ENOMEM;
  if (p != NULL) HEAP_COUNT(h, large_allocs, 1);
  return p;
}

/* p lies in SuperSlab ss (live while p is a live block of it). */
void large_free(void *p, heap_t *h, superslab_t *ss, const char *func) {
  uintptr_t off = (uintptr_t)p - (uintptr_t)ss;
  unsigned page = page_of(ss, p);
  if (UNLIKELY((off & (PAGE_SIZE_ - 1)) != 0 || !(ss->run[page] & RUN_LIVE)))
    hak_fatal_pointer(func, "invalid pointer (interior, or already freed)", p);
  uint16_t e = ss->run[page];
  if (UNLIKELY(((uintptr_t *)p)[1] == MARK_RUN)) hak_fatal_pointer(func, "double free of", p);
  unsigned n = e & RUN_PAGES;
  HEAP_COUNT(h, large_frees, 1);
  if (h->state != HEAP_LIVE || n > RUN_CACHE_PAGES / 2) {
    pool_free_runs(&p, 1, func);
    return;
  }
  /* full: the older half goes back at once (one lock hold, not one per run) */
  if (h->run_count == RUN_CACHE_SLOTS || h->run_pages + n > RUN_CACHE_PAGES)
    cache_evict(h, RUN_CACHE_SLOTS / 2, (RUN_CACHE_PAGES - n) / 2);
  ((uintptr_t *)p)[1] = MARK_RUN;
  CACHE_ORDER();
  h->runs[h->run_count].p = p;
  h->runs[h->run_count].pages = n;
  h->runs[h->run_count].seq = h->run_seq++;
  CACHE_ORDER();   /* the entry before the count that makes it seen */
  h->run_count++;
  h->run_pages += n;
}

size_t large_usable_size(const superslab_t *ss, const void *p) {
  uintptr_t off = (uintptr_t)p - (uintptr_t)ss;
  if ((off & (PAGE_SIZE_ - 1)) != 0) return 0;
  uint16_t e = ss->run[off >> PAGE_SHIFT];
  if (!(e & RUN_LIVE) || ((const uintptr_t *)p)[1] == MARK_RUN) return 0;
  return (size_t)(e & RUN_PAGES) << PAGE_SHIFT;
}

bool large_resize(void *p, size_t size) {
  superslab_t *ss = ss_of(p);
  return pool_resize_run(ss, page_of(ss, p), pages_for(size));
}

void large_heap_flush(heap_t *h) { cache_evict(h, 0, 0); }

/* Heap h's run cache (verify.c): each entry a live, cached run of the
 * length recorded, the totals right. */
void large_verify_cache(heap_t *h) {
  unsigned pages = 0;
  if (h->run_count > RUN_CACHE_SLOTS) { verify_fail("run cache: count", h); return; }
  for (unsigned i = 0; i < h->run_count; i++) {
    void *p = h->runs[i].p;
    superslab_t *ss = ss_of(p);
    if (registry_lookup(p) != (uintptr_t)ss || ((uintptr_t)p & (PAGE_SIZE_ - 1)) != 0 ||
        ss->run[page_of(ss, p)] != (uint16_t)(h->runs[i].pages | RUN_LIVE) || ((uintptr_t *)p)[1] != MARK_RUN)
      verify_fail("run cache: not a cached run of its length", p);
    pages += h->runs[i].pages;
  }
  if (pages != h->run_pages) verify_fail("run cache: page total", h);
}

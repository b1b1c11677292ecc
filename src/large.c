/* The large tier: blocks above SMALL_MAX up to LARGE_MAX are runs of whole
 * pages from the page pool (superslab.c), so they coalesce with free
 * neighbours, share SuperSlabs with slabs, and grow or shrink in place.
 * The block is the run: no header, its length is kept in its SuperSlab's
 * run table, and it is 4 KiB aligned.
 *
 * Each thread keeps the last few runs it freed (RUN_CACHE_SLOTS, up to
 * RUN_CACHE_PAGES in all) and serves a request from one that is at most
 * 12.5% too long, so that a loop freeing and allocating similar sizes does
 * not take the pool lock.  Runs are not owned by threads: any thread frees
 * any run, into its own cache or straight to the pool. */
#include "internal.h"

#include <errno.h>

static unsigned pages_for(size_t size) { return (unsigned)((size + PAGE_SIZE_ - 1) >> PAGE_SHIFT); }
static unsigned page_of(const superslab_t *ss, const void *p) { return (unsigned)(((uintptr_t)p - (uintptr_t)ss) >> PAGE_SHIFT); }

static void cache_remove(heap_t *h, unsigned i) {
  h->run_pages -= h->runs[i].pages;
  h->run_count--;
  for (; i < h->run_count; i++) h->runs[i] = h->runs[i + 1];
}

/* Gives the cached run i back to the pool. */
static void cache_evict(heap_t *h, unsigned i) {
  void *p = h->runs[i].p;
  superslab_t *ss = ss_of(p);
  unsigned page = page_of(ss, p);
  cache_remove(h, i);
  ss->run[page] &= (uint16_t)~RUN_CACHED;
  pool_free_run(ss, page, "free");
}

void *large_alloc(size_t size) {
  heap_t *h = hak_tls_heap;
  if (UNLIKELY(h->state != HEAP_LIVE)) h = heap_for_thread();
  unsigned n = pages_for(size);
  for (unsigned i = h->run_count; i-- > 0;) {   /* newest first: warmest */
    unsigned have = h->runs[i].pages;
    if (have >= n && have - n <= n / 8) {
      void *p = h->runs[i].p;
      cache_remove(h, i);
      superslab_t *ss = ss_of(p);
      ss->run[page_of(ss, p)] &= (uint16_t)~RUN_CACHED;
      h->counters.large_allocs++;
      return p;
    }
  }
  int saved = errno;
  void *p = pool_alloc_run(n);
  errno = p ? saved : ENOMEM;
  if (p != NULL) HEAP_COUNT(h, large_allocs, 1);
  return p;
}

/* p lies in SuperSlab ss (live while p is a live block of it). */
void large_free(heap_t *h, superslab_t *ss, void *p, const char *func) {
  uintptr_t off = (uintptr_t)p - (uintptr_t)ss;
  unsigned page = page_of(ss, p);
  if (UNLIKELY((off & (PAGE_SIZE_ - 1)) != 0 || !(ss->run[page] & RUN_LIVE)))
    hak_fatal_pointer(func, "invalid pointer (interior, or already freed)", p);
  uint16_t e = ss->run[page];
  if (UNLIKELY(e & RUN_CACHED)) hak_fatal_pointer(func, "double free of", p);
  unsigned n = e & RUN_PAGES;
  HEAP_COUNT(h, large_frees, 1);
  if (h->state != HEAP_LIVE || n > RUN_CACHE_PAGES / 2) {
    pool_free_run(ss, page, func);
    return;
  }
  while (h->run_count == RUN_CACHE_SLOTS || h->run_pages + n > RUN_CACHE_PAGES) cache_evict(h, 0);
  ss->run[page] = (uint16_t)(e | RUN_CACHED);
  h->runs[h->run_count].p = p;
  h->runs[h->run_count].pages = n;
  h->run_count++;
  h->run_pages += n;
}

size_t large_usable_size(const superslab_t *ss, const void *p) {
  uintptr_t off = (uintptr_t)p - (uintptr_t)ss;
  if ((off & (PAGE_SIZE_ - 1)) != 0) return 0;
  uint16_t e = ss->run[off >> PAGE_SHIFT];
  if ((e & (RUN_LIVE | RUN_CACHED)) != RUN_LIVE) return 0;
  return (size_t)(e & RUN_PAGES) << PAGE_SHIFT;
}

bool large_resize(void *p, size_t size) {
  superslab_t *ss = ss_of(p);
  return pool_resize_run(ss, page_of(ss, p), pages_for(size));
}

void large_heap_flush(heap_t *h) {
  while (h->run_count > 0) cache_evict(h, h->run_count - 1);
}

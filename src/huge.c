/* The huge tier: one mapping per block, 2 MiB aligned (every hakmem region
 * is, so that the registry can map each 2 MiB chunk to one region), with
 * the header at the start of the mapping and the block after it.  realloc
 * resizes the mapping (mremap) instead of copying: a buffer grown step by
 * step costs page-table moves, not copies of its contents.
 *
 * A freed mapping of up to HUGE_CACHE_MAX bytes is kept (HUGE_CACHE_SLOTS
 * of them, the oldest unmapped first) for HAKMEM_PURGE_DELAY_MS: a program
 * that frees and allocates buffers of a few MiB in a loop then costs no
 * mmap, munmap and page faults per buffer.  A cached mapping stays in the
 * registry with no block (user NULL), so a free of its old pointer is
 * caught.  With HAKMEM_THP=1 mappings ask for transparent huge pages; by
 * default they refuse them, since a block touched sparsely would otherwise
 * become resident 2 MiB at a time. */
#include "internal.h"

#include <errno.h>

#define HUGE_HEADER      64   /* the block starts here unless the alignment asks for more */
#define HUGE_CACHE_SLOTS 4
#define HUGE_CACHE_MAX   ((size_t)64 << 20)

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct { huge_hdr_t *h; uint64_t freed_ms; } cache[HUGE_CACHE_SLOTS];   /* oldest first */
static _Atomic unsigned cache_count;   /* written under cache_lock; read without it to skip the lock */

static void unmap_mapping(huge_hdr_t *h) {
  size_t map_size = h->map_size;
  registry_clear(h, map_size);
  os_unmap(h, map_size);
  stats_unmapped(map_size);
}

/* Cache slot i out of the cache (cache_lock held). */
static huge_hdr_t *cache_take(unsigned i) {
  huge_hdr_t *h = cache[i].h;
  unsigned n = atomic_load_explicit(&cache_count, memory_order_relaxed) - 1;
  for (; i < n; i++) cache[i] = cache[i + 1];
  atomic_store_explicit(&cache_count, n, memory_order_relaxed);
  return h;
}

bool huge_cache_expire(uint64_t now, bool all) {
  if (atomic_load_explicit(&cache_count, memory_order_relaxed) == 0) return false;
  uint64_t delay = (uint64_t)hak_options[OPT_PURGE_DELAY_MS];
  huge_hdr_t *gone[HUGE_CACHE_SLOTS];
  unsigned n = 0;
  pthread_mutex_lock(&cache_lock);
  /* now may predate a mapping cached meanwhile (read before a purge pass) */
  while (atomic_load_explicit(&cache_count, memory_order_relaxed) > 0 && (all || now >= cache[0].freed_ms + delay))
    gone[n++] = cache_take(0);
  pthread_mutex_unlock(&cache_lock);
  bool any = n > 0;
  while (n > 0) unmap_mapping(gone[--n]);
  return any;
}

/* fork: the cache is consistent in the child (taken after the pool's locks;
 * it is never held while another lock is taken) */
void huge_fork_prepare(void) { pthread_mutex_lock(&cache_lock); }
void huge_fork_parent(void) { pthread_mutex_unlock(&cache_lock); }
void huge_fork_child(void) { cache_lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER; }

/* The smallest cached mapping of at least map_size bytes (newest first
 * among equals); NULL if none.  A much longer one serves too: its tail is
 * unmapped (huge_realloc), and the pages it keeps are already resident,
 * where a fresh mapping would fault every page in again (a program whose
 * tables double in size frees the smaller ones and asks for them again in
 * its next round: CPython's dicts). */
static huge_hdr_t *cache_find(size_t map_size) {
  if (atomic_load_explicit(&cache_count, memory_order_relaxed) == 0) return NULL;
  huge_hdr_t *h = NULL;
  pthread_mutex_lock(&cache_lock);
  unsigned n = atomic_load_explicit(&cache_count, memory_order_relaxed), best = n;
  for (unsigned i = n; i-- > 0;) {
    size_t have = cache[i].h->map_size;
    if (have >= map_size && (best == n || have < cache[best].h->map_size)) best = i;
  }
  if (best != n) h = cache_take(best);
  pthread_mutex_unlock(&cache_lock);
  return h;
}

void *huge_alloc(size_t size, size_t alignment, bool *zeroed) {
  size_t offset = alignment > HUGE_HEADER ? alignment : HUGE_HEADER;
  if (size == 0) size = MIN_ALIGN;   /* the block must lie inside the mapping */
  if (size > HAK_MAX_REQUEST || offset > HAK_MAX_REQUEST - size) { errno = ENOMEM; return NULL; }
  size_t map_size = align_up(offset + size, os_page_size());
  huge_cache_expire(os_now_ms(), false);
  if (alignment <= SS_SIZE) {
    huge_hdr_t *h = cache_find(map_size);
    if (h != NULL) {
      h->user = (uint8_t *)h + offset;
      *zeroed = false;
      atomic_fetch_add_explicit(&hak_global.huge_count, 1, memory_order_relaxed);
      atomic_fetch_add_explicit(&hak_global.huge_bytes, h->map_size, memory_order_relaxed);
      atomic_fetch_add_explicit(&hak_global.huge_allocs, 1, memory_order_relaxed);
      atomic_fetch_add_explicit(&hak_global.huge_reused, 1, memory_order_relaxed);
      return huge_realloc(h, size);   /* cuts the tail off: cannot fail */
    }
  }
  *zeroed = true;
  size_t region_align = alignment > SS_SIZE ? alignment : SS_SIZE;
  huge_hdr_t *h = os_map_aligned(map_size, region_align);
  if (h == NULL) return NULL;
  if (hak_options[OPT_THP]) os_huge_pages(h, map_size); else os_no_huge_pages(h, map_size);
  h->hdr.magic = REGION_MAGIC;
  h->hdr.kind = REGION_HUGE;
  h->base = h;
  h->map_size = map_size;
  h->user = (uint8_t *)h + offset;
  if (!registry_set(h, map_size, (uintptr_t)h | REG_HUGE_TAG)) {
    os_unmap(h, map_size);
    errno = ENOMEM;
    return NULL;
  }
  stats_mapped(map_size);
  atomic_fetch_add_explicit(&hak_global.huge_count, 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&hak_global.huge_bytes, map_size, memory_order_relaxed);
  atomic_fetch_add_explicit(&hak_global.huge_allocs, 1, memory_order_relaxed);
  return h->user;
}

void huge_free(huge_hdr_t *h, void *p, const char *func) {
  if (h->user == NULL && p == (uint8_t *)h + HUGE_HEADER) hak_fatal_pointer(func, "double free of", p);   /* cached */
  if (p != h->user) hak_fatal_pointer(func, "invalid pointer (interior, or already freed)", p);
  atomic_fetch_sub_explicit(&hak_global.huge_count, 1, memory_order_relaxed);
  atomic_fetch_sub_explicit(&hak_global.huge_bytes, h->map_size, memory_order_relaxed);
  uint64_t now = os_now_ms();
  if (h->map_size > HUGE_CACHE_MAX || hak_options[OPT_PURGE_DELAY_MS] == 0) {
    unmap_mapping(h);
  } else {
    huge_hdr_t *evicted = NULL;
    h->user = NULL;
    pthread_mutex_lock(&cache_lock);
    if (atomic_load_explicit(&cache_count, memory_order_relaxed) == HUGE_CACHE_SLOTS) evicted = cache_take(0);
    unsigned n = atomic_load_explicit(&cache_count, memory_order_relaxed);
    cache[n].h = h;
    cache[n].freed_ms = now;
    atomic_store_explicit(&cache_count, n + 1, memory_order_relaxed);
    pthread_mutex_unlock(&cache_lock);
    atomic_fetch_add_explicit(&hak_global.huge_cached, 1, memory_order_relaxed);
    if (evicted != NULL) unmap_mapping(evicted);
  }
  huge_cache_expire(now, false);
}

size_t huge_usable_size(const huge_hdr_t *h) {
  return h->map_size - (size_t)((uint8_t *)h->user - (uint8_t *)h->base);
}

/* Chunks of [base, base + size): the registry's granularity. */
static size_t chunk_span(size_t size) { return align_up(size, SS_SIZE); }

void *huge_realloc(huge_hdr_t *h, size_t size) {
  size_t offset = (size_t)((uint8_t *)h->user - (uint8_t *)h->base);
  if (offset > SS_SIZE || size > HAK_MAX_REQUEST - offset) return NULL;   /* over-aligned: copy */
  size_t old_map = h->map_size;
  size_t new_map = align_up(offset + (size ? size : MIN_ALIGN), os_page_size());
  uint8_t *base = h->base;
  if (new_map <= old_map) {
    /* shrink: unmap the tail, and the registry chunks no longer covered */
    if (new_map == old_map) return h->user;
    if (chunk_span(new_map) < chunk_span(old_map)) registry_clear(base + chunk_span(new_map), chunk_span(old_map) - chunk_span(new_map));
    os_unmap(base + new_map, old_map - new_map);
  } else if (os_remap_in_place(base, old_map, new_map)) {
    /* only the chunks the growth adds: a failure rolls back what it set,
     * from its start, and the block's own chunks must stay registered */
    size_t have = chunk_span(old_map);
    if (chunk_span(new_map) > have && !registry_set(base + have, chunk_span(new_map) - have, (uintptr_t)h | REG_HUGE_TAG)) {
      os_remap_in_place(base, new_map, old_map);
      return NULL;
    }
  } else {
    /* Move the pages into a fresh 2 MiB-aligned region.  Moving costs page
     * table work for every page, so leave room to grow: half as much again
     * (address space only, until touched), or exactly what was asked if
     * the address space is short. */
    size_t roomy = align_up(old_map + old_map / 2, os_page_size());
    uint8_t *dest = NULL;
    if (roomy > new_map && (dest = os_map_aligned(roomy, SS_SIZE)) != NULL) new_map = roomy;
    if (dest == NULL && (dest = os_map_aligned(new_map, SS_SIZE)) == NULL) return NULL;
    if (!registry_set(dest, new_map, (uintptr_t)dest | REG_HUGE_TAG) || !os_remap_to(base, old_map, dest)) {
      registry_clear(dest, new_map);
      os_unmap(dest, new_map);
      return NULL;
    }
    registry_clear(base, old_map);
    h = (huge_hdr_t *)dest;   /* the header moved with its page */
    h->base = dest;
    h->user = dest + offset;
  }
  h->map_size = new_map;
  stats_unmapped(old_map);   /* first: a shrink must not raise the peak */
  stats_mapped(new_map);
  atomic_fetch_add_explicit(&hak_global.huge_bytes, new_map, memory_order_relaxed);
  atomic_fetch_sub_explicit(&hak_global.huge_bytes, old_map, memory_order_relaxed);
  return h->user;
}

/* A huge mapping's header (verify.c). */
void huge_verify(huge_hdr_t *h) {
  uintptr_t user = (uintptr_t)h->user;
  if (h->hdr.magic != REGION_MAGIC || h->hdr.kind != REGION_HUGE || h->base != h || (h->map_size & (PAGE_SIZE_ - 1)) != 0 ||
      (user != 0 && (user < (uintptr_t)h + sizeof *h || user >= (uintptr_t)h + h->map_size)))
    verify_fail("huge mapping header", h);
}

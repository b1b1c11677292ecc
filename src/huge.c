/* The huge tier: one mapping per block, 2 MiB aligned (every hakmem region
 * is, so that the registry can map each 2 MiB chunk to one region), with
 * the header at the start of the mapping and the block after it. */
#include "internal.h"

#include <errno.h>

#define HUGE_HEADER 64   /* the block starts here unless the alignment asks for more */

void *huge_alloc(size_t size, size_t alignment) {
  size_t offset = alignment > HUGE_HEADER ? alignment : HUGE_HEADER;
  if (size == 0) size = MIN_ALIGN;   /* the block must lie inside the mapping */
  if (size > HAK_MAX_REQUEST || offset > HAK_MAX_REQUEST - size) { errno = ENOMEM; return NULL; }
  size_t map_size = align_up(offset + size, os_page_size());
  size_t region_align = alignment > SS_SIZE ? alignment : SS_SIZE;
  huge_hdr_t *h = os_map_aligned(map_size, region_align);
  if (h == NULL) return NULL;
  h->hdr.magic = REGION_MAGIC;
  h->hdr.kind = REGION_HUGE;
  h->base = h;
  h->map_size = map_size;
  h->user = (uint8_t *)h + offset;
  if (!registry_set(h, map_size, &h->hdr)) {
    os_unmap(h, map_size);
    errno = ENOMEM;
    return NULL;
  }
  stats_mapped(map_size);
  atomic_fetch_add_explicit(&hak_stats.huge_count, 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&hak_stats.huge_bytes, map_size, memory_order_relaxed);
  atomic_fetch_add_explicit(&hak_stats.huge_allocs, 1, memory_order_relaxed);
  return h->user;
}

void huge_free(huge_hdr_t *h, void *p, const char *func) {
  if (p != h->user) hak_fatal_pointer(func, "invalid pointer (interior, or already freed)", p);
  size_t map_size = h->map_size;
  registry_clear(h, map_size);
  os_unmap(h, map_size);
  stats_unmapped(map_size);
  atomic_fetch_sub_explicit(&hak_stats.huge_count, 1, memory_order_relaxed);
  atomic_fetch_sub_explicit(&hak_stats.huge_bytes, map_size, memory_order_relaxed);
}

size_t huge_usable_size(const huge_hdr_t *h) {
  return h->map_size - (size_t)((uint8_t *)h->user - (uint8_t *)h->base);
}

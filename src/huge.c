/* The huge tier: one mapping per block, 2 MiB aligned (every hakmem region
 * is, so that the registry can map each 2 MiB chunk to one region), with
 * the header at the start of the mapping and the block after it.  realloc
 * resizes the mapping (mremap) instead of copying: a buffer grown step by
 * step costs page-table moves, not copies of its contents. */
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
  if (!registry_set(h, map_size, (uintptr_t)h | REG_HUGE_TAG)) {
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
    if (!registry_set(base, new_map, (uintptr_t)h | REG_HUGE_TAG)) {
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
  stats_mapped(new_map);
  stats_unmapped(old_map);
  atomic_fetch_add_explicit(&hak_stats.huge_bytes, new_map, memory_order_relaxed);
  atomic_fetch_sub_explicit(&hak_stats.huge_bytes, old_map, memory_order_relaxed);
  return h->user;
}

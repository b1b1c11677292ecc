/* The registry: which 2 MiB chunks of the address space belong to a hakmem
 * region, and where that region's header is.  A two-level table: the top
 * level is static (untouched pages cost nothing), leaves of 8192 entries are
 * mapped on first use and never freed, so a lookup never reads memory that
 * may be unmapped.  Entries are set before a region is handed out and
 * cleared before it is unmapped. */
#include "internal.h"

#define LEAF_ENTRIES (1u << REG_LEAF_BITS)

_Atomic(reg_entry_t *) hak_reg_top[1u << REG_TOP_BITS];

static reg_entry_t *leaf_for(uintptr_t idx, bool create) {
  _Atomic(reg_entry_t *) *slot = &hak_reg_top[idx >> REG_LEAF_BITS];
  reg_entry_t *leaf = atomic_load_explicit(slot, memory_order_acquire);
  if (leaf != NULL || !create) return leaf;
  size_t bytes = LEAF_ENTRIES * sizeof(reg_entry_t);
  reg_entry_t *fresh = os_map_aligned(bytes, os_page_size());
  if (fresh == NULL) return NULL;
  stats_mapped(bytes);
  if (atomic_compare_exchange_strong_explicit(slot, &leaf, fresh, memory_order_acq_rel, memory_order_acquire))
    return fresh;
  os_unmap(fresh, bytes);   /* another thread installed one first */
  stats_unmapped(bytes);
  return leaf;
}

bool registry_set(void *base, size_t size, uintptr_t entry) {
  uintptr_t first = (uintptr_t)base >> SS_SHIFT;
  uintptr_t last = ((uintptr_t)base + size - 1) >> SS_SHIFT;
  if ((last >> REG_LEAF_BITS) >= (1u << REG_TOP_BITS)) return false;
  for (uintptr_t i = first; i <= last; i++) {
    reg_entry_t *leaf = leaf_for(i, true);
    if (leaf == NULL) {
      if (i > first) registry_clear(base, (i - first) << SS_SHIFT);
      return false;
    }
    atomic_store_explicit(&leaf[i & (LEAF_ENTRIES - 1)], entry, memory_order_release);
  }
  return true;
}

void registry_clear(void *base, size_t size) {
  uintptr_t first = (uintptr_t)base >> SS_SHIFT;
  uintptr_t last = ((uintptr_t)base + size - 1) >> SS_SHIFT;
  for (uintptr_t i = first; i <= last; i++) {
    reg_entry_t *leaf = leaf_for(i, false);
    if (leaf != NULL) atomic_store_explicit(&leaf[i & (LEAF_ENTRIES - 1)], 0, memory_order_release);
  }
}

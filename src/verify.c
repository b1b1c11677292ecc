/* The invariant checker: every region the registry knows (SuperSlabs with
 * their pages, slabs and free lists; huge mappings), every live heap's
 * thread caches, and the pool's counters against what the regions hold.
 * Each module checks its own structures; this file walks the registry and
 * reports.  Meant for tests, at points where no other thread is inside the
 * allocator (it takes the pool lock and the heap list's, never an orphan lock).
 * Not on any allocation path; it never allocates. */
#include "internal.h"

#include <string.h>

static size_t failures;

void verify_fail(const char *what, const void *where) {
  char buf[200];
  size_t n = 0, len = strlen(what);
  if (len > 150) len = 150;
  memcpy(buf, "hakmem: verify: ", 16);
  n = 16;
  memcpy(buf + n, what, len);
  n += len;
  buf[n++] = ' ';
  n += fmt_hex(buf + n, (uintptr_t)where);
  buf[n++] = '\n';
  os_write(2, buf, n);
  failures++;
}

size_t hak_verify(void) {
  failures = 0;
  if (atomic_load_explicit(&hak_init_state, memory_order_acquire) != 2) return 0;
  spill_quiesce();
  pool_totals_t t;
  memset(&t, 0, sizeof t);
  uintptr_t last_huge = 0;
  for (size_t top = 0; top < ((size_t)1 << REG_TOP_BITS); top++) {
    reg_entry_t *leaf = atomic_load_explicit(&hak_reg_top[top], memory_order_acquire);
    if (leaf == NULL) continue;
    for (size_t i = 0; i < ((size_t)1 << REG_LEAF_BITS); i++) {
      uintptr_t e = atomic_load_explicit(&leaf[i], memory_order_acquire);
      uintptr_t chunk = ((top << REG_LEAF_BITS) | i) << SS_SHIFT;
      if (e == 0) continue;
      huge_hdr_t *h = registry_huge(e);
      if (h != NULL) {   /* one entry per 2 MiB chunk of the mapping */
        if ((uintptr_t)h > chunk) verify_fail("registry: huge entry above its chunk", (void *)chunk);
        else if ((uintptr_t)h != last_huge) huge_verify(h);
        last_huge = (uintptr_t)h;
        continue;
      }
      if (e != chunk) { verify_fail("registry: SuperSlab entry not its chunk's base", (void *)chunk); continue; }
      superslab_t *ss = (superslab_t *)e;
      pool_verify_ss(ss, &t);
      for (unsigned s = SLAB_FIRST; s < SLABS_PER_SS; s++)
        if (ss->slabs[s].limit != 0) tiny_verify_slab(&ss->slabs[s]);
    }
  }
  pool_verify_totals(&t);
  heap_verify();
  return failures;
}

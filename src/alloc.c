/* The hak_* API: dispatch by size and the semantics of the malloc family
 * (errno, overflow, alignment, realloc, usable size, mallinfo).
 *
 * Decisions where glibc and POSIX leave room:
 * - malloc(0) returns a unique 16-byte block; realloc(p, 0) frees p and
 *   returns NULL (glibc's behaviour), leaving errno alone.
 * - aligned_alloc with an alignment that is not a power of two fails with
 *   EINVAL (as glibc 2.38+ and mimalloc do); memalign rounds it up (glibc).
 * - A pointer that hakmem did not hand out, an interior pointer, a block
 *   already freed (free or realloc of it: the free mark, see internal.h) or
 *   whose slab has been freed ends the process with a one-line message. */
#include "internal.h"
#include "../include/hakmem.h"

#include <errno.h>
#include <string.h>

/* Above the tiny classes: the mid classes through the same thread caches,
 * then the large and huge tiers. */
void *hak_alloc_big(size_t size) {
  if (size <= SMALL_MAX) return hak_alloc_class(size_class_compute(size));
  hak_init();
  if (size <= LARGE_MAX) return large_alloc(size);
  bool zeroed;
  return huge_alloc(size, MIN_ALIGN, &zeroed);
}

void hak_free_unhinted(void *p, heap_t *h, const char *func) {
  uintptr_t base = (uintptr_t)p & ~(SS_SIZE - 1);
  uintptr_t e = registry_lookup(p);
  if (UNLIKELY(e != base || e == 0)) { hak_free_slow(p, e, func); return; }
  slab_meta_t *m = slab_of((superslab_t *)base, p);
  if (slab_block_valid(m, p) && atomic_load_explicit(&m->owner, memory_order_relaxed) == h)
    h->hint[(base >> SS_SHIFT) & (HINTS - 1)] = base;   /* h owns a slab there */
  hak_free_in_slab(h, m, p, func);
}

void hak_free_slow(void *p, uintptr_t entry, const char *func) {
  if (p == NULL) return;
  huge_hdr_t *h = registry_huge(entry);
  if (h == NULL) hak_fatal_pointer(func, "invalid pointer (not allocated by hakmem, or already freed)", p);
  if (h->hdr.kind != REGION_HUGE || h->hdr.magic != REGION_MAGIC) hak_fatal_pointer(func, "corrupted heap metadata at", h);
  huge_free(h, p, func);
}

/* The usable size of p if it is a live block (registry entry e), else 0:
 * the one classification behind realloc, malloc_usable_size and hak_owns. */
size_t hak_block_size(const void *p, uintptr_t e) {
  if (e == 0) return 0;
  huge_hdr_t *h = registry_huge(e);
  if (h != NULL) return p == h->user ? huge_usable_size(h) : 0;
  superslab_t *ss = (superslab_t *)e;
  slab_meta_t *m = slab_of(ss, p);
  if (slab_block_valid(m, p)) return block_freed(p) || tiny_block_parked(m, p) ? 0 : hak_class_size[m->cls];
  return large_usable_size(ss, p);
}

/* Usable size of a live block; aborts with a message naming func if p is
 * not one. */
size_t block_size_checked(const void *p, const char *func) {
  uintptr_t e = registry_lookup(p);
  size_t size = hak_block_size(p, e);
  if (size == 0) hak_fatal_pointer(func, e == 0 ? "invalid pointer (not allocated by hakmem, or already freed)" : "invalid pointer (interior, or already freed)", p);
  return size;
}

HAK_EXPORT void *hak_malloc(size_t size) {
  if (HAK_DEBUG) return debug_alloc(size, MIN_ALIGN, false);
  return hak_alloc_inline(size);
}

HAK_EXPORT void hak_free(void *p) {
  if (HAK_DEBUG) debug_free_check(p, "free");
  hak_free_inline(p, "free");
}

HAK_EXPORT void *hak_calloc(size_t count, size_t size) {
  size_t total;
  if (__builtin_mul_overflow(count, size, &total)) { errno = ENOMEM; return NULL; }
  if (HAK_DEBUG) return debug_alloc(total, MIN_ALIGN, true);
  if (total <= LARGE_MAX) {
    void *p = hak_alloc_inline(total);
    if (p != NULL) memset(p, 0, total);
    return p;
  }
  hak_init();
  bool zeroed;
  void *p = huge_alloc(total, MIN_ALIGN, &zeroed);
  if (p != NULL && !zeroed) memset(p, 0, total);   /* a cached mapping */
  return p;
}

HAK_EXPORT void *hak_realloc(void *p, size_t size) {
  if (HAK_DEBUG) return debug_realloc(p, size);
  if (p == NULL) return hak_alloc_inline(size);
  size_t old = block_size_checked(p, "realloc");
  if (size == 0) {
    hak_free_inline(p, "realloc");
    return NULL;
  }
  /* Stay in place while the block is big enough and not more than twice
   * too big (a small request would otherwise pin a large run or mapping). */
  if (size <= old && (size > old / 2 || old <= MIN_ALIGN)) return p;
  if (old > SMALL_MAX && size > SMALL_MAX) {
    huge_hdr_t *h = registry_huge(registry_lookup(p));
    if (h == NULL && size <= LARGE_MAX && large_resize(p, size)) return p;   /* run: grow into free pages, or shrink */
    if (h != NULL && size > LARGE_MAX) {   /* mapping: mremap */
      int saved = errno;
      void *q = huge_realloc(h, size);
      errno = saved;   /* a refused mapping on the way must not show after a success, here or by the copy below */
      if (q != NULL) return q;
    }
  }
  void *q = hak_alloc_inline(size);
  if (q == NULL) return NULL;   /* errno is ENOMEM; p is untouched */
  memcpy(q, p, size < old ? size : old);
  hak_free_inline(p, "realloc");
  return q;
}

HAK_EXPORT void *hak_reallocarray(void *p, size_t count, size_t size) {
  size_t total;
  if (__builtin_mul_overflow(count, size, &total)) { errno = ENOMEM; return NULL; }
  return hak_realloc(p, total);
}

static bool is_pow2(size_t x) { return x != 0 && (x & (x - 1)) == 0; }

/* alignment: a power of two. */
void *hak_alloc_aligned(size_t alignment, size_t size) {
  if (alignment <= MIN_ALIGN) return hak_alloc_inline(size);
  if (size > HAK_MAX_REQUEST) { errno = ENOMEM; return NULL; }
  size_t need = size > alignment ? size : alignment;
  if (need <= SMALL_MAX) {
    /* Slabs start 64 KiB aligned, so every block of a class whose size is
     * a multiple of the alignment is aligned; the power-of-two classes
     * guarantee one exists. */
    unsigned cls = size_class(need);
    while (hak_class_size[cls] % alignment != 0) cls++;
    return hak_alloc_class(cls);
  }
  hak_init();
  if (need <= LARGE_MAX && alignment <= PAGE_SIZE_) return large_alloc(need);   /* runs are page aligned */
  bool zeroed;
  return huge_alloc(size, alignment, &zeroed);
}

static void *aligned_alloc_pow2(size_t alignment, size_t size) {
  if (HAK_DEBUG) return debug_alloc(size, alignment, false);
  return hak_alloc_aligned(alignment, size);
}

HAK_EXPORT int hak_posix_memalign(void **out, size_t alignment, size_t size) {
  if (!is_pow2(alignment) || alignment % sizeof(void *) != 0) return EINVAL;
  int saved = errno;   /* posix_memalign reports through its result only */
  void *p = aligned_alloc_pow2(alignment, size);
  errno = saved;
  if (p == NULL) return ENOMEM;
  *out = p;
  return 0;
}

HAK_EXPORT void *hak_aligned_alloc(size_t alignment, size_t size) {
  if (!is_pow2(alignment)) { errno = EINVAL; return NULL; }
  return aligned_alloc_pow2(alignment, size);
}

HAK_EXPORT void *hak_memalign(size_t alignment, size_t size) {
  if (alignment > SIZE_MAX / 2 + 1) { errno = EINVAL; return NULL; }
  size_t a = MIN_ALIGN;
  while (a < alignment) a <<= 1;   /* glibc rounds a non-power of two up */
  return aligned_alloc_pow2(a, size);
}

HAK_EXPORT void *hak_valloc(size_t size) { return aligned_alloc_pow2(os_page_size(), size); }

HAK_EXPORT void *hak_pvalloc(size_t size) {
  size_t ps = os_page_size();
  if (size > HAK_MAX_REQUEST) { errno = ENOMEM; return NULL; }
  size_t rounded = size == 0 ? ps : align_up(size, ps);
  return aligned_alloc_pow2(ps, rounded);
}

HAK_EXPORT size_t hak_malloc_usable_size(const void *p) {
  if (p == NULL) return 0;
  if (HAK_DEBUG) return debug_usable_size(p);
  return block_size_checked(p, "malloc_usable_size");
}

HAK_EXPORT int hak_owns(const void *p) { return hak_block_size(p, registry_lookup(p)) != 0; }

/* arena: bytes of SuperSlabs; uordblks: of those, slabs serving a class
 * and large runs; hblks/hblkhd: huge mappings; usmblks: peak bytes mapped. */
HAK_EXPORT struct mallinfo2 hak_mallinfo2(void) {
  struct hak_stats st;
  hak_stats_get(&st);
  struct mallinfo2 mi;
  memset(&mi, 0, sizeof mi);
  mi.arena = st.superslabs_now * SS_SIZE;
  mi.ordblks = st.superslabs_now;
  mi.hblks = st.huge_now;
  mi.hblkhd = st.huge_bytes_now;
  mi.usmblks = st.bytes_mapped_peak;
  mi.uordblks = st.slabs_in_use * SLAB_SIZE + st.large_bytes_now;
  mi.fordblks = mi.arena - mi.uordblks;
  return mi;
}

HAK_EXPORT struct mallinfo hak_mallinfo(void) {
  struct mallinfo2 m2 = hak_mallinfo2();
  struct mallinfo mi;
  /* The old interface has int fields: clamp rather than wrap. */
#define CLAMP(v) ((int)((v) > (size_t)__INT_MAX__ ? (size_t)__INT_MAX__ : (v)))
  mi.arena = CLAMP(m2.arena);
  mi.ordblks = CLAMP(m2.ordblks);
  mi.smblks = 0;
  mi.hblks = CLAMP(m2.hblks);
  mi.hblkhd = CLAMP(m2.hblkhd);
  mi.usmblks = CLAMP(m2.usmblks);
  mi.fsmblks = 0;
  mi.uordblks = CLAMP(m2.uordblks);
  mi.fordblks = CLAMP(m2.fordblks);
  mi.keepcost = 0;
#undef CLAMP
  return mi;
}

/* glibc's tuning parameters (malloc.h: M_MXFAST..M_KEEP, M_TRIM_THRESHOLD
 * ..M_ARENA_MAX) are accepted and have no effect: hakmem's policies are set
 * through HAKMEM_* options.  As in glibc, M_MXFAST refuses a value outside
 * 0..160 (its largest fast bin); unlike glibc, an unknown parameter gives 0,
 * so that a program can tell that nothing took it. */
HAK_EXPORT int hak_mallopt(int param, int value) {
  if (param == M_MXFAST) return value >= 0 && value <= 80 * (int)sizeof(size_t) / 4;
  return (param >= M_MXFAST && param <= M_KEEP) || (param <= M_TRIM_THRESHOLD && param >= M_ARENA_MAX);
}

HAK_EXPORT int hak_malloc_trim(size_t pad) {
  (void)pad;
  if (atomic_load_explicit(&hak_init_state, memory_order_acquire) != 2) return 0;
  int saved = errno;
  heap_trim_current();
  bool released = pool_trim();
  errno = saved;
  return released;
}

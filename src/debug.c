/* The fail-fast layer of the debug build (make debug, HAK_DEBUG=1).
 *
 * Every block is allocated 16 bytes longer than asked (at least 32): an
 * 8-byte canary follows the requested size, and the block's last 8 bytes
 * hold a trailer with the requested size and the block's class (or FREED
 * once it is freed).  Each free and realloc checks, in this order: the
 * region's magic, the slab's class against its metadata, the trailer
 * (double free, or overwritten), the canary (buffer overflow).  The free
 * fast path checks that a block it pushes onto a thread's list belongs to
 * that thread (internal.h).  A violation prints one line naming the check,
 * the pointer, the class and the thread, then aborts.
 * malloc_usable_size returns the requested size, so that a program that
 * writes up to the usable size stays within the canary. */
#include "internal.h"

#include <errno.h>
#include <string.h>

#define EXTRA        16
#define MIN_PADDED   32                          /* the trailer clear of the free-list words */
#define TRAILER_TAG  0xa5u
#define TRAILER_FREED 0xf3eef3eef3eef3eeull
#define CANARY_KEY   0x6b61686d656d6b21ull
#define CLASS_LARGE  0xfe
#define CLASS_HUGE   0xff

/* The class recorded in a trailer: the slab class, or large / huge. */
static unsigned class_code(const void *p, uintptr_t e) {
  if (registry_huge(e) != NULL) return CLASS_HUGE;
  slab_meta_t *m = slab_of((superslab_t *)e, p);
  return slab_block_valid(m, p) ? m->cls : CLASS_LARGE;
}

static uint64_t canary_of(const void *p) { return CANARY_KEY ^ (uintptr_t)p; }
static uint64_t *trailer_of(void *p, size_t usable) { return (uint64_t *)((char *)p + usable - 8); }

void *debug_alloc(size_t size, size_t alignment, bool zero) {
  if (size > HAK_MAX_REQUEST) { errno = ENOMEM; return NULL; }
  size_t padded = size + EXTRA < MIN_PADDED ? MIN_PADDED : size + EXTRA;
  void *p = hak_alloc_aligned(alignment, padded);
  if (p == NULL) return NULL;
  uintptr_t e = registry_lookup(p);
  size_t usable = hak_block_size(p, e);
  if (zero) memset(p, 0, size);
  uint64_t c = canary_of(p);
  memcpy((char *)p + size, &c, sizeof c);
  *trailer_of(p, usable) = (uint64_t)size << 16 | class_code(p, e) << 8 | TRAILER_TAG;
  return p;
}

/* What a block found freed is called, by the function that was given it. */
static const char *freed_what(const char *func) { return strcmp(func, "free") == 0 ? "double free" : "block already freed"; }

/* Checks p (not NULL); returns its requested size and, if trailer is not
 * NULL, where its trailer is. */
static size_t check(void *p, const char *func, uint64_t **trailer) {
  uintptr_t e = registry_lookup(p);
  if (e == 0) hak_fatal_pointer(func, "invalid pointer (not allocated by hakmem, or already freed)", p);
  huge_hdr_t *hh = registry_huge(e);
  const region_hdr_t *hdr = hh != NULL ? &hh->hdr : &((superslab_t *)e)->hdr;
  if (hdr->magic != REGION_MAGIC) hak_fail_check(hh ? "bad magic in the huge block's header" : "bad SuperSlab magic", p, -1);
  int cls = -1;
  if (hh == NULL) {
    slab_meta_t *m = slab_of((superslab_t *)e, p);
    if (m->limit != 0) {   /* a slab of blocks, not large runs */
      if (m->cls >= NUM_CLASSES || m->div_magic != UINT64_MAX / hak_class_size[m->cls] + 1)
        hak_fail_check("slab class does not match its metadata", p, m->cls);
      cls = m->cls;
      if (slab_block_valid(m, p) && (block_freed(p) || tiny_block_parked(m, p)))
        hak_fail_check(freed_what(func), p, cls);
    }
  }
  size_t usable = hak_block_size(p, e);
  if (usable == 0) hak_fatal_pointer(func, "invalid pointer (interior, or already freed)", p);
  uint64_t *tp = trailer_of(p, usable), t = *tp;
  if (trailer != NULL) *trailer = tp;
  if (t == TRAILER_FREED) hak_fail_check(freed_what(func), p, cls);
  size_t size = (size_t)(t >> 16);
  if ((t & 0xff) != TRAILER_TAG || size + EXTRA > usable || ((t >> 8) & 0xff) != class_code(p, e))
    hak_fail_check("block trailer overwritten (buffer overflow, or not a live block)", p, cls);
  uint64_t c;
  memcpy(&c, (char *)p + size, sizeof c);
  if (c != canary_of(p)) hak_fail_check("canary after the requested size overwritten (buffer overflow)", p, cls);
  return size;
}

void debug_free_check(void *p, const char *func) {
  if (p == NULL) return;
  uint64_t *trailer;
  check(p, func, &trailer);
  *trailer = TRAILER_FREED;
}

/* Always moves the block, so that stale pointers to the old one fail. */
void *debug_realloc(void *p, size_t size) {
  if (p == NULL) return debug_alloc(size, MIN_ALIGN, false);
  uint64_t *trailer;
  size_t old = check(p, "realloc", &trailer);
  void *q = NULL;
  if (size != 0) {
    q = debug_alloc(size, MIN_ALIGN, false);
    if (q == NULL) return NULL;   /* p is untouched */
    memcpy(q, p, size < old ? size : old);
  }
  *trailer = TRAILER_FREED;
  hak_free_inline(p, "realloc");
  return q;
}

size_t debug_usable_size(const void *p) { return check((void *)p, "malloc_usable_size", NULL); }

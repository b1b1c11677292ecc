/* The slab size classes (tiny up to TINY_MAX, mid up to SMALL_MAX): slabs
 * owned by heaps, the batch refill and flush between them and the thread
 * caches, remote frees, and the slabs of threads that exited.
 *
 * A heap owns the slabs it allocates from, per class in two rings: avail
 * (may have blocks) and full (found exhausted).  Only the owner touches a
 * slab's free list and counts, so refill and flush take no lock.  A refill
 * takes a batch from the avail slabs (their free lists, then carving fresh
 * blocks by bumping, a page's worth at most, after which it stops short,
 * then the blocks other threads freed), then looks at a few full slabs for
 * remote frees, then adopts an orphan, then asks the pool for a fresh
 * slab.  A flush returns blocks to their slabs; a slab
 * whose blocks all came back goes to the pool unless it is the last one the
 * heap has for that class.
 *
 * A thread that frees a block of a slab it does not own pushes it onto the
 * slab's remote list with one CAS, its last access to the slab: the block
 * still counts as used until the owner collects it, so the slab (and its
 * SuperSlab) cannot be released while the push is in flight.
 *
 * When a thread exits, its slabs go back to the pool if empty, otherwise
 * onto their class's orphan ring (owner NULL).  The orphan lock of the
 * class then stands in for the owner: frees of orphan blocks are applied
 * under it (and release the slab when it empties), and the next heap that
 * needs the class adopts the slab.  Threads without a heap of their own
 * (after thread exit, or when no memory is left for a heap) allocate from
 * one shared heap under a lock. */
#include "internal.h"

#include <errno.h>

/* Multiples of 16 up to 256, then 8 classes per doubling (waste <= 12.5%). */
const uint32_t hak_class_size[NUM_CLASSES] = {
  16, 32, 48, 64, 80, 96, 112, 128,
  144, 160, 176, 192, 208, 224, 240, 256,
  288, 320, 352, 384, 416, 448, 480, 512,
  576, 640, 704, 768, 832, 896, 960, 1024,
  1152, 1280, 1408, 1536, 1664, 1792, 1920, 2048,
  2304, 2560, 2816, 3072, 3328, 3584, 3840, 4096,
  4608, 5120, 5632, 6144, 6656, 7168, 7680, 8192,
  9216, 10240, 11264, 12288, 13312, 14336, 15360, 16384,
  18432, 20480, 22528, 24576, 26624, 28672, 30720, 32768,
};

/* Class of a size <= TINY_MAX, indexed by the size itself, as the byte
 * offset of its cache in a heap: the fast path loads it with one
 * instruction after the bound check (indexing by (size + 15) / 16 took an
 * add and a shift more; the table is 2 KiB, of which a program touches the
 * lines of the sizes it uses).  Ranges are GCC's designated ranges. */
#define R(lo, hi, cls) [lo ... hi] = (uint16_t)((cls) * sizeof(tcache_t))
const uint16_t hak_cache_off_small[TINY_MAX + 1] = {
  R(0, 16, 0), R(17, 32, 1), R(33, 48, 2), R(49, 64, 3),
  R(65, 80, 4), R(81, 96, 5), R(97, 112, 6), R(113, 128, 7),
  R(129, 144, 8), R(145, 160, 9), R(161, 176, 10), R(177, 192, 11),
  R(193, 208, 12), R(209, 224, 13), R(225, 240, 14), R(241, 256, 15),
  R(257, 288, 16), R(289, 320, 17), R(321, 352, 18), R(353, 384, 19),
  R(385, 416, 20), R(417, 448, 21), R(449, 480, 22), R(481, 512, 23),
  R(513, 576, 24), R(577, 640, 25), R(641, 704, 26), R(705, 768, 27),
  R(769, 832, 28), R(833, 896, 29), R(897, 960, 30), R(961, 1024, 31),
};
#undef R


#define FULL_SCAN 4   /* full slabs looked at per refill for remote frees */

typedef struct orphan_ring {
  pthread_mutex_t lock;
  slab_meta_t    *head;
  _Atomic size_t  count;   /* read without the lock to skip empty rings */
} __attribute__((aligned(64))) orphan_ring_t;

static orphan_ring_t orphans[NUM_CLASSES];
static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;
static heap_t shared_heap = { .state = HEAP_SHARED, .hint = HINTS_NONE };

/* ------------------------------------------------------------ slab rings */

static void ring_push(slab_meta_t **ring, slab_meta_t *m) {
  slab_meta_t *h = *ring;
  if (h == NULL) {
    m->next = m->prev = m;
  } else {
    m->next = h;
    m->prev = h->prev;
    h->prev->next = m;
    h->prev = m;
  }
  *ring = m;
}

static void ring_remove(slab_meta_t **ring, slab_meta_t *m) {
  if (m->next == m) {
    *ring = NULL;
  } else {
    m->prev->next = m->next;
    m->next->prev = m->prev;
    if (*ring == m) *ring = m->next;
  }
  m->next = m->prev = NULL;
}

/* Moves every slab of ring from onto ring to. */
static void ring_splice(slab_meta_t **to, slab_meta_t **from) {
  while (*from != NULL) {
    slab_meta_t *m = *from;
    ring_remove(from, m);
    ring_push(to, m);
  }
}

static uint8_t *slab_start(slab_meta_t *m) {
  superslab_t *ss = ss_of(m);
  return (uint8_t *)ss + (size_t)(m - ss->slabs) * SLAB_SIZE;
}

/* --------------------------------------------- the owner's slab operations */

/* Checks block p's free mark (see block_freed) and sets the next one. */
static void mark_move(void *p, uintptr_t expect, uintptr_t next) {
  if (UNLIKELY(((uintptr_t *)p)[1] != expect)) hak_fatal_mark(p);
  ((uintptr_t *)p)[1] = next;
}

/* The next block on one of slab m's own lists: NULL or a block of m. */
static void *slab_link_next(const slab_meta_t *m, const void *p) {
  void *next = link_get(p);
  if (UNLIKELY(next != NULL && !slab_block_valid(m, next))) hak_fatal_link(p);
  return next;
}

/* ---------------------------------------------------------- parked blocks
 *
 * When the process begins to shrink (pool_shrink_epoch), each heap, as it
 * drains its caches (free_draining), makes its mid slabs that are half
 * used or less give back the pages that only their free blocks cover:
 * those blocks are "parked", taken off the free list (their link and mark
 * would read as zero) into a mask in the SuperSlab header, and put back on
 * the list when the list runs dry.  Without this, bench_fragment's peak
 * held 30 MiB of pages of mid slabs that no live block touched (1..8 KiB
 * classes left 10% used by random frees): 558 MiB, 534 with it.  Once per
 * shrinking period, not as each slab thins: parking at every halving of a
 * slab's count while the process shrank (529 MiB) made the sqlite3
 * workload give back 68 MB that its next statement faulted in again
 * (40,500 -> 55,000 faults).  Only the mid classes park: their slabs hold
 * at most 64 blocks, one mask word; a tiny class's page is seldom free of
 * live blocks.
 *
 * A parked block has no free mark, so the usual double-free detection
 * (the mark is checked where a block is taken) would miss a second free
 * of it; instead every path by which a freed block comes in checks the
 * mask while the slab has parked blocks: the owner's fast free reaches
 * tiny_free_slow through the slab's cache_off (PARKED_OFF: a cache with
 * room 0), other threads' frees check in tiny_free_remote (the spill
 * queue's gathering included), and collect_remote checks again under the
 * owner.  The owner alone writes the mask and cache_off; other threads
 * read them with relaxed loads: a bit they see set is a block parked after
 * the program freed it.  A second free racing with the parking is caught
 * either way: the freeing thread writes the block's mark before it reads
 * the mask, and slab_park reads the marks again after storing the mask
 * (a fence between, on both sides where the block may skip
 * collect_remote: the spill queue's gathering), so one of the two sees
 * the other.  realloc and malloc_usable_size treat a parked block as
 * freed (hak_block_size). */

#define PARK_FIRST_CLASS 32   /* the first class above TINY_MAX */
_Static_assert(SLAB_SIZE / (TINY_MAX + 1) <= 64, "a mid slab's blocks fit one mask word");

static uint64_t *parked_of(slab_meta_t *m) {
  superslab_t *ss = ss_of(m);
  return &ss->parked[m - ss->slabs];
}

static unsigned block_index(const slab_meta_t *m, const void *p) {
  return (unsigned)(((uintptr_t)p & (SLAB_SIZE - 1)) / hak_class_size[m->cls]);
}

/* A store-load fence.  ThreadSanitizer does not model
 * atomic_thread_fence (and warns); its builds take a sequentially
 * consistent read-modify-write of a shared word instead. */
static void full_fence(void) {
#if defined(__SANITIZE_THREAD__)
  static _Atomic unsigned word;
  atomic_fetch_add_explicit(&word, 0, memory_order_seq_cst);
#else
  atomic_thread_fence(memory_order_seq_cst);
#endif
}

static bool slab_has_parked(const slab_meta_t *m) {
  return __atomic_load_n(&m->cache_off, __ATOMIC_RELAXED) == PARKED_OFF;
}

/* p's bit in m's mask of parked blocks. */
static bool parked_bit(slab_meta_t *m, const void *p) {
  return (__atomic_load_n(parked_of(m), __ATOMIC_RELAXED) >> block_index(m, p)) & 1;
}

/* Aborts if p, being freed, is a parked block of m (which has some). */
static void check_unparked(slab_meta_t *m, const void *p) {
  if (UNLIKELY(parked_bit(m, p))) hak_fatal_pointer("free", "double free of", p);
}

bool tiny_block_parked(slab_meta_t *m, const void *p) { return slab_has_parked(m) && parked_bit(m, p); }

/* Parks the free blocks of m that lie on pages no block out of the slab
 * (in use, cached or remote) touches, and gives those pages back. */
static void slab_park(slab_meta_t *m) {
  uint32_t bs = hak_class_size[m->cls], cap = slab_capacity(m);
  uint64_t *parked = parked_of(m), on_list = 0;
  for (void *p = m->free; p != NULL; p = slab_link_next(m, p)) {
    uint64_t bit = 1ull << block_index(m, p);
    /* twice on the list: a double free that a drain put back (a cycle) */
    if (UNLIKELY(on_list & bit)) hak_fatal_pointer("free", "double free detected in the slab at", slab_start(m));
    if (UNLIKELY(((uintptr_t *)p)[1] != MARK_SLAB)) hak_fatal_mark(p);
    on_list |= bit;
  }
  uint64_t carved = m->carved >= 64 ? ~0ull : (1ull << m->carved) - 1;
  uint64_t out = carved & ~on_list & ~*parked;
  uint64_t park = 0;
  uint32_t pages = 0;
  for (unsigned pg = 0; pg < PAGES_PER_SLAB; pg++) {
    unsigned first = (unsigned)(pg * PAGE_SIZE_ / bs), last = (unsigned)(((pg + 1) * PAGE_SIZE_ - 1) / bs);
    if (first >= m->carved) break;   /* pages past the carved blocks were never touched */
    if (last >= cap) last = cap - 1;
    uint64_t over = (last == 63 ? ~0ull : (2ull << last) - 1) & ~((1ull << first) - 1);
    if ((over & out) || !(over & on_list)) continue;   /* pinned, or given back already */
    park |= over & on_list;
    pages |= 1u << pg;
  }
  if (park == 0) return;
  void *head = NULL, *tail = NULL;
  for (void *p = m->free, *next; p != NULL; p = next) {
    next = link_get(p);   /* checked by the walk above */
    if ((park >> block_index(m, p)) & 1) continue;
    if (tail != NULL) link_put(tail, p); else head = p;
    tail = p;
  }
  if (tail != NULL) link_put(tail, NULL);
  m->free = head;
  __atomic_store_n(parked, *parked | park, __ATOMIC_RELAXED);
  __atomic_store_n(&m->cache_off, (uint16_t)PARKED_OFF, __ATOMIC_RELAXED);
  /* A thread freeing one of these blocks again writes its mark, then (a
   * fence) reads the mask: with this fence between the mask's store and
   * the marks' second reading, one of the two sees the other's store. */
  full_fence();
  uint8_t *start = slab_start(m);
  for (uint64_t b = park; b != 0; b &= b - 1) {
    const uintptr_t *q = (const uintptr_t *)(start + (size_t)__builtin_ctzll(b) * bs);
    if (UNLIKELY(q[1] != MARK_SLAB)) hak_fatal_pointer("free", "double free of", q);
  }
  size_t given = 0;
  while (pages != 0) {
    unsigned pg = (unsigned)__builtin_ctz(pages), len = (unsigned)__builtin_ctz(~(pages >> pg));
    os_purge(start + ((size_t)pg << PAGE_SHIFT), (size_t)len << PAGE_SHIFT);
    pages &= ~(((1u << len) - 1) << pg);
    given += len;
  }
  atomic_fetch_add_explicit(&hak_global.pages_purged, given, memory_order_relaxed);
  atomic_fetch_add_explicit(&hak_global.pages_parked, given, memory_order_relaxed);
}

/* Puts up to want parked blocks of m, lowest first, back on its empty free
 * list; their pages fault back in as they are written. */
static void slab_unpark(slab_meta_t *m, uint32_t want) {
  uint64_t *parked = parked_of(m), left = *parked, take = 0;
  for (uint32_t n = 0; n < want && left != 0; n++) {
    take |= left & -left;
    left &= left - 1;
  }
  uint32_t bs = hak_class_size[m->cls];
  uint8_t *start = slab_start(m);
  while (take != 0) {   /* highest first: the list pops in address order */
    unsigned i = 63u - (unsigned)__builtin_clzll(take);
    take &= ~(1ull << i);
    void *p = start + (size_t)i * bs;
    ((uintptr_t *)p)[1] = MARK_SLAB;
    link_put(p, m->free);
    m->free = p;
  }
  __atomic_store_n(parked, left, __ATOMIC_RELAXED);
  if (left == 0) __atomic_store_n(&m->cache_off, (uint16_t)(m->cls * TCACHE_SIZE), __ATOMIC_RELAXED);
}

/* Moves the blocks other threads freed onto the local free list. */
static uint32_t collect_remote(slab_meta_t *m) {
  void *list = atomic_exchange_explicit(&m->remote, NULL, memory_order_acquire);
  bool parked = slab_has_parked(m);
  uint32_t n = 0;
  while (list != NULL) {
    void *next = slab_link_next(m, list);
    if (UNLIKELY(parked)) check_unparked(m, list);
    mark_move(list, hak_free_key, MARK_SLAB);
    link_put(list, m->free);
    m->free = list;
    list = next;
    n++;
  }
  if (UNLIKELY(n > m->used)) hak_fatal_pointer("free", "double free detected in the slab at", slab_start(m));
  m->used = (uint16_t)(m->used - n);
  return n;
}

/* Fresh blocks carved per refill: at most a page's worth (at least one
 * block).  Carving writes each block's link and mark, so a larger batch
 * touches pages that a program using a class lightly never needs: a short
 * process (a compiler pass) or a short-lived thread that takes one or two
 * blocks of many classes paid a page fault (18 us here) per page carved. */
#define CARVE_BYTES PAGE_SIZE_

/* Takes up to want blocks from m onto the chain *head. */
static uint32_t take_blocks(slab_meta_t *m, uint32_t want, void **head) {
  void *h = *head;
  uint32_t n = 0;
  for (;;) {
    while (n < want && m->free != NULL) {
      void *p = m->free;
      m->free = slab_link_next(m, p);
      mark_move(p, MARK_SLAB, hak_free_key);
      link_put(p, h);
      h = p;
      n++;
    }
    if (n == want || !slab_has_parked(m)) break;
    slab_unpark(m, want - n);
  }
  uint32_t capacity = slab_capacity(m);
  if (n < want && m->carved < capacity) {
    uint32_t bs = hak_class_size[m->cls];
    uint32_t k = capacity - m->carved, most = bs < CARVE_BYTES ? CARVE_BYTES / bs : 1;
    if (k > want - n) k = want - n;
    if (k > most) k = most;
    uint8_t *p = slab_start(m) + (size_t)m->carved * bs;
    for (uint32_t i = 0; i < k; i++, p += bs) {
      ((uintptr_t *)p)[1] = hak_free_key;
      link_put(p, h);
      h = p;
    }
    m->carved = (uint16_t)(m->carved + k);
    n += k;
  }
  m->used = (uint16_t)(m->used + n);
  *head = h;
  return n;
}

/* Gives empty slab m (used 0) back to the pool, once every block carved is
 * seen marked as on its free list.  A second free of a block already on
 * that list overwrites its mark with the cache's, so the flush that takes
 * it back accepts it: the block is then on the list twice and counted back
 * twice, and the slab would empty while another of its blocks is still in
 * use, cached or pushed remotely: that block has no MARK_SLAB.  The marks
 * are read in address order, which the prefetcher follows: walking the
 * free list instead took a cache miss per block, 2.5% of the python3
 * workload's time. */
static void slab_release(slab_meta_t *m) {
  uint32_t bs = hak_class_size[m->cls];
  uint8_t *start = slab_start(m);
  uint64_t parked = 0;
  if (slab_has_parked(m)) {
    parked = *parked_of(m);
    __atomic_store_n(parked_of(m), 0, __ATOMIC_RELAXED);
  }
  for (uint32_t i = 0; i < m->carved; i++)
    if (UNLIKELY(((const uintptr_t *)(start + (size_t)i * bs))[1] != MARK_SLAB) && !(i < 64 && ((parked >> i) & 1)))
      hak_fatal_pointer("free", "double free detected in the slab at", start);
  pool_release_slab(m);
}

static uintptr_t *hint_of(heap_t *h, const void *ss) { return &h->hint[((uintptr_t)ss >> SS_SHIFT) & (HINTS - 1)]; }

static void release_slab(heap_t *h, slab_meta_t **ring, slab_meta_t *m) {
  ring_remove(ring, m);
  uintptr_t *hint = hint_of(h, m);
  if (*hint == (uintptr_t)ss_of(m)) *hint = HINT_NONE;   /* the SuperSlab may go away with this slab */
  slab_release(m);
}

/* A slab whose owner exited: under its class's orphan lock from now on. */
static void orphan_slab(heap_t *h, slab_meta_t *m) {
  orphan_ring_t *o = &orphans[m->cls];
  pthread_mutex_lock(&o->lock);
  atomic_store_explicit(&m->owner, NULL, memory_order_release);
  m->full = 0;
  /* blocks pushed before the owner changed are collected here; later
   * pushers see the orphan and free under this lock */
  collect_remote(m);
  if (m->used == 0) {
    slab_release(m);
  } else {
    ring_push(&o->head, m);
    atomic_fetch_add_explicit(&o->count, 1, memory_order_relaxed);
    h->counters.orphaned++;
  }
  pthread_mutex_unlock(&o->lock);
}

static slab_meta_t *adopt_orphan(heap_t *h, unsigned cls) {
  orphan_ring_t *o = &orphans[cls];
  if (atomic_load_explicit(&o->count, memory_order_relaxed) == 0) return NULL;
  pthread_mutex_lock(&o->lock);
  slab_meta_t *m = o->head;
  if (m != NULL) {
    ring_remove(&o->head, m);
    atomic_fetch_sub_explicit(&o->count, 1, memory_order_relaxed);
    atomic_store_explicit(&m->owner, h, memory_order_release);
  }
  pthread_mutex_unlock(&o->lock);
  if (m != NULL) {
    h->counters.adopted++;
    collect_remote(m);
  }
  return m;
}

/* A full slab that other threads have freed into since, if any. */
static slab_meta_t *full_with_remote(heap_t *h, unsigned cls) {
  for (int i = 0; i < FULL_SCAN && h->full[cls] != NULL; i++) {
    slab_meta_t *m = h->full[cls];
    if (atomic_load_explicit(&m->remote, memory_order_relaxed) != NULL) {
      ring_remove(&h->full[cls], m);
      m->full = 0;
      return m;
    }
    h->full[cls] = m->next;   /* rotate: the next refill looks further */
  }
  return NULL;
}

/* Takes up to want blocks of class cls for heap h onto the chain *out;
 * returns the count (0: out of memory). */
static uint32_t heap_take(heap_t *h, unsigned cls, uint32_t want, void **out) {
  /* One full slab per refill is looked at even while others have room, so
   * that slabs emptied by other threads' frees go back to the pool. */
  slab_meta_t *f = h->full[cls];
  if (f != NULL) {
    h->full[cls] = f->next;
    if (atomic_load_explicit(&f->remote, memory_order_relaxed) != NULL) {
      ring_remove(&h->full[cls], f);
      f->full = 0;
      h->counters.remote_collected += collect_remote(f);
      ring_push(&h->avail[cls], f);
      if (f->used == 0 && f->next != f) release_slab(h, &h->avail[cls], f);
    }
  }
  uint32_t n = 0;
  while (n < want) {
    slab_meta_t *m = h->avail[cls];
    if (m == NULL) {
      m = full_with_remote(h, cls);
      if (m == NULL) m = adopt_orphan(h, cls);
      if (m == NULL) m = pool_acquire_slab(cls, h);
      if (m == NULL) break;
      ring_push(&h->avail[cls], m);
      *hint_of(h, m) = (uintptr_t)ss_of(m);
    }
    n += take_blocks(m, want - n, out);
    if (n == want) break;
    if (m->carved < slab_capacity(m)) break;   /* carving stopped at CARVE_BYTES: enough for now */
    if (atomic_load_explicit(&m->remote, memory_order_relaxed) != NULL) {
      h->counters.remote_collected += collect_remote(m);
      continue;
    }
    ring_remove(&h->avail[cls], m);
    m->full = 1;
    ring_push(&h->full[cls], m);
  }
  return n;
}

/* Parks what it can in the slabs of ring that are half used or less. */
static void park_sparse(slab_meta_t *ring) {
  slab_meta_t *m = ring;
  if (m != NULL) {
    do {
      if (m->used * 2u <= slab_capacity(m)) slab_park(m);
      m = m->next;
    } while (m != ring);
  }
}

/* Returns a chain of blocks owned by h to their slabs.  With keep_last, a
 * slab that empties stays if it is the heap's only one for the class. */
static void heap_give(heap_t *h, void *chain, bool keep_last) {
  while (chain != NULL) {
    void *p = chain;
    chain = link_next(p);
    slab_meta_t *m = slab_of(ss_of(p), p);
    if (atomic_load_explicit(&m->owner, memory_order_relaxed) != h) {   /* taken from a spill queue */
      mark_move(p, hak_free_key, hak_free_key);
      tiny_free_foreign(p);
      continue;
    }
    if (UNLIKELY(m->used == 0)) hak_fatal_pointer("free", "double free of", p);
    mark_move(p, hak_free_key, MARK_SLAB);
    link_put(p, m->free);
    m->free = p;
    m->used--;
    unsigned cls = m->cls;
    if (m->full) {
      ring_remove(&h->full[cls], m);
      m->full = 0;
      ring_push(&h->avail[cls], m);
    }
    if (m->used == 0 && (!keep_last || m->next != m)) release_slab(h, &h->avail[cls], m);
  }
}

/* Detaches the blocks of cache c beyond the first keep (the list head holds
 * the most recently freed, warmest blocks). */
static void *cache_detach(tcache_t *c, uint32_t keep) {
  void *chain;
  if (keep == 0) {
    chain = c->head;
    c->head = NULL;
  } else {
    void *last = c->head;
    for (uint32_t i = 1; i < keep && last != NULL; i++) last = link_next(last);
    if (last == NULL) return NULL;
    chain = link_next(last);
    link_put(last, NULL);
  }
  uint32_t count = c->cap - c->room, left = keep < count ? keep : count;
  c->room = c->cap - left;
  c->moved -= count - left;
  return chain;
}

/* ------------------------------------------------------------ slow paths */

/* The mid classes' cache bounds adapt.  A class whose thread both
 * allocates and frees past its cache (a refill after a flush) doubles its
 * bound, up to MID_CACHE_BYTES: its blocks then stay in the cache instead
 * of emptying slabs into the pool and taking them back (a 32 KiB slab holds
 * two blocks).  Two flushes without a refill between them (the thread only
 * frees) put the bound back where it started and flush down to half of it,
 * so that a burst of frees does not leave blocks pinning slabs.  A refill
 * takes at most REFILL_BYTES: the cache fills by frees, not by refills.
 * The tiny classes keep their bound (64 KiB of blocks).  Any class's bound
 * is 0 while its thread has drained in a shrinking period (tiny_free_slow). */
#define MID_CACHE_BYTES (2u << 20)
#define REFILL_BYTES    (64u << 10)

static uint32_t refill_count(const tcache_t *c, unsigned cls) {
  uint32_t n = c->cap / 2, by_bytes = REFILL_BYTES / hak_class_size[cls];
  if (n > by_bytes) n = by_bytes;
  return n ? n : 1;
}

static void cap_set(tcache_t *c, uint32_t cap) {
  c->room = c->room + cap - c->cap;   /* callers keep the blocks cached <= cap (unsigned: wraps back) */
  c->cap = cap;
}

/* On a refill: the class churns if it flushed since the last one. */
static void cap_grow(heap_t *h, tcache_t *c, unsigned cls) {
  if (h->flushes_since_refill[cls] == 0) return;
  h->flushes_since_refill[cls] = 0;
  uint32_t size = hak_class_size[cls], max = MID_CACHE_BYTES / size;
  if (size <= TINY_MAX) return;
  if (max > 256) max = 256;
  if (c->cap < max) cap_set(c, c->cap * 2 < max ? c->cap * 2 : max);
}

/* On a flush: the bound from now on (a second flush without a refill
 * resets it); the flush keeps half of it. */
static uint32_t cap_after_flush(heap_t *h, const tcache_t *c, unsigned cls) {
  if (h->flushes_since_refill[cls] < 255) h->flushes_since_refill[cls]++;
  uint32_t base = class_cap(cls);
  return h->flushes_since_refill[cls] >= 2 && c->cap > base ? base : c->cap;
}

static void *shared_alloc(unsigned cls) {
  void *p = NULL;
  pthread_mutex_lock(&shared_lock);
  heap_take(&shared_heap, cls, 1, &p);
  pthread_mutex_unlock(&shared_lock);
  if (p != NULL) mark_move(p, hak_free_key, 0);
  if (p != NULL) HEAP_COUNT(&shared_heap, allocs[cls], 1);
  return p;
}

void *tiny_alloc_slow(heap_t *h, unsigned cls) {
  int saved = errno;   /* a failed mapping on the way must not show after a success */
  if (UNLIKELY(h->state != HEAP_LIVE)) {
    h = heap_for_thread();
    if (h->state != HEAP_LIVE) {
      void *p = shared_alloc(cls);
      errno = p ? saved : ENOMEM;
      return p;
    }
  }
  tcache_t *c = &h->cache[cls];
  pool_purge_tick();
  /* before the cache is looked at: starting the drainer allocates (the new
   * thread's TLS), maybe from this very class, which refills its cache */
  if (hak_options[OPT_BG_SPILL]) spill_start_drainer();
  if (c->head == NULL) {
    if (c->cap == 0) cap_set(c, class_cap(cls));   /* drained while the process shrank */
    cap_grow(h, c, cls);
    uint32_t n = 0;
    if (hak_options[OPT_BG_SPILL]) n = spill_take(cls, &c->head);
    if (n > 0) {
      if (n > c->room) cap_set(c, c->cap + (n - c->room));   /* a batch from a thread whose bound was higher */
      h->counters.spill_takes += n;
    } else {
      heap_lock(h);
      n = heap_take(h, cls, refill_count(c, cls), &c->head);
      heap_unlock(h);
      if (n == 0) { errno = ENOMEM; return NULL; }
      h->counters.refills++;
    }
    c->room -= n;
    c->moved += n;
  }
  errno = saved;
  return hak_alloc_class(cls);   /* the fast path's pop, now that the cache has blocks (h is this thread's heap) */
}

static void foreign_spill(heap_t *h, unsigned cls, bool recount);

/* Most free memory of some pool arena is waiting to be purged
 * (pool_shrink_epoch): every cache of heap h empties, once per shrinking
 * period, its sparse mid slabs park their free pages, and a class stays
 * empty (bound 0: its frees go straight to the slabs) until it allocates
 * again, so that the thread's next allocation takes a slow path and reads
 * the purge clock even after it went idle (bench_fragment's last malloc).
 * Frees p, of class cache c, past the cache. */
static void free_draining(heap_t *h, tcache_t *c, void *p, unsigned epoch) {
  bool drain = h->drained_epoch != epoch;
  heap_lock(h);
  if (drain) {
    h->drained_epoch = epoch;
    h->counters.flushes++;
    for (unsigned cls = 0; cls < NUM_CLASSES; cls++) {
      tcache_t *d = &h->cache[cls];
      void *chain = cache_detach(d, 0);
      cap_set(d, 0);
      heap_give(h, chain, true);
      foreign_spill(h, cls, false);   /* blocks gathered for other threads' slabs (spill queues) */
      if (cls >= PARK_FIRST_CLASS) park_sparse(h->avail[cls]);
    }
  }
  link_put(p, NULL);
  heap_give(h, p, true);
  c->moved--;   /* freed, and past the cache */
  heap_unlock(h);
  if (drain) large_heap_flush(h);
  /* every free takes this path while the class is drained: the clock is
   * read on one in 64 (reading it on each was 1.2% of the python3
   * workload's instructions, 700,000 frees as its data went) */
  if (drain || (++h->drained_frees & 63) == 0) pool_purge_tick();
}

void tiny_free_slow(void *p, heap_t *h, slab_meta_t *m) {
  tcache_t *c = &h->cache[m->cls];
  if (p == c->head) hak_fatal_pointer("free", "double free of", p);
  if (UNLIKELY(m->cache_off == PARKED_OFF)) {   /* the fast path took from parked_cache, not from c */
    h->parked_cache.room = 0;
    check_unparked(m, p);
  } else {
    c->room++;   /* the fast path took one it did not have */
  }
  unsigned epoch;
  if (c->room == 0 && h->state == HEAP_LIVE && (epoch = pool_shrink_epoch()) != 0 && (h->drained_epoch != epoch || c->cap == 0)) {
    free_draining(h, c, p, epoch);
    return;
  }
  if (c->cap == 0 && h->state == HEAP_LIVE) cap_set(c, class_cap(m->cls));   /* drained while the process shrank; it no longer does */
  if (c->room == 0) {
    h->counters.flushes++;
    uint32_t cap = cap_after_flush(h, c, m->cls);
    heap_lock(h);
    heap_give(h, cache_detach(c, cap / 2), true);
    heap_unlock(h);
    cap_set(c, cap);
  }
  link_put(p, c->head);
  c->head = p;
  c->room--;
}

/* The free of a block whose slab is an orphan, under the orphan lock;
 * false if the slab was adopted meanwhile. */
static bool orphan_free(slab_meta_t *m, void *p) {
  orphan_ring_t *o = &orphans[m->cls];
  pthread_mutex_lock(&o->lock);
  if (atomic_load_explicit(&m->owner, memory_order_acquire) != NULL) {
    pthread_mutex_unlock(&o->lock);
    return false;
  }
  collect_remote(m);
  if (UNLIKELY(m->used == 0)) hak_fatal_pointer("free", "double free of", p);
  ((uintptr_t *)p)[1] = MARK_SLAB;
  link_put(p, m->free);
  m->free = p;
  if (--m->used == 0) {
    ring_remove(&o->head, m);
    atomic_fetch_sub_explicit(&o->count, 1, memory_order_relaxed);
    slab_release(m);
  }
  pthread_mutex_unlock(&o->lock);
  return true;
}

static void push_remote(slab_meta_t *m, void *p) {
  if (atomic_load_explicit(&m->owner, memory_order_acquire) == NULL && orphan_free(m, p)) return;
  void *old = atomic_load_explicit(&m->remote, memory_order_relaxed);
  do {
    link_put(p, old);
  } while (!atomic_compare_exchange_weak_explicit(&m->remote, &old, p, memory_order_release, memory_order_relaxed));
  /* the slab must not be touched from here on */
}

void tiny_free_foreign(void *p) { push_remote(slab_of(ss_of(p), p), p); }

/* Pushes heap h's foreign blocks of class cls onto the spill queue.  The
 * chain is taken off the heap before the push, so that a fork landing in
 * between cannot make the child push it again.  With recount (thread exit,
 * fork child: a fork may have landed between a block's link and the count)
 * the chain is counted afresh. */
static void foreign_spill(heap_t *h, unsigned cls, bool recount) {
  void *chain = h->foreign[cls].head;
  uint32_t n = h->foreign[cls].count;
  h->foreign[cls].head = NULL;
  h->foreign[cls].count = 0;
  if (recount) {
    n = 0;
    for (void *p = chain; p != NULL; p = link_next(p)) n++;
  }
  if (n == 0) return;
  spill_push(cls, chain, n);
  h->counters.spill_pushes++;
  h->counters.spill_blocks += n;
}

void tiny_free_remote(void *p, heap_t *h, slab_meta_t *m) {
  unsigned cls = m->cls;
  /* The spill queue may hand the block straight to another thread's
   * cache, past collect_remote: the mask is read after a fence that pairs
   * with slab_park's (see "parked blocks"). */
  if (hak_options[OPT_BG_SPILL]) full_fence();
  if (UNLIKELY(slab_has_parked(m))) check_unparked(m, p);
  if (hak_options[OPT_BG_SPILL] && h->state == HEAP_EMPTY) h = heap_for_thread();   /* a thread that only frees gathers too */
  HEAP_COUNT(h, remote[cls], 1);
  if (hak_options[OPT_BG_SPILL] && h->state == HEAP_LIVE) {
    /* gathered here; the batch goes to the spill queue once it is as
     * long as the target, or a thread cache's worth */
    if (UNLIKELY(p == h->foreign[cls].head)) hak_fatal_pointer("free", "double free of", p);
    link_put(p, h->foreign[cls].head);
    h->foreign[cls].head = p;
    uint32_t n = ++h->foreign[cls].count;
    uint32_t cap = h->cache[cls].cap ? h->cache[cls].cap : class_cap(cls);   /* 0 while drained */
    if (n >= (uint32_t)hak_options[OPT_BG_TARGET] || n >= cap) foreign_spill(h, cls, false);
    return;
  }
  push_remote(m, p);
}

/* ----------------------------------------------------- whole-heap actions */

/* Collects the remote frees of every slab h owns in class cls and releases
 * the empty ones; the others are orphaned (thread exit) or sorted back onto
 * the avail and full rings. */
static void heap_sweep(heap_t *h, unsigned cls, bool orphan) {
  slab_meta_t *all = NULL;
  ring_splice(&all, &h->avail[cls]);
  ring_splice(&all, &h->full[cls]);
  while (all != NULL) {
    slab_meta_t *m = all;
    ring_remove(&all, m);
    m->full = 0;
    collect_remote(m);
    if (m->used == 0) {
      slab_release(m);
    } else if (orphan) {
      orphan_slab(h, m);
    } else if (m->free == NULL && m->carved == slab_capacity(m) && !slab_has_parked(m)) {
      m->full = 1;
      ring_push(&h->full[cls], m);
    } else {
      ring_push(&h->avail[cls], m);
    }
  }
  for (unsigned i = 0; i < HINTS; i++) h->hint[i] = HINT_NONE;
}

void tiny_heap_release(heap_t *h) {
  heap_lock(h);
  for (unsigned cls = 0; cls < NUM_CLASSES; cls++) {
    foreign_spill(h, cls, true);   /* for the threads that go on */
    heap_give(h, cache_detach(&h->cache[cls], 0), true);
    heap_sweep(h, cls, true);
  }
  heap_unlock(h);
}

void tiny_heap_trim(heap_t *h) {
  if (h->state == HEAP_LIVE) {
    for (unsigned cls = 0; cls < NUM_CLASSES; cls++) foreign_spill(h, cls, false);
  }
  spill_drain_all();
  if (h->state == HEAP_LIVE) heap_lock(h);
  pthread_mutex_lock(&shared_lock);
  for (unsigned cls = 0; cls < NUM_CLASSES; cls++) {
    if (h->state == HEAP_LIVE) {
      heap_give(h, cache_detach(&h->cache[cls], 0), true);
      heap_sweep(h, cls, false);
    }
    heap_sweep(&shared_heap, cls, false);
    /* orphans emptied by frees that arrived after their owner left */
    orphan_ring_t *o = &orphans[cls];
    if (atomic_load_explicit(&o->count, memory_order_relaxed) == 0) continue;
    pthread_mutex_lock(&o->lock);
    slab_meta_t *keep = NULL;
    while (o->head != NULL) {
      slab_meta_t *m = o->head;
      ring_remove(&o->head, m);
      collect_remote(m);
      if (m->used == 0) {
        atomic_fetch_sub_explicit(&o->count, 1, memory_order_relaxed);
        slab_release(m);
      } else {
        ring_push(&keep, m);
      }
    }
    o->head = keep;
    pthread_mutex_unlock(&o->lock);
  }
  pthread_mutex_unlock(&shared_lock);
  if (h->state == HEAP_LIVE) heap_unlock(h);
}

void tiny_fork_prepare(void) {
  pthread_mutex_lock(&shared_lock);
  for (unsigned i = 0; i < NUM_CLASSES; i++) pthread_mutex_lock(&orphans[i].lock);
}

void tiny_fork_parent(void) {
  for (unsigned i = NUM_CLASSES; i-- > 0;) pthread_mutex_unlock(&orphans[i].lock);
  pthread_mutex_unlock(&shared_lock);
}

void tiny_fork_child(void) {
  spill_fork_child();
  for (unsigned i = 0; i < NUM_CLASSES; i++) pthread_mutex_init(&orphans[i].lock, NULL);
  pthread_mutex_init(&shared_lock, NULL);
}

/* ---------------------------------------------------------- verification */

/* Walks one list of slab m's blocks, marking each in seen: every block
 * must be a carved block of m, on no other list.  Returns its length. */
static uint32_t verify_list(slab_meta_t *m, void *p, uint8_t *seen, uintptr_t mark, const char *what) {
  uint32_t n = 0, bs = hak_class_size[m->cls];
  for (; p != NULL; p = link_get(p), n++) {
    uint32_t i = (uint32_t)(((uintptr_t)p & (SLAB_SIZE - 1)) / bs);
    if (ss_of(p) != ss_of(m) || slab_of(ss_of(p), p) != m || !slab_block_valid(m, p) || i >= m->carved) {
      verify_fail(what, p);
      break;
    }
    if (seen[i / 8] & (1u << (i % 8))) { verify_fail("block twice on the free lists, or listed and parked (or a cycle)", p); break; }
    seen[i / 8] |= (uint8_t)(1u << (i % 8));
    if (((uintptr_t *)p)[1] != mark) verify_fail("free block without its free mark", p);
  }
  return n;
}

/* A slab serving a class: its metadata, its free and remote lists, and
 * the blocks of it in its owner's thread cache, which must not overlap;
 * the blocks neither carved nor on the free list are exactly those in use. */
void tiny_verify_slab(slab_meta_t *m) {
  if (m->cls >= NUM_CLASSES) return;   /* reported by the pool */
  uint32_t bs = hak_class_size[m->cls], capacity = slab_capacity(m);
  uint64_t parked = *parked_of(m);
  uint32_t on_parked = (uint32_t)__builtin_popcountll(parked);
  if (m->div_magic != UINT64_MAX / bs + 1 || m->cache_off != (parked ? PARKED_OFF : m->cls * TCACHE_SIZE) || m->carved > capacity ||
      m->used > m->carved || (parked && (m->cls < PARK_FIRST_CLASS || (m->carved < 64 && (parked >> m->carved) != 0)))) {
    verify_fail("slab metadata", m);
    return;
  }
  uint8_t seen[SLAB_SIZE / MIN_ALIGN / 8] = { 0 };
  for (uint32_t i = 0; i < 64 && i < m->carved; i++)
    if ((parked >> i) & 1) seen[i / 8] |= (uint8_t)(1u << (i % 8));
  uint32_t on_free = verify_list(m, m->free, seen, MARK_SLAB, "slab free list: a block not of this slab");
  uint32_t on_remote = verify_list(m, atomic_load(&m->remote), seen, hak_free_key, "slab remote list: a block not of this slab");
  if (on_free + on_parked + m->used != m->carved) verify_fail("slab counts: free + parked + used != carved", m);
  uint32_t cached = 0;
  heap_t *h = atomic_load(&m->owner);
  if (h != NULL && h->state == HEAP_LIVE) {
    uint32_t count = h->cache[m->cls].cap - h->cache[m->cls].room;
    void *p = h->cache[m->cls].head;
    for (uint32_t k = 0; p != NULL && k < count; p = link_get(p), k++) {
      if (registry_lookup(p) != (uintptr_t)ss_of(p)) { verify_fail("thread cache: a block in no SuperSlab", p); break; }   /* before its link is read */
      if (slab_of(ss_of(p), p) != m) continue;
      uint32_t i = (uint32_t)(((uintptr_t)p & (SLAB_SIZE - 1)) / bs);
      if (!slab_block_valid(m, p) || i >= m->carved || (seen[i / 8] & (1u << (i % 8)))) { verify_fail("cached block also free in its slab, or not carved", p); break; }
      seen[i / 8] |= (uint8_t)(1u << (i % 8));
      cached++;
    }
  }
  if (on_remote + cached > m->used) verify_fail("slab counts: remote + cached > used", m);
}

/* Heap h's thread caches: each list as long as its count says, of blocks
 * of live slabs of its class. */
void tiny_verify_caches(heap_t *h) {
  for (unsigned cls = 0; cls < NUM_CLASSES; cls++) {
    tcache_t *c = &h->cache[cls];
    if (c->room > c->cap) { verify_fail("thread cache room > bound", c); continue; }
    uint32_t count = c->cap - c->room, n = 0;
    void *p = c->head;
    for (; p != NULL && n <= count; p = link_get(p), n++) {
      uintptr_t e = registry_lookup(p);
      slab_meta_t *m = slab_of(ss_of(p), p);
      if (((uintptr_t)p & (MIN_ALIGN - 1)) || e != (uintptr_t)ss_of(p) || m->limit == 0 || m->cls != cls || !slab_block_valid(m, p)) {
        verify_fail("thread cache: not a block of a slab of its class", p);
        break;
      }
      if (((uintptr_t *)p)[1] != hak_free_key) verify_fail("cached block without its free mark", p);
    }
    if (n != count && (p == NULL || n > count)) verify_fail("thread cache: length differs from its count", c);
  }
}

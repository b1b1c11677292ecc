/* Internal types and inline helpers shared by all of hakmem's modules.
 *
 * Layering (each layer calls only the ones below it):
 *   override.c            the exported malloc family (libhakmem.so / .a only)
 *   alloc.c  init.c       hak_* API and dispatch by size; start-up, fork, exit
 *   heap.c                per-thread heaps (thread caches)
 *   tiny.c large.c huge.c the tiers
 *   superslab.c           SuperSlabs and the shared page pool (slabs and large runs)
 *   registry.c            address -> region map
 *   os.c options.c stats.c error.c
 */
#ifndef HAKMEM_INTERNAL_H
#define HAKMEM_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>

/* The fail-fast build (make debug): every operation checks its block. */
#ifndef HAK_DEBUG
#define HAK_DEBUG 0
#endif

#define HAK_EXPORT   __attribute__((visibility("default")))
#define LIKELY(x)    __builtin_expect(!!(x), 1)
#define UNLIKELY(x)  __builtin_expect(!!(x), 0)
#define NOINLINE     __attribute__((noinline))
#define ALWAYS_INLINE inline __attribute__((always_inline))
#define COLD         __attribute__((cold, noinline))
#define TLS_IE       __attribute__((tls_model("initial-exec")))

/* ------------------------------------------------------------------ sizes */

#define SS_SHIFT        21                      /* SuperSlab: 2 MiB, 2 MiB aligned */
#define SS_SIZE         ((size_t)1 << SS_SHIFT)
#define SLAB_SHIFT      16                      /* slab: 64 KiB */
#define SLAB_SIZE       ((size_t)1 << SLAB_SHIFT)
#define SLABS_PER_SS    32
#define PAGE_SHIFT      12                      /* the page pool's unit (x86-64's page) */
#define PAGE_SIZE_      ((size_t)1 << PAGE_SHIFT)
#define PAGES_PER_SS    (SS_SIZE >> PAGE_SHIFT)
#define PAGES_PER_SLAB  (SLAB_SIZE >> PAGE_SHIFT)

/* Tier boundaries: the one place that decides which tier serves a size.
 * Requests up to SMALL_MAX are served from slab size classes (tiny up to
 * TINY_MAX, mid above it); up to LARGE_MAX by runs of pages of SuperSlabs
 * (the large tier); anything larger by a mapping of its own (huge). */
#define TINY_MAX        1024
#define SMALL_MAX       (32 * 1024)
#define LARGE_MAX       ((size_t)1 << 20)
#define NUM_CLASSES     72                      /* 16..256 step 16, then 8 per doubling */
#define MIN_ALIGN       16

/* Largest request hakmem attempts; anything above fails with ENOMEM at once,
 * so that no size computation below can overflow. */
#define HAK_MAX_REQUEST (((size_t)PTRDIFF_MAX) - ((size_t)64 << 20))

static inline size_t align_up(size_t n, size_t a) { return (n + a - 1) & ~(a - 1); }

/* ---------------------------------------------------------------- regions */

#define REGION_MAGIC 0x68616b6du                 /* "hakm" */
enum region_kind { REGION_SUPERSLAB = 1, REGION_HUGE = 2 };

/* Every region hakmem maps starts 2 MiB aligned with this header; the
 * registry maps each 2 MiB chunk a region covers to its header. */
typedef struct region_hdr {
  uint32_t magic;
  uint32_t kind;
} region_hdr_t;

struct heap;

/* One slab of a SuperSlab.  A slab belongs to one heap (its owner), which
 * alone touches free, used, carved and the list links; other threads only
 * push onto remote (one CAS, their last access to the slab).  A slab whose
 * owner thread exited is an orphan (owner NULL, on its class's orphan
 * list): then the orphan lock of its class stands in for the owner.  A free
 * slab has limit 0, so every pointer into it fails slab_block_valid. */
typedef struct slab_meta {
  void              *free;        /* blocks given back by the owner */
  _Atomic(void *)    remote;      /* blocks freed by other threads */
  _Atomic(struct heap *) owner;
  uint64_t           div_magic;   /* UINT64_MAX / block_size + 1 */
  struct slab_meta  *next, *prev; /* the owner's (or the orphan) list */
  uint64_t           limit;       /* capacity * (block_size * div_magic mod 2^64); 0 while free */
  uint16_t           used;        /* blocks out of the slab: in use, cached, or on remote */
  uint16_t           carved;      /* blocks handed out by bumping so far */
  uint16_t           cache_off;   /* cls * sizeof(tcache_t): the owner's cache, by one add; PARKED_OFF while blocks are parked */
  uint8_t            cls;
  uint8_t            full;        /* on the owner's full list */
} __attribute__((aligned(64))) slab_meta_t;   /* a power of two: indexed by a shift */

/* A SuperSlab's 512 pages are handed out by the page pool, as slabs
 * (aligned groups of 16 pages, slab i at base + i * 64 KiB) or as large
 * runs (any page-aligned run).  Slab 0 holds the header and no blocks: its
 * pages past the header are never touched, so this costs address space,
 * not memory, and every block's offset in its slab is its address's low 16
 * bits.  The SuperSlab's list-independent fields sit in slab 0's (unused)
 * record, before its limit field, which stays 0: slab i's record is at
 * base + 64 * i.  Every field below the records belongs to the pool (the
 * lock of its arena), except the run table entries of a run in a thread's run cache,
 * which that thread writes when it splits the run. */
#define SS_LISTS 3          /* avail, bin, dirty: see superslab.c */
typedef struct ss_link { struct superslab *next, *prev; } ss_link_t;

#define RUN_PAGES  0x3ffu   /* run[page], at a large run's first page: its length */
#define RUN_LIVE   0x4000u  /* handed out (in use or in a thread's run cache: then MARK_RUN in its memory) */

typedef struct superslab {
  union {
    struct {
      region_hdr_t       hdr;
      uint32_t           free_mask;   /* bit i: slab i's pages are all free */
      uint16_t           free_pages;
      uint16_t           max_run;     /* longest run of free pages */
      uint8_t            bin;         /* the bin list it is on: by max_run */
      uint8_t            lists;       /* bit i: on list i; bit SS_LISTS: filed as wholly free (superslab.c) */
      uint8_t            arena;       /* the pool arena it belongs to (superslab.c) */
    };
    slab_meta_t          slabs[SLABS_PER_SS];
  };
  ss_link_t link[SS_LISTS];
  uint64_t  dirty_first, dirty_last;        /* when the oldest and newest dirty pages were freed */
  uint32_t  dirty_by;                       /* hak_tls_serial of the thread that freed its newest dirty pages */
  uint64_t  purge_at;                       /* when the purge clock looks at it next */
  uint64_t  free_map[PAGES_PER_SS / 64];    /* bit: the page is free */
  uint64_t  dirty_map[PAGES_PER_SS / 64];   /* bit: free, and resident since (not purged) */
  uint64_t  exch_map[PAGES_PER_SS / 64];    /* bit: free, purged ahead of the clock (exchange, thread exit: superslab.c) */
  uint64_t  parked[SLABS_PER_SS];           /* bit i: block i of the slab is parked (tiny.c); the slab's owner writes it */
  uint16_t  run[PAGES_PER_SS];
} superslab_t;

#define SLAB_FIRST 1   /* slab 0 is the header */
_Static_assert(offsetof(slab_meta_t, limit) >= 32, "SuperSlab fields overlap slab 0's limit");
_Static_assert(sizeof(superslab_t) <= SLAB_SIZE, "the header fits in slab 0");

typedef struct huge_hdr {
  region_hdr_t hdr;
  void        *base;      /* start of the mapping (this header) */
  size_t       map_size;  /* bytes mapped */
  void        *user;      /* the pointer handed out */
} huge_hdr_t;

/* --------------------------------------------------------------- registry */

#define REG_LEAF_BITS 13
#define REG_TOP_BITS  (48 - SS_SHIFT - REG_LEAF_BITS)   /* covers 48-bit addresses */
#define REG_HUGE_TAG  ((uintptr_t)1)   /* a huge region's entry is its header | 1 */

/* An entry: 0, a SuperSlab's base, or a huge header tagged with REG_HUGE_TAG,
 * so that "is p in a SuperSlab" is one comparison with p's 2 MiB base. */
typedef _Atomic(uintptr_t) reg_entry_t;
extern _Atomic(reg_entry_t *) hak_reg_top[1u << REG_TOP_BITS];

/* The registry entry of p's chunk; never reads memory that may be unmapped.
 * Bits above 48 are masked off rather than tested: no pointer hakmem handed
 * out has them, and an alias of a region's chunk still fails the callers'
 * block checks. */
static inline uintptr_t registry_lookup(const void *p) {
  uintptr_t idx = (uintptr_t)p >> SS_SHIFT;
  uintptr_t top = (idx >> REG_LEAF_BITS) & ((1u << REG_TOP_BITS) - 1);
  reg_entry_t *leaf = atomic_load_explicit(&hak_reg_top[top], memory_order_acquire);
  if (UNLIKELY(leaf == NULL)) return 0;
  return atomic_load_explicit(&leaf[idx & ((1u << REG_LEAF_BITS) - 1)], memory_order_acquire);
}
static inline huge_hdr_t *registry_huge(uintptr_t e) {
  return (e & REG_HUGE_TAG) ? (huge_hdr_t *)(e & ~REG_HUGE_TAG) : NULL;
}
bool registry_set(void *base, size_t size, uintptr_t entry);   /* false: out of memory */
void registry_clear(void *base, size_t size);

/* ----------------------------------------------------- free-list links */

/* Free small blocks are chained through their first word.  The link is
 * stored as next ^ link_mask(its own address), glibc's safe-linking (since
 * 2.32): a write after free that plants an address cannot make malloc
 * return it without knowing where the block lies, and the decoded link
 * must be 16-byte aligned (or, on a slab's own lists, a block of that
 * slab), so most stray writes are caught.  NULL is stored encoded too: a
 * zeroed word is not an end of list.  In the first page of a slab (bits 12
 * to 15 of the address zero) the mask's low 4 bits are zero, so an aligned
 * planted address passes the alignment check there; malloc then follows it
 * and faults, or finds no free mark (it never hands it out).  Setting those
 * bits (mask | 15) closes that, but the one `or` more on malloc's and
 * free's paths cost 3..7% on bench_random_mixed and bench_tiny_hot. */
static inline uintptr_t link_mask(const void *p) { return (uintptr_t)p >> 12; }
static inline void *link_get(const void *p) { return (void *)(*(const uintptr_t *)p ^ link_mask(p)); }
static inline void link_put(void *p, const void *next) { *(uintptr_t *)p = (uintptr_t)next ^ link_mask(p); }
__attribute__((noreturn, cold)) void hak_fatal_link(const void *p);   /* p's link decoded to garbage */
static inline void *link_next(const void *p) {   /* link_get, checked for alignment */
  void *next = link_get(p);
  if (UNLIKELY((uintptr_t)next & (MIN_ALIGN - 1))) hak_fatal_link(p);
  return next;
}

/* A free small block's second word holds a mark: hak_free_key (random, set
 * once at start-up) while it is in a thread cache, a remote list or a
 * spill batch, MARK_SLAB while it is on its slab's free list; every
 * allocation clears it.  free writes the mark without reading it (reading
 * would cost a cache miss per free of a cold block: 30% on
 * bench_random_mixed with 100,000 live blocks), so a double free is found
 * where the block is next taken: malloc's pop (the mark must be the key),
 * a refill from the slab's free list (MARK_SLAB), a flush or a collection
 * of remote frees (the key), a slab's release (every block MARK_SLAB):
 * always before the block is handed out twice.
 * The block freed last is also checked at once by free.  A live block
 * holds a mark only if the program wrote it, which it cannot know. */
extern uintptr_t hak_free_key __attribute__((visibility("hidden")));
#define MARK_SLAB (hak_free_key ^ 1)
/* A large run in a thread's run cache holds MARK_RUN in its second word
 * (large.c): kept in the run, whose first line the program writes anyway
 * once the run is reused, rather than as a flag in the SuperSlab's run
 * table, whose line every take from the cache then wrote: a cache miss on
 * a line shared with other threads' runs. */
#define MARK_RUN  (hak_free_key ^ 2)
__attribute__((noreturn, cold)) void hak_fatal_mark(const void *p);   /* p's mark is wrong */
__attribute__((noreturn, cold)) void hak_fatal_pop(const void *p);    /* p's link or mark is wrong */
static inline bool block_freed(const void *p) {
  uintptr_t w = ((const uintptr_t *)p)[1];
  return w == hak_free_key || w == MARK_SLAB;
}

/* A fork child finds the other threads' caches as they left them, between
 * any two of their stores, and flushes them: a block or run goes into a
 * cache only once its free mark is written, and its mark is cleared only
 * once it has left the cache, so that the flush never meets a cached block
 * without its mark (and aborts).  The paths that change a cache without
 * the heap's lock (which fork's prepare handler takes) keep their stores
 * in that order with this compiler barrier: it emits no instruction, and
 * x86-64 makes a thread's stores visible in program order. */
#define CACHE_ORDER() atomic_signal_fence(memory_order_seq_cst)

/* ----------------------------------------------------------- size classes */

extern const uint32_t hak_class_size[NUM_CLASSES];
#define TCACHE_SIZE 32u   /* sizeof(tcache_t) */
extern const uint16_t hak_cache_off_small[TINY_MAX + 1];   /* size -> class * sizeof(tcache_t) */

static inline unsigned size_class_compute(size_t size) {
  if (size <= 256) return size <= 16 ? 0 : (unsigned)((size + 15) >> 4) - 1;
  unsigned k = 63u - (unsigned)__builtin_clzll(size - 1);        /* 2^k < size <= 2^(k+1) */
  return 16 + (k - 8) * 8 + (unsigned)((size - 1) >> (k - 3)) - 8;
}
static inline unsigned size_class(size_t size) {   /* size <= SMALL_MAX */
  if (LIKELY(size <= TINY_MAX)) return hak_cache_off_small[size] / TCACHE_SIZE;
  return size_class_compute(size);
}

/* ------------------------------------------------------------ thread heap */

typedef struct tcache {
  void    *head;
  uint32_t room;     /* cap minus the blocks cached; 0 in the static heaps: free takes the slow path */
  uint32_t cap;
  size_t   allocs;   /* blocks handed out from this cache (statistics, on the fast path) */
  int64_t  moved;    /* blocks put in by slow paths (refills) minus those taken out (flushes):
                        frees = allocs + cached - moved, so that free counts nothing */
} tcache_t;
_Static_assert(sizeof(tcache_t) == TCACHE_SIZE, "size_class divides cache offsets by TCACHE_SIZE");

enum heap_state { HEAP_EMPTY, HEAP_LIVE, HEAP_DEAD, HEAP_SHARED };

/* Per-heap counters: written by the owner thread only, summed on demand
 * (heap_counters_sum), never on a shared cache line.  A live heap counts
 * its allocations and local frees in its caches; allocs[] and frees[] here
 * hold them only in sums and in the totals of threads without a heap. */
typedef struct heap_counters {
  size_t refills, flushes, remote_collected, adopted, orphaned;
  size_t large_allocs, large_frees;
  size_t run_splits;              /* cached runs split in two (the pool counts the runs it hands out) */
  size_t spill_pushes, spill_blocks, spill_takes;
  size_t allocs[NUM_CLASSES];
  size_t frees[NUM_CLASSES];      /* all frees, remote ones included */
  size_t remote[NUM_CLASSES];     /* frees by a thread that did not own the slab */
} heap_counters_t;

/* Counts into h, or atomically into the totals of threads without a heap
 * (static heaps: empty, dead, shared). */
#define HEAP_COUNT(h, field, n) do {                                            \
    if (LIKELY((h)->state == HEAP_LIVE)) (h)->counters.field += (n);             \
    else __atomic_fetch_add(&hak_global.heapless.field, (n), __ATOMIC_RELAXED); \
  } while (0)

#define RUN_CACHE_SLOTS 32         /* large runs a thread keeps for reuse... */
#define RUN_CACHE_PAGES 1024       /* ...up to 4 MiB in all */

#define HINT_NONE ((uintptr_t)1)   /* never equal to a 2 MiB-aligned base */
/* SuperSlabs in which the heap owns a slab, direct-mapped by address: free
 * skips the registry for them.  64 (128 MiB of SuperSlabs; a line each
 * for 8 neighbouring ones): with 8, bench_random_mixed 3000000 100000 42
 * (25 SuperSlabs) missed on most frees, 31.0 ns against 26.7, and
 * 16..32768 B 20.8 against 18.1; the same on small working sets. */
#define HINTS 64
#define HINTS_NONE { [0 ... HINTS - 1] = HINT_NONE }

/* A slab of a mid class with parked blocks (tiny.c) has its cache_off
 * pointing here, at a cache with room 0 that stays so: the owner's fast
 * free then takes the slow path, which checks the block against the mask,
 * at no cost to the fast path of other slabs. */
#define PARKED_OFF (NUM_CLASSES * TCACHE_SIZE)

typedef struct heap {
  /* SuperSlabs in which this heap owns a slab (so they cannot be unmapped
   * while named here), direct-mapped by their address: free skips the
   * registry for them.  Entries are cleared when the heap releases a slab. */
  uintptr_t       hint[HINTS];
  tcache_t        cache[NUM_CLASSES];
  tcache_t        parked_cache;        /* at PARKED_OFF: always empty with room 0 */
  int             state;
  unsigned        arena;               /* the pool arena its slabs and runs come from */
  slab_meta_t    *avail[NUM_CLASSES];  /* owned slabs that may have blocks */
  slab_meta_t    *full[NUM_CLASSES];   /* owned slabs found exhausted */
  heap_counters_t counters;
  struct { void *p; uint32_t pages, seq; } runs[RUN_CACHE_SLOTS];   /* large runs freed here, in no order; seq: when */
  struct { void *head; uint32_t count; } foreign[NUM_CLASSES];   /* blocks of others' slabs freed here, for the spill queue */
  uint8_t         flushes_since_refill[NUM_CLASSES];   /* drives the mid classes' cache bounds (tiny.c) */
  unsigned        drained_epoch;                       /* the last pool_shrink_epoch whose drain this heap did */
  unsigned        drained_frees;                       /* frees past the caches since (tiny.c: free_draining) */
  uint32_t        run_count, run_pages, run_seq;
  /* Held by the owner thread across its slow paths (refill, flush, sweep),
   * uncontended but for fork: the prepare handler takes every heap's, so a
   * fork child never finds a dead thread's slab rings half updated.  A
   * test-and-set word (heap_lock): a pthread mutex took 50 instructions
   * more per slow path, an atomic read-modify-write more to unlock (1% of
   * the python3 workload's instructions, whose drained frees each take it). */
  _Atomic int     lock;
  struct heap    *next, *prev;         /* list of live heaps, or of free heaps (next only) */
} heap_t;

_Static_assert(offsetof(heap_t, parked_cache) - offsetof(heap_t, cache) == PARKED_OFF, "PARKED_OFF is parked_cache's offset");

/* Starts out at the static empty heap, whose caches are empty with room 0:
 * the fast paths need no "initialised yet?" test. */
extern __thread heap_t *hak_tls_heap TLS_IE;
extern __thread uint32_t hak_tls_serial TLS_IE;   /* this thread's number from its first heap on (0: none), kept through its exit */
extern heap_t hak_heap_empty;
extern heap_t hak_heap_dead;

heap_t *heap_for_thread(void);          /* creates this thread's heap (or returns a static one) */
uint32_t class_cap(unsigned cls);       /* a class's initial thread cache bound */
extern bool hak_thread_hook_ok;         /* the thread-exit hook exists: heaps can be retired */
void    heap_thread_exit(void *heap);   /* thread-exit hook */
void    heap_trim_current(void);        /* malloc_trim */
void    heap_counters_sum(heap_counters_t *out);   /* every heap's, live or gone, and the heapless ones */
void    heap_fork_prepare(void);
void    heap_fork_parent(void);
void    heap_fork_child(void);

/* -------------------------------------------------------------- tiny tier */

void *tiny_alloc_slow(heap_t *h, unsigned cls);
void  tiny_free_slow(void *p, heap_t *h, slab_meta_t *m);    /* owner: cache full or double free */
void  tiny_free_remote(void *p, heap_t *h, slab_meta_t *m);  /* not the owner */
void  tiny_free_foreign(void *p);       /* a free block back to its slab, by a thread that does not own it */
void  tiny_heap_release(heap_t *h);     /* flush caches, release or orphan every slab */
void  tiny_heap_trim(heap_t *h);        /* flush caches, release every empty slab */
bool  tiny_block_parked(slab_meta_t *m, const void *p);   /* p, a block of m, is free with its page given back */
void  tiny_fork_prepare(void);
void  tiny_fork_parent(void);
void  tiny_fork_child(void);

static inline uint32_t slab_capacity(const slab_meta_t *m) { return (uint32_t)(SLAB_SIZE / hak_class_size[m->cls]); }

/* Slab of a block known to lie in a SuperSlab. */
static inline slab_meta_t *slab_of(superslab_t *ss, const void *p) {
  return (slab_meta_t *)((uintptr_t)ss + (((uintptr_t)p >> (SLAB_SHIFT - 6)) & ((SLABS_PER_SS - 1) << 6)));
}
_Static_assert(sizeof(slab_meta_t) == 64, "slab_of assumes 64-byte slab records");
/* True when p is the start of a block of slab m (false for a free slab):
 * one multiplication tests both "multiple of the block size" and "inside
 * the slab" (Lemire's divisibility test, with multiples k * size mapping
 * to k * e, e = size * div_magic mod 2^64). */
static inline bool slab_block_valid(const slab_meta_t *m, const void *p) {
  uint64_t off = (uintptr_t)p & (SLAB_SIZE - 1);
  return off * m->div_magic < m->limit;
}

/* ------------------------------------------------------ the spill queues */

extern _Atomic bool hak_multithreaded;
void     spill_push(unsigned cls, void *chain, uint32_t count);   /* count <= the class's cache bound */
uint32_t spill_take(unsigned cls, void **out);   /* a batch onto *out (NULL before); 0: none */
void     spill_drain_all(void);
void     spill_start_drainer(void);   /* from the malloc slow path only */
void     spill_quiesce(void);         /* hak_verify: the drainer idle, the queues empty */
void     spill_fork_child(void);

/* -------------------------------------------------- SuperSlabs and the pool */

slab_meta_t *pool_acquire_slab(unsigned cls, heap_t *owner);   /* NULL: out of memory */
void         pool_release_slab(slab_meta_t *m);
bool         pool_trim(void);                   /* unmap cached empty SuperSlabs */
unsigned     pool_shrink_epoch(void);           /* nonzero while most free pages are dirty: thread caches drain */
void         pool_purge_tick(void);             /* purges what is due, if anything is */
void         pool_purge_exited(uint32_t serial); /* at thread exit: the SuperSlabs it freed pages into last */
typedef struct pool_usage {
  size_t slabs, class_slabs[NUM_CLASSES];   /* slabs serving a class */
  size_t large_runs, large_bytes;           /* large runs handed out */
  size_t committed;                         /* bytes of SuperSlabs touched and not given back */
} pool_usage_t;
void         pool_usage(pool_usage_t *u);
typedef struct pool_totals {   /* figures summed over the SuperSlabs by pool_verify_ss */
  size_t used_pages, dirty_pages, large_pages, large_runs, empty;
  size_t class_slabs[NUM_CLASSES];
} pool_totals_t;
void         pool_verify_ss(superslab_t *ss, pool_totals_t *t);
void         pool_verify_totals(const pool_totals_t *t);
void         pool_fork_prepare(void);
void         pool_fork_parent(void);
void         pool_fork_child(void);
void         huge_fork_prepare(void);
void         huge_fork_parent(void);
void         huge_fork_child(void);
void         stats_fork_child(void);
#define ARENAS_MAX 8
void         pool_init(void);                   /* at start-up, before the first heap */
unsigned     pool_arenas(void);                 /* how many: heap.c spreads the heaps over them */

static inline superslab_t *ss_of(const void *p) { return (superslab_t *)((uintptr_t)p & ~(SS_SIZE - 1)); }
/* Page index of p in its SuperSlab ss. */
static inline unsigned page_of(const superslab_t *ss, const void *p) { return (unsigned)(((uintptr_t)p - (uintptr_t)ss) >> PAGE_SHIFT); }

/* ------------------------------------------------------------- large tier */

void  *pool_alloc_run(heap_t *h, unsigned pages);   /* from h's arena; NULL: out of memory */
void   pool_free_runs(void *const *runs, unsigned count, const char *func);   /* one lock hold */
bool   pool_resize_run(superslab_t *ss, unsigned page, unsigned pages);   /* in place */

void  *large_alloc(size_t size);
void   large_free(void *p, heap_t *h, superslab_t *ss, const char *func);
size_t large_usable_size(const superslab_t *ss, const void *p);   /* 0: not a live large block */
bool   large_resize(void *p, size_t size);      /* in place */
void   large_heap_flush(heap_t *h);             /* the heap's run cache back to the pool */

/* -------------------------------------------------------------- huge tier */

void  *huge_alloc(size_t size, size_t alignment, bool *zeroed);   /* zeroed: fresh pages */
bool   huge_cache_expire(uint64_t now, bool all);   /* unmaps cached mappings unused for the purge delay (all: every one); true if any */
void   huge_free(huge_hdr_t *h, void *p, const char *func);
size_t huge_usable_size(const huge_hdr_t *h);
void  *huge_realloc(huge_hdr_t *h, size_t size);   /* NULL: not done in place (block intact); may change errno */

/* ------------------------------------------------------------------- os */

size_t os_page_size(void);
void  *os_map_aligned(size_t size, size_t alignment);   /* NULL + errno ENOMEM on failure */
void   os_unmap(void *p, size_t size);
void   os_no_huge_pages(void *p, size_t size);
void   os_huge_pages(void *p, size_t size);
void   os_purge(void *p, size_t size);       /* give the pages back; they read as zero after */
uint64_t os_now_ms(void);
bool   os_remap_in_place(void *p, size_t old_size, size_t new_size);
bool   os_remap_to(void *p, size_t size, void *dest);
bool   os_secure_mode(void);
uint64_t os_random(void);
unsigned os_cpu_count(void);   /* CPUs this process may run on (1 if unknown) */
int    os_getpid(void);
char **os_environ(void);
void   os_write(int fd, const char *s, size_t n);
int    os_dup_fd(int fd);
bool   os_thread_hook_init(void (*on_exit)(void *));
void   os_thread_hook_set(void *value);
void   os_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void));
int    os_gettid(void);
bool   os_is_initial_thread(void);
void   os_wait(_Atomic uint32_t *word, uint32_t expected, unsigned timeout_ms);
void   os_wake(_Atomic uint32_t *word);
void   os_yield(void);

/* heap_t.lock (see there) */
static inline void heap_lock(heap_t *h) {
  while (UNLIKELY(atomic_exchange_explicit(&h->lock, 1, memory_order_acquire))) os_yield();   /* fork's prepare handler holds it */
}
static inline void heap_unlock(heap_t *h) { atomic_store_explicit(&h->lock, 0, memory_order_release); }
bool   os_thread_start(void *(*fn)(void *));

/* -------------------------------------------------------------- options */

enum hak_option {
  OPT_PURGE_DELAY_MS,
  OPT_THP,
  OPT_STATS,
  OPT_VERBOSE,
  OPT_BG_SPILL,
  OPT_BG_TARGET,
  OPT_BG_MAX_BATCH,
  OPT_EXIT_PURGE,
  OPT_COUNT
};
extern long hak_options[OPT_COUNT];
void options_init(void);

/* ------------------------------------------------------------ statistics */

typedef struct hak_global {
  _Atomic size_t superslabs, superslabs_peak;
  _Atomic size_t mapped, mapped_peak;       /* bytes mapped by all tiers */
  _Atomic size_t huge_count, huge_bytes, huge_allocs;
  _Atomic size_t heaps, threads_exited;
  _Atomic size_t heap_bytes;                /* mapped for heaps (never unmapped) */
  _Atomic size_t pages_purged;              /* free pages given back to the OS (MADV_DONTNEED) */
  _Atomic size_t pages_parked;              /* of those, pages of slabs in use (parked blocks: tiny.c) */
  _Atomic size_t huge_cached, huge_reused;  /* huge mappings kept after free; allocations served by one */
  _Atomic size_t spill_drained;             /* blocks returned to slabs from the spill queues */
  _Atomic size_t bg_drains, bg_drained;     /* by the drainer: drains of a class that moved blocks, and the blocks */
  heap_counters_t heapless;                 /* threads without a heap (__atomic builtins) */
} hak_global_t;
extern hak_global_t hak_global;

void stats_mapped(size_t bytes);     /* a region was mapped */
void stats_unmapped(size_t bytes);
void stats_inc_peak(_Atomic size_t *cur, _Atomic size_t *peak);

/* ---------------------------------------------------------- verification */

/* The invariant checker (verify.c): walks every region and heap and
 * reports each broken invariant with one line; returns their number.  For
 * tests, at points where no other thread is inside the allocator. */
size_t hak_verify(void);
void   verify_fail(const char *what, const void *where);
void   tiny_verify_slab(slab_meta_t *m);
void   tiny_verify_caches(heap_t *h);
void   heap_verify(void);              /* the caches of every live heap */
void   huge_verify(huge_hdr_t *h);
void   large_verify_cache(heap_t *h);

/* ---------------------------------------------------------------- errors */

/* Prints "hakmem: FUNC(): WHAT PTR" to stderr without allocating, then aborts. */
__attribute__((noreturn, cold)) void hak_fatal_pointer(const char *func, const char *what, const void *p);
void hak_warn(const char *s1, const char *s2, const char *s3);
size_t fmt_u64(char *buf, uint64_t v);
size_t fmt_hex(char *buf, uintptr_t v);

/* ------------------------------------------------------------------ init */

extern _Atomic int hak_init_state;   /* 0: not yet, 1: running, 2: done */
extern __thread bool hak_tls_initialising TLS_IE;
void hak_init_slow(void);
static inline void hak_init(void) {
  if (UNLIKELY(atomic_load_explicit(&hak_init_state, memory_order_acquire) != 2) && !hak_tls_initialising) hak_init_slow();
}

/* ---------------------------------------------------- the malloc entry points */

void *hak_alloc_big(size_t size);                          /* size > TINY_MAX */
void *hak_alloc_aligned(size_t alignment, size_t size);    /* alignment: a power of two */
size_t hak_block_size(const void *p, uintptr_t entry);     /* usable size if p is a live block, else 0 */
size_t block_size_checked(const void *p, const char *func);

/* The fail-fast layer (debug.c; HAK_DEBUG builds only): each block carries
 * a canary after the requested size and a trailer with that size. */
void  *debug_alloc(size_t size, size_t alignment, bool zero);
void   debug_free_check(void *p, const char *func);   /* aborts on a violation; marks p freed */
void  *debug_realloc(void *p, size_t size);
size_t debug_usable_size(const void *p);
__attribute__((noreturn, cold)) void hak_fail_check(const char *check, const void *p, int cls);
void  hak_free_slow(void *p, uintptr_t entry, const char *func);

/* The fast paths, inlined into both hak_malloc/hak_free and malloc/free.
 * Instruction counts: README, "Fast paths". */
/* off: the class's cache offset, cls * sizeof(tcache_t) */
static ALWAYS_INLINE void *hak_alloc_off(size_t off) {
  heap_t *h = hak_tls_heap;
  tcache_t *c = (tcache_t *)((char *)h->cache + off);
  void *p = c->head;
  if (UNLIKELY(p == NULL)) return tiny_alloc_slow(h, (unsigned)(off / sizeof(tcache_t)));
  void *next = link_get(p);
  /* one cold call for both checks, so that the fast path needs no frame */
  if (UNLIKELY(((uintptr_t)next & (MIN_ALIGN - 1)) != 0) || UNLIKELY(((uintptr_t *)p)[1] != hak_free_key)) hak_fatal_pop(p);
  c->head = next;
  CACHE_ORDER();
  ((uintptr_t *)p)[1] = 0;   /* the free mark */
  c->room++;
  c->allocs++;
  return p;
}

static ALWAYS_INLINE void *hak_alloc_class(unsigned cls) { return hak_alloc_off(cls * sizeof(tcache_t)); }

static ALWAYS_INLINE void *hak_alloc_inline(size_t size) {
  if (UNLIKELY(size > TINY_MAX)) return hak_alloc_big(size);   /* mid classes too */
  return hak_alloc_off(hak_cache_off_small[size]);
}

/* Takes one from *room; false if it was 0 (then *room wrapped: the slow
 * path gives it back).  On x86-64 one read-modify-write and a branch on
 * the borrow, where the compiler's load, test, branch, decrement and store
 * cost 3 instructions more per free. */
static ALWAYS_INLINE bool room_take(uint32_t *room) {
/* asm goto with an output operand: GCC 11, clang 11 (clang reports __GNUC__ 4) */
#if defined(__x86_64__) && ((defined(__clang__) && __clang_major__ >= 11) || (!defined(__clang__) && defined(__GNUC__) && __GNUC__ >= 11))
  __asm__ goto("subl $1, %0\n\tjb %l[none]" : "+m"(*room) : : "cc" : none);
  return true;
none:
  return false;
#else
  return (*room)-- != 0;
#endif
}

/* Whether heap h owns slab m.  Only h's thread ever stores h there, so a
 * stale value can only differ from h, and the slow path reads it again.  A
 * plain read, not a relaxed atomic load: GCC does not fold an atomic load
 * into the comparison (one instruction more on free's path).  TSan builds
 * keep the atomic load, which it can see. */
static ALWAYS_INLINE bool slab_owned_by(const slab_meta_t *m, const heap_t *h) {
#if defined(__SANITIZE_THREAD__)
  return atomic_load_explicit(&m->owner, memory_order_relaxed) == h;
#else
  return *(struct heap *const *)&m->owner == h;
#endif
}

/* Frees block p of slab m, which heap h owns: onto the thread cache (p
 * carries the free mark already). */
static ALWAYS_INLINE void hak_free_owned(heap_t *h, slab_meta_t *m, void *p) {
  if (HAK_DEBUG && atomic_load_explicit(&m->owner, memory_order_relaxed) != h)
    hak_fail_check("block pushed onto the list of a thread that does not own its slab", p, m->cls);
  tcache_t *c = (tcache_t *)((char *)h->cache + m->cache_off);
  void *head = c->head;
  if (UNLIKELY(p == head) || UNLIKELY(!room_take(&c->room))) { tiny_free_slow(p, h, m); return; }
  link_put(p, head);
  c->head = p;
}

/* Checks p against slab m's blocks and owner, then frees it. */
static ALWAYS_INLINE void hak_free_in_slab(heap_t *h, slab_meta_t *m, void *p, const char *func) {
  if (UNLIKELY(!slab_block_valid(m, p))) { large_free(p, h, ss_of(p), func); return; }   /* a large run, or invalid */
  ((uintptr_t *)p)[1] = hak_free_key;   /* written, not read: see block_freed */
  CACHE_ORDER();
  if (UNLIKELY(!slab_owned_by(m, h))) { tiny_free_remote(p, h, m); return; }
  hak_free_owned(h, m, p);
}

void hak_free_unhinted(void *p, heap_t *h, const char *func);   /* the registry path (p first in the slow paths of free: it arrives in the first argument register and stays there) */

static ALWAYS_INLINE void hak_free_inline(void *p, const char *func) {
  heap_t *h = hak_tls_heap;
  uintptr_t base = (uintptr_t)p & ~(SS_SIZE - 1);
  /* A hinted SuperSlab cannot be unmapped meanwhile (this heap owns a slab
   * in it); anything else goes through the registry before a header is
   * read. */
  if (UNLIKELY(base != h->hint[(base >> SS_SHIFT) & (HINTS - 1)])) { hak_free_unhinted(p, h, func); return; }
  hak_free_in_slab(h, slab_of((superslab_t *)base, p), p, func);
}

#endif

/* Per-thread heaps: the thread caches of the small classes and the slabs
 * the thread owns.
 *
 * A thread's heap is created on its first allocation that misses the
 * (empty, static) initial heap, registered with the thread-exit hook, and
 * kept on a list of live heaps so that a fork child can take back the
 * memory of the threads that did not survive.  At thread exit its caches go
 * back to the slabs, its slabs are released or orphaned, the heap is
 * recycled for later threads, and the thread continues on the static dead
 * heap: its later calls (other libraries' exit-time destructors) are served
 * by the shared heap. */
#include "internal.h"

#include <string.h>

heap_t hak_heap_empty = { .state = HEAP_EMPTY, .hint = HINTS_NONE };
heap_t hak_heap_dead = { .state = HEAP_DEAD, .hint = HINTS_NONE };
__thread heap_t *hak_tls_heap TLS_IE = &hak_heap_empty;
__thread uint32_t hak_tls_serial TLS_IE;
static uint32_t last_serial;    /* heaps_lock */

static pthread_mutex_t heaps_lock = PTHREAD_MUTEX_INITIALIZER;
static heap_t  *live_heaps;
static heap_t  *free_heaps;
static uint8_t *chunk;          /* heaps are carved from page-aligned chunks, never unmapped */
static size_t   chunk_left;

#define HEAP_CHUNK_SIZE ((size_t)64 << 10)

/* Thread cache bound of a class to start with: about 64 KiB of blocks,
 * 4..256 blocks (tiny.c raises the mid classes' while they churn). */
uint32_t class_cap(unsigned cls) {
  uint32_t cap = (uint32_t)(65536 / hak_class_size[cls]);
  return cap < 4 ? 4 : cap > 256 ? 256 : cap;
}

static unsigned arena_heaps[ARENAS_MAX];   /* live heaps per pool arena (heaps_lock) */

/* The arena with the fewest live heaps: threads that run at the same time
 * mostly get arenas of their own. */
static unsigned arena_pick_locked(void) {
  unsigned best = 0, n = pool_arenas();
  for (unsigned i = 1; i < n; i++)
    if (arena_heaps[i] < arena_heaps[best]) best = i;
  arena_heaps[best]++;
  return best;
}

static heap_t *heap_new_locked(void) {
  heap_t *h = free_heaps;
  if (h != NULL) {
    free_heaps = h->next;
    return h;
  }
  size_t need = align_up(sizeof(heap_t), 64);
  if (chunk_left < need) {
    uint8_t *c = os_map_aligned(HEAP_CHUNK_SIZE, os_page_size());
    if (c == NULL) return NULL;
    stats_mapped(HEAP_CHUNK_SIZE);
    atomic_fetch_add_explicit(&hak_global.heap_bytes, HEAP_CHUNK_SIZE, memory_order_relaxed);
    chunk = c;
    chunk_left = HEAP_CHUNK_SIZE;
  }
  h = (heap_t *)chunk;
  chunk += need;
  chunk_left -= need;
  return h;
}

static void live_remove(heap_t *h) {
  if (h->prev) h->prev->next = h->next; else live_heaps = h->next;
  if (h->next) h->next->prev = h->prev;
}

static __thread bool tls_exited TLS_IE;

heap_t *heap_for_thread(void) {
  hak_init();
  if (hak_tls_heap->state == HEAP_LIVE) return hak_tls_heap;
  if (tls_exited || !hak_thread_hook_ok) return hak_tls_heap = &hak_heap_dead;
  pthread_mutex_lock(&heaps_lock);
  heap_t *h = heap_new_locked();
  if (h == NULL) {
    pthread_mutex_unlock(&heaps_lock);
    return &hak_heap_empty;   /* no memory: this call is served without a cache */
  }
  memset(h, 0, sizeof *h);
  atomic_store_explicit(&h->lock, 0, memory_order_relaxed);
  for (unsigned i = 0; i < NUM_CLASSES; i++) h->cache[i].cap = h->cache[i].room = class_cap(i);
  for (unsigned i = 0; i < HINTS; i++) h->hint[i] = HINT_NONE;
  h->state = HEAP_LIVE;
  h->arena = arena_pick_locked();
  if (hak_tls_serial == 0) {
    if (++last_serial == 0) last_serial = 1;   /* after a wrap, a stale match only purges early */
    hak_tls_serial = last_serial;
  }
  h->prev = NULL;
  h->next = live_heaps;
  if (live_heaps) live_heaps->prev = h;
  live_heaps = h;
  pthread_mutex_unlock(&heaps_lock);
  atomic_fetch_add_explicit(&hak_global.heaps, 1, memory_order_relaxed);
  if (!atomic_load_explicit(&hak_multithreaded, memory_order_relaxed) && !os_is_initial_thread())
    atomic_store_explicit(&hak_multithreaded, true, memory_order_relaxed);
  hak_tls_heap = h;          /* before the hook: setting it may allocate, and must find the heap */
  os_thread_hook_set(h);
  return h;
}

static heap_counters_t retired;   /* totals of the heaps whose threads exited (heaps_lock) */

/* Adds heap h's counters, its caches' included, to *out (for a live heap,
 * a racy snapshot: see heap_counters_sum).  A class's frees are derived
 * from four words that the owner's slow paths update one after another
 * (allocations + blocks cached - blocks moved in by refills and out by
 * flushes), so a snapshot taken while that thread refills or flushes may
 * be off by up to a cache's worth of blocks; at rest, and for threads that
 * exited, it is exact (the tests read it at rest). */
__attribute__((no_sanitize("thread")))
static void counters_add(heap_counters_t *out, const heap_t *h) {
  const size_t *c = (const size_t *)&h->counters;
  size_t *o = (size_t *)out;
  for (size_t i = 0; i < sizeof *out / sizeof(size_t); i++) o[i] += c[i];
  for (unsigned i = 0; i < NUM_CLASSES; i++) {
    const tcache_t *tc = &h->cache[i];
    out->allocs[i] += tc->allocs;
    out->frees[i] += tc->allocs + (tc->cap - tc->room) - (size_t)tc->moved + h->counters.remote[i];
  }
}

/* Reads other threads' counters while they write them (a snapshot, each
 * word read whole): the race is intended, and kept out of ThreadSanitizer's
 * reports here rather than made atomic on the fast path. */
__attribute__((no_sanitize("thread")))
void heap_counters_sum(heap_counters_t *out) {
  size_t *o = (size_t *)out;
  const size_t *hl = (const size_t *)&hak_global.heapless;
  for (size_t i = 0; i < sizeof *out / sizeof(size_t); i++) o[i] = __atomic_load_n(&hl[i], __ATOMIC_RELAXED);
  for (unsigned i = 0; i < NUM_CLASSES; i++) out->frees[i] += out->remote[i];
  pthread_mutex_lock(&heaps_lock);
  const size_t *r = (const size_t *)&retired;
  for (size_t i = 0; i < sizeof *out / sizeof(size_t); i++) o[i] += r[i];
  for (heap_t *h = live_heaps; h != NULL; h = h->next) counters_add(out, h);
  pthread_mutex_unlock(&heaps_lock);
}

/* A heap whose thread is gone: its memory goes back (slabs released or
 * orphaned), its counters into the totals, and the heap to the free list. */
static void heap_retire(heap_t *h) {
  tiny_heap_release(h);
  large_heap_flush(h);
  pthread_mutex_lock(&heaps_lock);
  counters_add(&retired, h);
  live_remove(h);
  arena_heaps[h->arena]--;
  h->state = HEAP_DEAD;
  h->next = free_heaps;
  free_heaps = h;
  pthread_mutex_unlock(&heaps_lock);
}

void heap_thread_exit(void *arg) {
  heap_t *h = arg;
  hak_tls_heap = &hak_heap_dead;
  tls_exited = true;
  heap_retire(h);
  if (hak_options[OPT_EXIT_PURGE]) pool_purge_exited(hak_tls_serial);
  atomic_fetch_add_explicit(&hak_global.threads_exited, 1, memory_order_relaxed);
}

/* malloc_trim: the calling thread's caches, its empty slabs and cached runs,
 * and emptied orphans. */
void heap_trim_current(void) {
  tiny_heap_trim(hak_tls_heap);
  large_heap_flush(hak_tls_heap);
}

/* fork: every lock is taken in a fixed order: the heap list, each heap,
 * the shared heap, the orphan rings, the pool, the huge tier's cache (the
 * statistics' locks guard scratch buffers only: the child reinitialises
 * them) */
void heap_fork_prepare(void) {
  pthread_mutex_lock(&heaps_lock);
  for (heap_t *h = live_heaps; h != NULL; h = h->next) heap_lock(h);
  tiny_fork_prepare();
  pool_fork_prepare();
  huge_fork_prepare();
}

void heap_fork_parent(void) {
  huge_fork_parent();
  pool_fork_parent();
  tiny_fork_parent();
  for (heap_t *h = live_heaps; h != NULL; h = h->next) heap_unlock(h);
  pthread_mutex_unlock(&heaps_lock);
}

/* In the child only the forking thread lives on: the other threads' cached
 * blocks go back to their slabs and their heaps are recycled. */
void heap_fork_child(void) {
  huge_fork_child();
  stats_fork_child();
  pool_fork_child();
  tiny_fork_child();
  pthread_mutex_init(&heaps_lock, NULL);
  for (heap_t *h = live_heaps; h != NULL; h = h->next) atomic_store_explicit(&h->lock, 0, memory_order_relaxed);
  heap_t *self = hak_tls_heap;
  heap_t *h = live_heaps;
  while (h != NULL) {
    heap_t *next = h->next;
    if (h != self) heap_retire(h);
    h = next;
  }
}

/* Every live heap's caches (verify.c). */
void heap_verify(void) {
  pthread_mutex_lock(&heaps_lock);
  for (heap_t *h = live_heaps; h != NULL; h = h->next) {
    if (h->state != HEAP_LIVE) verify_fail("heap on the live list, not live", h);
    tiny_verify_caches(h);
    large_verify_cache(h);
  }
  pthread_mutex_unlock(&heaps_lock);
}

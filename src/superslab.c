/* SuperSlabs and the shared slab pool.
 *
 * A SuperSlab is a 2 MiB region aligned to 2 MiB, cut into 32 slabs of
 * 64 KiB; its header (superslab_t) takes slab 0, whose untouched pages cost
 * no memory.  Slabs are not tied to a class: the pool hands any free slab
 * to the heap and class that ask, and takes it back when it empties.  One
 * wholly free SuperSlab stays mapped to absorb churn; further ones go back
 * to the OS at once.
 *
 * A released slab keeps its pages for HAKMEM_PURGE_DELAY_MS, so that memory
 * reused soon costs no page faults; the slabs waiting are queued in release
 * order, and every pool operation purges (MADV_DONTNEED) those whose delay
 * has passed.  No background thread: a process that stops calling into the
 * pool keeps what it had until its next call or malloc_trim. */
#include "internal.h"

#include <errno.h>

#define EMPTY_SS_KEPT 1

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static superslab_t *avail;        /* SuperSlabs with a free slab; wholly free ones at the tail */
static superslab_t *avail_tail;
static unsigned     empty_count;  /* wholly free SuperSlabs still mapped */
static size_t       class_slabs[NUM_CLASSES];   /* slabs in use per class (pool lock) */
static slab_meta_t *dirty_head, *dirty_tail;    /* free slabs with resident pages, oldest first */

#define ALL_SLABS (0xffffffffu & ~((1u << SLAB_FIRST) - 1))
#define USABLE_SLABS (SLABS_PER_SS - SLAB_FIRST)

static void avail_remove(superslab_t *ss) {
  if (ss->prev) ss->prev->next = ss->next; else avail = ss->next;
  if (ss->next) ss->next->prev = ss->prev; else avail_tail = ss->prev;
  ss->next = ss->prev = NULL;
}

static void avail_push_front(superslab_t *ss) {
  ss->prev = NULL;
  ss->next = avail;
  if (avail) avail->prev = ss; else avail_tail = ss;
  avail = ss;
}

static void avail_push_back(superslab_t *ss) {
  ss->next = NULL;
  ss->prev = avail_tail;
  if (avail_tail) avail_tail->next = ss; else avail = ss;
  avail_tail = ss;
}

static superslab_t *superslab_map(void) {
  superslab_t *ss = os_map_aligned(SS_SIZE, SS_SIZE);
  if (ss == NULL) return NULL;
  os_no_huge_pages(ss, SS_SIZE);
  ss->hdr.magic = REGION_MAGIC;
  ss->hdr.kind = REGION_SUPERSLAB;
  ss->free_mask = ALL_SLABS;
  ss->nfree = USABLE_SLABS;
  /* Fresh pages are zero: every slab has limit 0, so it counts as free. */
  if (!registry_set(ss, SS_SIZE, (uintptr_t)ss)) {
    os_unmap(ss, SS_SIZE);
    errno = ENOMEM;
    return NULL;
  }
  stats_mapped(SS_SIZE);
  stats_inc_peak(&hak_stats.superslabs, &hak_stats.superslabs_peak);
  return ss;
}

static void dirty_remove(slab_meta_t *m) {
  if (m->prev) m->prev->next = m->next; else dirty_head = m->next;
  if (m->next) m->next->prev = m->prev; else dirty_tail = m->prev;
  m->next = m->prev = NULL;
  m->dirty = 0;
}

static void dirty_push(slab_meta_t *m, uint64_t now) {
  m->released_ms = now;
  m->dirty = 1;
  m->next = NULL;
  m->prev = dirty_tail;
  if (dirty_tail) dirty_tail->next = m; else dirty_head = m;
  dirty_tail = m;
}

static uint8_t *slab_pages(slab_meta_t *m) {
  superslab_t *ss = (superslab_t *)((uintptr_t)m & ~(SS_SIZE - 1));
  return (uint8_t *)ss + (size_t)(m - ss->slabs) * SLAB_SIZE;
}

/* Purges the free slabs released at least delay_ms before now. */
static void purge_expired(uint64_t now, uint64_t delay_ms) {
  while (dirty_head != NULL && now - dirty_head->released_ms >= delay_ms) {
    slab_meta_t *m = dirty_head;
    dirty_remove(m);
    os_purge(slab_pages(m), SLAB_SIZE);
    atomic_fetch_add_explicit(&hak_stats.slabs_purged, 1, memory_order_relaxed);
  }
}

static void superslab_unmap(superslab_t *ss) {
  for (unsigned i = SLAB_FIRST; i < SLABS_PER_SS; i++)
    if (ss->slabs[i].dirty) dirty_remove(&ss->slabs[i]);
  registry_clear(ss, SS_SIZE);
  os_unmap(ss, SS_SIZE);
  stats_unmapped(SS_SIZE);
  atomic_fetch_sub_explicit(&hak_stats.superslabs, 1, memory_order_relaxed);
}

static void slab_init(slab_meta_t *m, unsigned cls, heap_t *owner) {
  uint32_t bs = hak_class_size[cls];
  m->free = NULL;
  atomic_store_explicit(&m->remote, NULL, memory_order_relaxed);
  m->div_magic = UINT64_MAX / bs + 1;
  m->used = 0;
  m->carved = 0;
  m->cls = (uint8_t)cls;
  m->cache_off = (uint16_t)(cls * sizeof(tcache_t));
  m->full = 0;
  m->next = m->prev = NULL;
  /* multiples k * bs map to k * e under the multiplication (see slab_block_valid) */
  uint32_t e = (uint32_t)(bs * m->div_magic);   /* 0 for powers of two: every multiple is a block */
  m->limit = e ? (uint64_t)slab_capacity(m) * e : 1;
  atomic_store_explicit(&m->owner, owner, memory_order_release);
}

slab_meta_t *pool_acquire_slab(unsigned cls, heap_t *owner) {
  pthread_mutex_lock(&pool_lock);
  superslab_t *ss = avail;
  if (ss == NULL) {
    ss = superslab_map();
    if (ss == NULL) { pthread_mutex_unlock(&pool_lock); return NULL; }
    avail_push_front(ss);
  } else if (ss->nfree == USABLE_SLABS) {
    empty_count--;
  }
  unsigned idx = (unsigned)__builtin_ctz(ss->free_mask);
  ss->free_mask &= ~(1u << idx);
  if (--ss->nfree == 0) avail_remove(ss);
  if (ss->slabs[idx].dirty) dirty_remove(&ss->slabs[idx]);
  slab_init(&ss->slabs[idx], cls, owner);
  class_slabs[cls]++;
  purge_expired(os_now_ms(), (uint64_t)hak_options[OPT_PURGE_DELAY_MS]);
  pthread_mutex_unlock(&pool_lock);
  return &ss->slabs[idx];
}

void pool_release_slab(slab_meta_t *m) {
  superslab_t *ss = (superslab_t *)((uintptr_t)m & ~(SS_SIZE - 1));
  unsigned idx = (unsigned)(m - ss->slabs);
  pthread_mutex_lock(&pool_lock);
  m->limit = 0;   /* from now on, a free of a block of this slab is caught */
  m->free = NULL;
  atomic_store_explicit(&m->owner, NULL, memory_order_relaxed);
  class_slabs[m->cls]--;
  uint64_t now = os_now_ms();
  dirty_push(m, now);
  ss->free_mask |= 1u << idx;
  if (ss->nfree++ == 0) avail_push_front(ss);
  if (ss->nfree == USABLE_SLABS) {
    avail_remove(ss);
    if (empty_count >= EMPTY_SS_KEPT) {
      superslab_unmap(ss);
    } else {
      empty_count++;
      avail_push_back(ss);
    }
  }
  purge_expired(now, (uint64_t)hak_options[OPT_PURGE_DELAY_MS]);
  pthread_mutex_unlock(&pool_lock);
}

bool pool_trim(void) {
  bool released = false;
  pthread_mutex_lock(&pool_lock);
  while (avail_tail && avail_tail->nfree == USABLE_SLABS) {
    superslab_t *ss = avail_tail;
    avail_remove(ss);
    empty_count--;
    superslab_unmap(ss);
    released = true;
  }
  if (dirty_head != NULL) released = true;
  purge_expired(UINT64_MAX, 0);   /* malloc_trim: everything free goes back now */
  pthread_mutex_unlock(&pool_lock);
  return released;
}

/* Slabs serving each class (into per_class, if not NULL); returns the total. */
size_t pool_slabs_in_use(size_t per_class[NUM_CLASSES]) {
  size_t total = 0;
  pthread_mutex_lock(&pool_lock);
  for (unsigned i = 0; i < NUM_CLASSES; i++) {
    total += class_slabs[i];
    if (per_class != NULL) per_class[i] = class_slabs[i];
  }
  pthread_mutex_unlock(&pool_lock);
  return total;
}

void pool_fork_prepare(void) { pthread_mutex_lock(&pool_lock); }
void pool_fork_parent(void) { pthread_mutex_unlock(&pool_lock); }
void pool_fork_child(void) { pthread_mutex_init(&pool_lock, NULL); }

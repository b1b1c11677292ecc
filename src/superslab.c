/* SuperSlabs and the shared slab pool.
 *
 * A SuperSlab is a 2 MiB region aligned to 2 MiB, cut into 32 slabs of
 * 64 KiB; its header (this file's superslab_t) sits at the start of slab 0,
 * which therefore holds fewer blocks.  Slabs are not tied to a class: the
 * pool hands any free slab to the class that asks, and takes it back when
 * the class no longer needs it.  One wholly free SuperSlab stays mapped to
 * absorb churn; further ones go back to the OS at once. */
#include "internal.h"

#include <errno.h>

#define EMPTY_SS_KEPT 1

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static superslab_t *avail;        /* SuperSlabs with a free slab; wholly free ones at the tail */
static superslab_t *avail_tail;
static unsigned     empty_count;  /* wholly free SuperSlabs still mapped */

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
  ss->hdr.magic = REGION_MAGIC;
  ss->hdr.kind = REGION_SUPERSLAB;
  ss->free_mask = 0xffffffffu;
  ss->nfree = SLABS_PER_SS;
  /* Fresh pages are zero: every slab has span 0, so it counts as free. */
  if (!registry_set(ss, SS_SIZE, &ss->hdr)) {
    os_unmap(ss, SS_SIZE);
    errno = ENOMEM;
    return NULL;
  }
  stats_mapped(SS_SIZE);
  stats_inc_peak(&hak_stats.superslabs, &hak_stats.superslabs_peak);
  return ss;
}

static void superslab_unmap(superslab_t *ss) {
  registry_clear(ss, SS_SIZE);
  os_unmap(ss, SS_SIZE);
  stats_unmapped(SS_SIZE);
  atomic_fetch_sub_explicit(&hak_stats.superslabs, 1, memory_order_relaxed);
}

static void slab_init(superslab_t *ss, unsigned idx, unsigned cls) {
  slab_meta_t *m = &ss->slabs[idx];
  uint8_t *start = (uint8_t *)ss + (size_t)idx * SLAB_SIZE;
  if (idx == 0) start += SS_HEADER_SIZE;
  size_t avail_bytes = (size_t)((uint8_t *)ss + (size_t)(idx + 1) * SLAB_SIZE - start);
  uint32_t bs = hak_class_size[cls];
  m->free = NULL;
  m->start = start;
  m->block_size = bs;
  m->capacity = (uint16_t)(avail_bytes / bs);
  m->span = (uint32_t)m->capacity * bs;
  m->div_magic = UINT64_MAX / bs + 1;
  m->used = 0;
  m->carved = 0;
  m->cls = (uint8_t)cls;
  m->in_partial = 0;
  m->next = m->prev = NULL;
}

slab_meta_t *pool_acquire_slab(unsigned cls) {
  pthread_mutex_lock(&pool_lock);
  superslab_t *ss = avail;
  if (ss == NULL) {
    ss = superslab_map();
    if (ss == NULL) { pthread_mutex_unlock(&pool_lock); return NULL; }
    avail_push_front(ss);
  } else if (ss->nfree == SLABS_PER_SS) {
    empty_count--;
  }
  unsigned idx = (unsigned)__builtin_ctz(ss->free_mask);
  ss->free_mask &= ~(1u << idx);
  if (--ss->nfree == 0) avail_remove(ss);
  slab_init(ss, idx, cls);
  pthread_mutex_unlock(&pool_lock);
  return &ss->slabs[idx];
}

void pool_release_slab(slab_meta_t *m) {
  superslab_t *ss = (superslab_t *)((uintptr_t)m & ~(SS_SIZE - 1));
  unsigned idx = (unsigned)(m - ss->slabs);
  pthread_mutex_lock(&pool_lock);
  m->span = 0;   /* from now on, a free of a block of this slab is caught */
  m->free = NULL;
  ss->free_mask |= 1u << idx;
  if (ss->nfree++ == 0) avail_push_front(ss);
  if (ss->nfree == SLABS_PER_SS) {
    avail_remove(ss);
    if (empty_count >= EMPTY_SS_KEPT) {
      superslab_unmap(ss);
    } else {
      empty_count++;
      avail_push_back(ss);
    }
  }
  pthread_mutex_unlock(&pool_lock);
}

bool pool_trim(void) {
  bool released = false;
  pthread_mutex_lock(&pool_lock);
  while (avail_tail && avail_tail->nfree == SLABS_PER_SS) {
    superslab_t *ss = avail_tail;
    avail_remove(ss);
    empty_count--;
    superslab_unmap(ss);
    released = true;
  }
  pthread_mutex_unlock(&pool_lock);
  return released;
}

void pool_fork_prepare(void) { pthread_mutex_lock(&pool_lock); }
void pool_fork_parent(void) { pthread_mutex_unlock(&pool_lock); }
void pool_fork_child(void) { pthread_mutex_init(&pool_lock, NULL); }

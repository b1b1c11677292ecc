/* The slab size classes (tiny up to TINY_MAX, mid up to SMALL_MAX): the
 * per-class central lists of slabs and the batch refill and flush between
 * them and the thread caches.
 *
 * Each class has a lock and a list of its slabs that still have free or
 * never-used ("uncarved") blocks.  A thread cache refills a batch at a time
 * (carving fresh slabs by bumping a pointer, without building a free list
 * up front) and flushes its colder half when it overflows.  A slab whose
 * blocks have all come back goes to the shared pool, unless it is its
 * class's last slab with room (kept to avoid ping-pong). */
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

/* Class of a size <= TINY_MAX, indexed by (size + 15) / 16. */
const uint8_t hak_class_of_small[TINY_MAX / 16 + 1] = {
  0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
  15, 16, 16, 17, 17, 18, 18, 19, 19, 20, 20, 21, 21, 22, 22, 23,
  23, 24, 24, 24, 24, 25, 25, 25, 25, 26, 26, 26, 26, 27, 27, 27,
  27, 28, 28, 28, 28, 29, 29, 29, 29, 30, 30, 30, 30, 31, 31, 31,
  31,
};

typedef struct class_state {
  pthread_mutex_t lock;
  slab_meta_t    *partial;    /* slabs with room */
  size_t          npartial;
  _Atomic size_t  bytes_out;  /* bytes of blocks out of slabs (in use or cached) */
} __attribute__((aligned(64))) class_state_t;

static class_state_t classes[NUM_CLASSES];

static void partial_push(class_state_t *k, slab_meta_t *m) {
  m->prev = NULL;
  m->next = k->partial;
  if (k->partial) k->partial->prev = m;
  k->partial = m;
  m->in_partial = 1;
  k->npartial++;
}

static void partial_remove(class_state_t *k, slab_meta_t *m) {
  if (m->prev) m->prev->next = m->next; else k->partial = m->next;
  if (m->next) m->next->prev = m->prev;
  m->next = m->prev = NULL;
  m->in_partial = 0;
  k->npartial--;
}

/* Takes up to want blocks of class cls out of its slabs, as a chain linked
 * through the blocks' first word; returns the count (0: out of memory). */
static uint32_t central_take(unsigned cls, uint32_t want, void **head_out) {
  class_state_t *k = &classes[cls];
  void *head = NULL;
  uint32_t n = 0;
  pthread_mutex_lock(&k->lock);
  while (n < want) {
    slab_meta_t *m = k->partial;
    if (m == NULL) {
      m = pool_acquire_slab(cls);
      if (m == NULL) break;
      partial_push(k, m);
    }
    while (n < want && m->free != NULL) {
      void *p = m->free;
      m->free = *(void **)p;
      *(void **)p = head;
      head = p;
      m->used++;
      n++;
    }
    while (n < want && m->carved < m->capacity) {
      void *p = m->start + (size_t)m->carved * m->block_size;
      m->carved++;
      *(void **)p = head;
      head = p;
      m->used++;
      n++;
    }
    if (m->free == NULL && m->carved == m->capacity) partial_remove(k, m);
  }
  atomic_fetch_add_explicit(&k->bytes_out, (size_t)n * hak_class_size[cls], memory_order_relaxed);
  pthread_mutex_unlock(&k->lock);
  *head_out = head;
  return n;
}

/* Returns a chain of blocks of class cls (NULL-terminated) to their slabs. */
static void central_give(unsigned cls, void *chain) {
  class_state_t *k = &classes[cls];
  size_t n = 0;
  pthread_mutex_lock(&k->lock);
  while (chain != NULL) {
    void *p = chain;
    chain = *(void **)p;
    superslab_t *ss = (superslab_t *)((uintptr_t)p & ~(SS_SIZE - 1));
    slab_meta_t *m = slab_of(ss, p);
    *(void **)p = m->free;
    m->free = p;
    m->used--;
    n++;
    if (!m->in_partial) partial_push(k, m);
    if (m->used == 0 && k->npartial > 1) {
      partial_remove(k, m);
      pool_release_slab(m);
    }
  }
  atomic_fetch_sub_explicit(&k->bytes_out, n * hak_class_size[cls], memory_order_relaxed);
  pthread_mutex_unlock(&k->lock);
}

void tiny_cache_flush(tcache_t *c, unsigned cls, uint32_t keep) {
  void *chain;
  if (keep == 0) {
    chain = c->head;
    c->head = NULL;
  } else {
    void *last = c->head;   /* the list head holds the most recently freed, warmest blocks */
    for (uint32_t i = 1; i < keep && last != NULL; i++) last = *(void **)last;
    if (last == NULL) return;
    chain = *(void **)last;
    *(void **)last = NULL;
  }
  c->count = keep < c->count ? keep : c->count;
  if (chain == NULL) return;
  atomic_fetch_add_explicit(&hak_stats.flushes, 1, memory_order_relaxed);
  central_give(cls, chain);
}

void *tiny_alloc_slow(heap_t *h, unsigned cls) {
  if (h->state != HEAP_LIVE) h = heap_for_thread();
  void *p;
  if (UNLIKELY(h->state != HEAP_LIVE)) {
    /* No heap (thread exit, or no memory for one): one block at a time. */
    if (central_take(cls, 1, &p) == 0) { errno = ENOMEM; return NULL; }
    return p;
  }
  tcache_t *c = &h->cache[cls];
  if (c->head == NULL) {
    uint32_t n = central_take(cls, c->cap / 2 ? c->cap / 2 : 1, &c->head);
    if (n == 0) { errno = ENOMEM; return NULL; }
    c->count = n;
    atomic_fetch_add_explicit(&hak_stats.refills, 1, memory_order_relaxed);
  }
  p = c->head;
  c->head = *(void **)p;
  c->count--;
  return p;
}

void tiny_free_slow(heap_t *h, slab_meta_t *m, void *p) {
  unsigned cls = m->cls;
  if (p == h->cache[cls].head) hak_fatal_pointer("free", "double free of", p);
  if (h->state != HEAP_LIVE) h = heap_for_thread();
  if (UNLIKELY(h->state != HEAP_LIVE)) {
    *(void **)p = NULL;
    central_give(cls, p);
    return;
  }
  tcache_t *c = &h->cache[cls];
  if (c->count >= c->cap) tiny_cache_flush(c, cls, c->cap / 2);
  *(void **)p = c->head;
  c->head = p;
  c->count++;
}

size_t tiny_bytes_in_use(void) {
  size_t total = 0;
  for (unsigned i = 0; i < NUM_CLASSES; i++) total += atomic_load_explicit(&classes[i].bytes_out, memory_order_relaxed);
  return total;
}

void tiny_fork_prepare(void) {
  for (unsigned i = 0; i < NUM_CLASSES; i++) pthread_mutex_lock(&classes[i].lock);
}

void tiny_fork_parent(void) {
  for (unsigned i = NUM_CLASSES; i-- > 0;) pthread_mutex_unlock(&classes[i].lock);
}

void tiny_fork_child(void) {
  for (unsigned i = 0; i < NUM_CLASSES; i++) pthread_mutex_init(&classes[i].lock, NULL);
}

/* The spill queues (HAKMEM_TINY_BG_SPILL=1): per size class, a global
 * lock-free stack of batches of free blocks, through which blocks freed by
 * threads that do not own them reach threads that need blocks of that
 * class, without a trip through their slabs' remote lists.
 *
 * A thread gathers the foreign blocks it frees per class (tiny.c) and
 * pushes them as one batch with one CAS.  A thread whose cache is empty
 * detaches the whole stack with one exchange, keeps the first batch and
 * pushes the rest back: nothing is ever popped one block at a time, so
 * there is no ABA, and no block is read by a thread that does not hold it.
 * A queued block still counts as used in its slab, so its slab and
 * SuperSlab stay mapped while it is queued.
 *
 * The drainer, a background thread, returns the blocks of queues that no
 * thread has taken from for a round to their slabs, at most
 * HAKMEM_TINY_BG_MAX_BATCH per class and round, through each slab's remote
 * list (or its orphan lock): it owns no slab, so never touches a free list
 * an owner reads unsynchronised.  It is started by the first refill of a
 * thread cache with the queues on, once a second thread has a heap (so
 * never before main, in practice, and never in a single-threaded program),
 * sleeps on a futex while the queues are empty, has every signal blocked
 * and is detached: fork and exit never wait for it.  In a fork child it is started again when needed; batches that a
 * thread of the parent held detached at the fork (the drainer in a round,
 * a thread inside spill_take or a trim between its exchange and its push
 * back) are lost to the child: their blocks stay counted as used, so their
 * memory stays mapped, unused. */
#include "internal.h"

#include <sched.h>

#define DRAIN_INTERVAL_MS 10
#define LINK_BITS 48   /* a batch's second word: next batch | count << 48 */

typedef struct spill_queue {
  _Atomic(void *) head;     /* stack of batches */
  _Atomic size_t  takes;    /* batches taken by threads so far */
} __attribute__((aligned(64))) spill_queue_t;

static spill_queue_t queues[NUM_CLASSES];
static size_t        seen_takes[NUM_CLASSES];   /* the drainer's: takes at its last round */
static _Atomic int      drainer_state;          /* 0: not started, 1: running, 2: could not start */
static _Atomic int      drainer_idle;           /* asleep until a push wakes it */
static _Atomic uint32_t drainer_gen;            /* the futex word: changes on each wake */
_Atomic bool hak_multithreaded;                 /* a thread other than the first has a heap */

/* A batch is a chain of blocks through their first words (free-list
 * links), NULL-ended; its first block's second word links the stack and
 * holds the count, encoded like a link. */
static uintptr_t *link_of(void *b) { return (uintptr_t *)b + 1; }
static uintptr_t batch_word(void *b) { return *link_of(b) ^ link_mask(link_of(b)); }
static void *batch_next(void *b) {
  void *next = (void *)(batch_word(b) & (((uintptr_t)1 << LINK_BITS) - 1));
  if (UNLIKELY((uintptr_t)next & (MIN_ALIGN - 1))) hak_fatal_link(b);
  return next;
}
static uint32_t batch_count(void *b) { return (uint32_t)(batch_word(b) >> LINK_BITS); }
static void batch_set(void *b, void *next, uint32_t count) {
  *link_of(b) = ((uintptr_t)next | (uintptr_t)count << LINK_BITS) ^ link_mask(link_of(b));
}

static void push_stack(spill_queue_t *q, void *first, void *last) {
  uint32_t count = batch_count(last);
  void *old = atomic_load_explicit(&q->head, memory_order_relaxed);
  do {
    batch_set(last, old, count);
  } while (!atomic_compare_exchange_weak_explicit(&q->head, &old, first, memory_order_release, memory_order_relaxed));
}

/* Puts back a stack of batches that was detached. */
static void push_back(spill_queue_t *q, void *first) {
  if (first == NULL) return;
  void *none = NULL;
  if (atomic_compare_exchange_strong_explicit(&q->head, &none, first, memory_order_release, memory_order_relaxed)) return;
  void *last = first;
  while (batch_next(last) != NULL) last = batch_next(last);
  push_stack(q, first, last);
}

static void *drainer(void *arg);

/* Wakes the drainer if it sleeps with nothing queued.  The fence orders
 * the caller's push before the load of drainer_idle, against the
 * drainer's "idle, then look at the queues again". */
static void drainer_wake(void) {
  atomic_thread_fence(memory_order_seq_cst);
  if (atomic_load(&drainer_idle) && atomic_exchange(&drainer_idle, 0)) {
    atomic_fetch_add(&drainer_gen, 1);
    os_wake(&drainer_gen);
  }
}

/* Starts the drainer, once, from a thread short of blocks (the malloc slow
 * path), never from free: glibc frees a dead thread's TLS while it holds
 * the lock that pthread_create takes, and fork handlers run with every
 * lock held. */
void spill_start_drainer(void) {
  if (LIKELY(atomic_load_explicit(&drainer_state, memory_order_relaxed) != 0)) return;
  if (!atomic_load_explicit(&hak_multithreaded, memory_order_relaxed)) return;
  int expected = 0;
  if (atomic_compare_exchange_strong(&drainer_state, &expected, 1) && !os_thread_start(drainer))
    atomic_store(&drainer_state, 2);
}

void spill_push(unsigned cls, void *chain, uint32_t count) {
  batch_set(chain, NULL, count);
  push_stack(&queues[cls], chain, chain);
  drainer_wake();
}

uint32_t spill_take(unsigned cls, void **out) {
  spill_queue_t *q = &queues[cls];
  if (atomic_load_explicit(&q->head, memory_order_relaxed) == NULL) return 0;
  void *b = atomic_exchange_explicit(&q->head, NULL, memory_order_acquire);
  if (b == NULL) return 0;
  void *rest = batch_next(b);
  if (rest != NULL) {
    push_back(q, rest);
    drainer_wake();   /* it may have found every queue empty meanwhile */
  }
  atomic_fetch_add_explicit(&q->takes, 1, memory_order_relaxed);
  uint32_t count = batch_count(b);
  *link_of(b) = hak_free_key;   /* a cached block's free mark again */
  CACHE_ORDER();
  *out = b;
  return count;
}

/* Returns up to max blocks of class cls to their slabs; the rest of the
 * queue goes back. */
static size_t drain_class(unsigned cls, size_t max, bool background) {
  spill_queue_t *q = &queues[cls];
  void *b = atomic_exchange_explicit(&q->head, NULL, memory_order_acquire);
  size_t n = 0;
  while (b != NULL && n < max) {
    void *next_batch = batch_next(b);
    uint32_t count = batch_count(b);
    *link_of(b) = hak_free_key;
    void *p = b;
    for (; p != NULL && n < max; n++, count--) {
      if (UNLIKELY(count == 0)) hak_fatal_link(p);   /* more blocks than its count: a block freed twice looped it */
      void *next = link_next(p);
      tiny_free_foreign(p);
      p = next;
    }
    if (p != NULL) {   /* the batch's remainder becomes a batch */
      batch_set(p, next_batch, count);
      next_batch = p;
    }
    b = next_batch;
  }
  push_back(q, b);
  if (n > 0) {
    atomic_fetch_add_explicit(&hak_global.spill_drained, n, memory_order_relaxed);
    if (background) {
      atomic_fetch_add_explicit(&hak_global.bg_drained, n, memory_order_relaxed);
      atomic_fetch_add_explicit(&hak_global.bg_drains, 1, memory_order_relaxed);
    }
  }
  return n;
}

void spill_drain_all(void) {
  for (unsigned cls = 0; cls < NUM_CLASSES; cls++)
    if (atomic_load_explicit(&queues[cls].head, memory_order_relaxed) != NULL) drain_class(cls, SIZE_MAX, false);
}

static bool queues_empty(void) {
  for (unsigned cls = 0; cls < NUM_CLASSES; cls++)
    if (atomic_load(&queues[cls].head) != NULL) return false;
  return true;
}

/* One round: drains the queues nobody took from since the last round.
 * Returns true when some queue still holds blocks. */
static bool drain_round(bool *backlog) {
  bool pending = false;
  *backlog = false;
  size_t max = (size_t)hak_options[OPT_BG_MAX_BATCH];
  for (unsigned cls = 0; cls < NUM_CLASSES; cls++) {
    spill_queue_t *q = &queues[cls];
    if (atomic_load_explicit(&q->head, memory_order_relaxed) == NULL) continue;
    size_t takes = atomic_load_explicit(&q->takes, memory_order_relaxed);
    if (takes != seen_takes[cls]) {   /* in use: leave it to the takers this round */
      seen_takes[cls] = takes;
      pending = true;
      continue;
    }
    drain_class(cls, max, true);
    if (atomic_load_explicit(&q->head, memory_order_relaxed) != NULL) *backlog = true;
  }
  return pending || *backlog;
}

static void *drainer(void *arg) {
  (void)arg;
  for (;;) {
    uint32_t gen = atomic_load(&drainer_gen);
    bool backlog;
    if (drain_round(&backlog)) {
      if (backlog) sched_yield();   /* nobody takes: drain on, a batch at a time */
      else os_wait(&drainer_gen, gen, DRAIN_INTERVAL_MS);
      continue;
    }
    atomic_store(&drainer_idle, 1);
    if (queues_empty()) os_wait(&drainer_gen, gen, 0);
    atomic_store(&drainer_idle, 0);
  }
  return NULL;
}

/* For hak_verify, which needs every other thread out of the allocator:
 * waits (up to 5 s) until the drainer, if it runs, has emptied the queues
 * and sleeps.  Without the wait, a verify right after the program's
 * threads were joined met the drainer returning blocks to their slabs
 * (a stress run with the spill queue reported slab counts in flux). */
void spill_quiesce(void) {
  _Atomic uint32_t tick = 0;
  for (unsigned ms = 0; ms < 5000 && atomic_load(&drainer_state) == 1; ms++) {
    if (atomic_load(&drainer_idle) && queues_empty()) return;
    os_wait(&tick, 0, 1);
  }
}

void spill_fork_child(void) {
  atomic_store(&drainer_state, 0);
  atomic_store(&drainer_idle, 0);
}

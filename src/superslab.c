/* SuperSlabs and the page pool.
 *
 * A SuperSlab is a 2 MiB region aligned to 2 MiB: 512 pages of 4 KiB, the
 * first 16 (slab 0) holding its header.  The pool hands its free pages out
 * to every tier below huge: as slabs (16 pages at a 64 KiB boundary, for
 * any size class) and as large runs (any number of pages, placed best-fit).
 * A free bitmap per SuperSlab is the whole free-space structure: freed
 * pages coalesce with their free neighbours by construction, and slabs and
 * runs reuse each other's pages.  Up to EMPTY_SS_KEPT wholly free
 * SuperSlabs stay mapped to absorb churn (threads that come and go free
 * and take whole SuperSlabs: with one kept, bench_thread_churn mapped a
 * fresh one per thread); further ones are unmapped when their purge time
 * comes, not at once: a program that drops its data and builds it again
 * (CPython's rounds in make bench) would otherwise fault every page back in
 * (65,000 faults against 43,000, 2.6 s against 2.2: a fault costs 18 us
 * on this machine).
 *
 * Freed pages stay resident until their SuperSlab has had no page freed
 * for HAKMEM_PURGE_DELAY_MS (or, in a SuperSlab that never goes quiet,
 * until its oldest dirty page is MAX_AGE delays old), so that memory reused
 * soon costs no page faults: a churn that keeps freeing and reusing pages
 * keeps them.  Sooner only while the pool hands out clean pages instead
 * (exchange(): as many dirty pages of SuperSlabs quiet for 25 ms), and,
 * with HAKMEM_PURGE_ON_EXIT, when the thread that freed a SuperSlab's
 * newest dirty pages exits (pool_purge_exited).
 * (Purging each SuperSlab's free pages a delay after the first
 * was freed made bench_mid_large_mt fault 2.7x as often as mimalloc; a cap
 * on dirty pages as a fraction of those in use, jemalloc 3's rule, purged
 * memory that the churn reused a moment later: 20x slower.  Purging nearly
 * empty SuperSlabs at once while the process shrinks made a program that
 * drops its data and builds it again, CPython's rounds, fault all of it
 * back in: a page fault costs 18 us on this machine.)  A process that frees
 * most of its memory and goes idle still gives it back without a pool
 * call: once more than DIRTY_FLOOR pages are dirty, and more than are in
 * use (pool_shrink_epoch), a thread that flushes a cache empties all of its
 * caches instead (tiny.c), so that its next allocation takes a slow path,
 * which reads the purge clock (pool_purge_tick).  A SuperSlab with free, unpurged
 * ("dirty") pages is queued by when its oldest one was freed, and every
 * pool operation purges (MADV_DONTNEED) the dirty pages of the SuperSlabs
 * queued longer than the delay.  Purging a SuperSlab's pages together costs
 * one pass per delay at most, and may take pages freed a moment ago: a
 * loop that reuses its memory keeps it allocated, not free, so it loses
 * nothing.  No background thread: a process that stops calling into the
 * pool keeps what it had until its next call or malloc_trim.
 *
 * The pool is split into arenas (one per CPU, at most ARENAS_MAX), each a
 * whole pool with its own lock, lists and SuperSlabs: see arena_t.
 *
 * Lists (superslab_t.link), all under the lock of the SuperSlab's arena:
 *   avail  SuperSlabs with a wholly free slab, wholly free ones at the tail
 *   bin    SuperSlabs by their longest free run (bins[bin_of(max_run)])
 *   dirty  SuperSlabs with dirty pages, by purge_at (about: entries put
 *          back go to the tail) */
#include "internal.h"

#include <errno.h>
#include <string.h>

#define EMPTY_SS_KEPT 8
#define FIRST_PAGE    (SLAB_FIRST * PAGES_PER_SLAB)
#define USABLE_PAGES  (PAGES_PER_SS - FIRST_PAGE)
#define MAP_WORDS     (PAGES_PER_SS / 64)
/* Bins by longest free run: exact below 16 pages, then 8 per doubling
 * (496 pages: bin 55), so that every member of the bins above a request's
 * own fits it.  With one bin per doubling most members of a request's own
 * bin could be too short, and bench_mid_large_mt's pool walked 20 headers
 * per allocation, nearly all cache misses, under the lock. */
#define BINS          56
/* SuperSlabs that fit compared for the fullest: with 8, a large allocation
 * from the pool spent 900 cycles on their headers' cache misses under the
 * lock (bench_mid_large_mt), with 2 330, fragment and churn RSS the same. */
#define BIN_SCAN      2
#define DIRTY_FLOOR   ((32u << 20) >> PAGE_SHIFT)
#define MAX_AGE       8             /* delays */
/* The exchange (see exchange()) */
#define EXCHANGE_FLOOR    256u      /* dirty pages an arena keeps (1 MiB) */
#define EXCHANGE_BATCH    16u       /* clean pages handed out before it acts */
#define EXCHANGE_VISITS   4u        /* SuperSlabs at the dirty list's head it looks at */
#define EXCHANGE_QUIET_MS 25u       /* no page freed for this long: not a churn's */
#define EXIT_FLOOR        128u      /* dirty pages under which an arena is left alone at a thread's exit (pool_purge_exited) */

enum { L_AVAIL, L_BIN, L_DIRTY };
#define FILED_WHOLE (1u << SS_LISTS)   /* in lists: filed as wholly free (at the tails) */
typedef struct { superslab_t *head, *tail; } ss_list_t;

/* The pool is split into arenas, each with its own lock, lists and
 * SuperSlabs; a thread takes slabs and runs from its heap's arena (the
 * least used when the heap was made: heap.c), else borrows from another
 * before it maps a SuperSlab, and gives pages
 * back to the arena of their SuperSlab.  With one pool, two threads of
 * bench_mid_large_mt spent a fifth of their time on its lock and on pool
 * lines last written by the other core, and ran no faster than one. */
typedef struct arena {
  pthread_mutex_t  lock;                       /* held briefly: spin before sleeping */
  ss_list_t        avail, dirty, bins[BINS];
  uint64_t         bins_used;                  /* bit b: bins[b] is not empty */
  unsigned         empty_count;                /* wholly free SuperSlabs still mapped */
  bool             shrinking;                  /* counted in shrinking_arenas */
  size_t           class_slabs[NUM_CLASSES];   /* slabs in use per class */
  size_t           large_runs;                 /* large runs handed out, less those split in run caches (counted by the heaps:
                                                * a shared counter written on every split was a line every thread wrote) */
  size_t           large_pages;                /* their pages */
  size_t           used_pages, dirty_pages;    /* handed out; free and not purged */
  unsigned         exchange_debt;              /* clean pages handed out since the last exchange (under EXCHANGE_BATCH) */
} __attribute__((aligned(64))) arena_t;

static arena_t  arenas[ARENAS_MAX] = { [0 ... ARENAS_MAX - 1] = { .lock = PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP } };
/* purge_at of each arena's dirty list head, written under its lock when it
 * changes: every pool operation and refill reads them all (pool_purge_tick),
 * so they stay off the arenas' busy lines. */
typedef struct { _Atomic uint64_t at; } __attribute__((aligned(64))) purge_due_t;
_Static_assert(sizeof(purge_due_t) == 64, "one line each");
static purge_due_t purge_due[ARENAS_MAX] = { [0 ... ARENAS_MAX - 1] = { UINT64_MAX } };
static unsigned arena_count = 1;               /* set once at start-up: the CPUs, at most ARENAS_MAX */
#define AR(ss) (&arenas[(ss)->arena])
static _Atomic unsigned shrink_epoch;          /* 0, or the number of the period in which some arena has more pages dirty than in use (and over DIRTY_FLOOR) */
static unsigned  shrink_periods, shrinking_arenas;   /* shrink_lock */
static pthread_mutex_t shrink_lock = PTHREAD_MUTEX_INITIALIZER;   /* taken under an arena lock, on a change of period only */

/* ------------------------------------------------------------------ lists */

static ss_list_t *list_of(unsigned which, superslab_t *ss) {
  arena_t *a = AR(ss);
  return which == L_AVAIL ? &a->avail : which == L_DIRTY ? &a->dirty : &a->bins[ss->bin];
}

static void list_remove(unsigned which, superslab_t *ss) {
  if (!(ss->lists & (1u << which))) return;
  ss_list_t *l = list_of(which, ss);
  ss_link_t *k = &ss->link[which];
  if (k->prev) k->prev->link[which].next = k->next; else l->head = k->next;
  if (k->next) k->next->link[which].prev = k->prev; else l->tail = k->prev;
  k->next = k->prev = NULL;
  ss->lists &= (uint8_t)~(1u << which);
  if (which == L_BIN && l->head == NULL) AR(ss)->bins_used &= ~(1ull << ss->bin);
}

static void list_push(unsigned which, superslab_t *ss, bool back) {
  ss_list_t *l = list_of(which, ss);
  ss_link_t *k = &ss->link[which];
  if (back) {
    k->next = NULL;
    k->prev = l->tail;
    if (l->tail) l->tail->link[which].next = ss; else l->head = ss;
    l->tail = ss;
  } else {
    k->prev = NULL;
    k->next = l->head;
    if (l->head) l->head->link[which].prev = ss; else l->tail = ss;
    l->head = ss;
  }
  ss->lists |= (uint8_t)(1u << which);
  if (which == L_BIN) AR(ss)->bins_used |= 1ull << ss->bin;
}

/* The bin of a longest free run of r pages (r >= 1), and the shortest run
 * that bin b holds. */
static unsigned bin_of(unsigned r) {
  if (r < 16) return r;
  unsigned k = 31 - (unsigned)__builtin_clz(r);
  return 16 + (k - 4) * 8 + ((r >> (k - 3)) & 7);
}
static unsigned bin_low(unsigned b) {
  if (b < 16) return b;
  return (8 + (b - 16) % 8) << (4 + (b - 16) / 8 - 3);
}
_Static_assert(USABLE_PAGES >= 256 && USABLE_PAGES < 512 && BINS == 16 + 4 * 8 + ((USABLE_PAGES >> 5) & 7) + 1,
               "BINS: the bin of a wholly free SuperSlab is the last");

/* ---------------------------------------------------------------- bitmaps */

/* The bits of [start, start + n) that lie in start's word; *k: how many. */
static uint64_t word_span(unsigned start, unsigned n, unsigned *k) {
  unsigned b = start & 63;
  *k = 64 - b < n ? 64 - b : n;
  return (*k == 64 ? ~(uint64_t)0 : (((uint64_t)1 << *k) - 1)) << b;
}

static void bits_assign(uint64_t *map, unsigned start, unsigned n, bool on) {
  for (unsigned k; n > 0; start += k, n -= k) {
    uint64_t m = word_span(start, n, &k);
    if (on) map[start >> 6] |= m; else map[start >> 6] &= ~m;
  }
}

static unsigned bits_count(const uint64_t *map, unsigned start, unsigned n) {
  unsigned count = 0;
  for (unsigned k; n > 0; start += k, n -= k) count += (unsigned)__builtin_popcountll(map[start >> 6] & word_span(start, n, &k));
  return count;
}

/* The next run of set bits at or after bit from: its start in *start and
 * its length returned (0: none). */
static unsigned next_run(const uint64_t *map, unsigned from, unsigned *start) {
  unsigned p = from;
  while (p < PAGES_PER_SS) {
    uint64_t x = map[p >> 6] >> (p & 63);
    if (x != 0) { p += (unsigned)__builtin_ctzll(x); break; }
    p = (p | 63) + 1;
  }
  if (p >= PAGES_PER_SS) return 0;
  unsigned q = p;
  while (q < PAGES_PER_SS) {
    uint64_t x = ~map[q >> 6] >> (q & 63);   /* zero: set up to the word's end */
    if (x != 0) { q += (unsigned)__builtin_ctzll(x); break; }
    q = (q | 63) + 1;
  }
  *start = p;
  return (q < PAGES_PER_SS ? q : PAGES_PER_SS) - p;
}

/* Longest free run of ss; with want > 0, *best is the start of the
 * shortest free run of at least want pages (best fit; untouched if none)
 * and *after the longest free run once want pages are taken from its
 * front. */
static unsigned scan_free(const superslab_t *ss, unsigned want, unsigned *best, unsigned *after) {
  unsigned longest = 0, best_len = ~0u, start, len, other = 0;
  for (unsigned p = 0; (len = next_run(ss->free_map, p, &start)) != 0; p = start + len) {
    if (len > longest) longest = len;
    if (want != 0 && len >= want && len < best_len) {
      if (best_len != ~0u && best_len > other) other = best_len;
      best_len = len;
      *best = start;
    } else if (len > other) {
      other = len;
    }
  }
  if (after != NULL && best_len != ~0u) *after = best_len - want > other ? best_len - want : other;
  return longest;
}

static bool map_empty(const uint64_t *map) {
  uint64_t any = 0;
  for (unsigned i = 0; i < MAP_WORDS; i++) any |= map[i];
  return any == 0;
}

/* ------------------------------------------------------------ SuperSlabs */

/* Length of the run of set bits that contains bit pos (0 if pos is clear). */
static unsigned run_around(const uint64_t *map, unsigned pos) {
  if (!(map[pos >> 6] >> (pos & 63) & 1)) return 0;
  unsigned lo = pos, hi = pos + 1;
  while (lo > 0) {   /* down to the first clear bit below */
    uint64_t below = ~map[(lo - 1) >> 6] << (63 - ((lo - 1) & 63));   /* clear bits at or below lo - 1, top-aligned */
    if (below != 0) { lo -= (unsigned)__builtin_clzll(below); break; }
    lo = ((lo - 1) & ~63u);
  }
  while (hi < PAGES_PER_SS) {
    uint64_t above = ~map[hi >> 6] >> (hi & 63);
    if (above != 0) { hi += (unsigned)__builtin_ctzll(above); break; }
    hi = (hi | 63) + 1;
  }
  if (hi > PAGES_PER_SS) hi = PAGES_PER_SS;
  return hi - lo;
}

/* Files ss by what derives from its free bitmap after pages [start,
 * start + n) changed: the wholly free slabs among them, and max_run
 * (passed in, computed by the caller from the run it changed).  ss moves
 * on a list only when its place there changes (joins or leaves it, changes
 * bin, becomes wholly free or stops being so): a move writes the headers
 * of its neighbours, cache misses under the pool lock on every run freed
 * or taken (bench_mid_large_mt: a third of its instructions were pool
 * work under the lock, and the other thread slept on it). */
static void ss_refile(superslab_t *ss, unsigned start, unsigned n, unsigned max_run) {
  for (unsigned i = start / PAGES_PER_SLAB; i <= (start + n - 1) / PAGES_PER_SLAB; i++) {
    if (((ss->free_map[i / 4] >> ((i % 4) * 16)) & 0xffff) == 0xffff) ss->free_mask |= 1u << i;
    else ss->free_mask &= ~(1u << i);
  }
  ss->max_run = (uint16_t)max_run;
  bool whole = ss->free_pages == USABLE_PAGES;
  bool whole_changed = whole != !!(ss->lists & FILED_WHOLE);
  if (whole_changed || (ss->free_mask != 0) != !!(ss->lists & (1u << L_AVAIL))) {
    list_remove(L_AVAIL, ss);
    if (ss->free_mask != 0) list_push(L_AVAIL, ss, whole);
  }
  unsigned bin = max_run != 0 ? bin_of(max_run) : BINS;
  if (whole_changed || bin != (ss->lists & (1u << L_BIN) ? ss->bin : BINS)) {
    list_remove(L_BIN, ss);
    if (bin != BINS) {
      ss->bin = (uint8_t)bin;
      list_push(L_BIN, ss, whole);
    }
  }
  ss->lists = (uint8_t)(whole ? ss->lists | FILED_WHOLE : ss->lists & ~FILED_WHOLE);
}

static superslab_t *superslab_map(arena_t *a) {
  superslab_t *ss = os_map_aligned(SS_SIZE, SS_SIZE);
  if (ss == NULL) return NULL;
  os_no_huge_pages(ss, SS_SIZE);   /* slabs are used sparsely: 2 MiB pages would inflate RSS */
  ss->hdr.magic = REGION_MAGIC;
  ss->hdr.kind = REGION_SUPERSLAB;
  ss->arena = (uint8_t)(a - arenas);
  /* Fresh pages are zero: every slab has limit 0, so it counts as free. */
  bits_assign(ss->free_map, FIRST_PAGE, USABLE_PAGES, true);
  ss->free_pages = USABLE_PAGES;
  if (!registry_set(ss, SS_SIZE, (uintptr_t)ss)) {
    os_unmap(ss, SS_SIZE);
    errno = ENOMEM;
    return NULL;
  }
  stats_mapped(SS_SIZE);
  stats_inc_peak(&hak_global.superslabs, &hak_global.superslabs_peak);
  a->empty_count++;
  ss_refile(ss, FIRST_PAGE, USABLE_PAGES, USABLE_PAGES);
  return ss;
}

static void superslab_unmap(superslab_t *ss) {
  AR(ss)->dirty_pages -= bits_count(ss->dirty_map, 0, PAGES_PER_SS);
  for (unsigned i = 0; i < SS_LISTS; i++) list_remove(i, ss);
  registry_clear(ss, SS_SIZE);
  os_unmap(ss, SS_SIZE);
  stats_unmapped(SS_SIZE);
  atomic_fetch_sub_explicit(&hak_global.superslabs, 1, memory_order_relaxed);
}

static void shrink_check(arena_t *a);

/* Gives back dirty runs of ss, lowest first, until want pages or all of
 * them (early: purged ahead of the clock, by the exchange or at a
 * thread's exit, and marked in exch_map); returns how many
 * pages.  A partial purge leaves ss's place in the dirty list and its
 * dirty_first as they were: older than its oldest dirty page at worst, so
 * the clock looks at it early, never late. */
static unsigned purge_pages(superslab_t *ss, unsigned want, bool early) {
  unsigned start, len, pages = 0;
  for (unsigned p = 0; pages < want && (len = next_run(ss->dirty_map, p, &start)) != 0; p = start + len) {
    if (len > want - pages) len = want - pages;
    os_purge((uint8_t *)ss + ((size_t)start << PAGE_SHIFT), (size_t)len << PAGE_SHIFT);
    bits_assign(ss->dirty_map, start, len, false);
    if (early) bits_assign(ss->exch_map, start, len, true);
    pages += len;
  }
  if (map_empty(ss->dirty_map)) list_remove(L_DIRTY, ss);
  AR(ss)->dirty_pages -= pages;
  atomic_fetch_add_explicit(&hak_global.pages_purged, pages, memory_order_relaxed);
  return pages;
}

/* Unmaps ss if it is wholly free and beyond the EMPTY_SS_KEPT kept
 * (shared out among the arenas, at least 2 each). */
static bool unmap_surplus(superslab_t *ss) {
  arena_t *a = AR(ss);
  unsigned kept = EMPTY_SS_KEPT / arena_count;   /* 2 each at least: 16 with 8 arenas */
  if (ss->free_pages != USABLE_PAGES || a->empty_count <= (kept < 2 ? 2 : kept)) return false;
  a->empty_count--;
  superslab_unmap(ss);
  return true;
}

/* Gives up to want of ss's dirty pages back (early: see purge_pages); a
 * wholly free one beyond those kept goes back to the OS whole instead,
 * since purged it would leave the dirty list, where the clock unmaps such
 * SuperSlabs.  Returns how many dirty pages the arena lost. */
static unsigned purge_superslab(superslab_t *ss, unsigned want, bool early) {
  arena_t *a = AR(ss);   /* read first: ss may be unmapped */
  size_t before = a->dirty_pages;
  return unmap_surplus(ss) ? (unsigned)(before - a->dirty_pages) : purge_pages(ss, want, early);
}

/* Looks at the SuperSlabs whose purge time has come: purges those quiet
 * for delay_ms (or dirty for MAX_AGE delays), requeues the others. */
static void purge_expired(arena_t *a, uint64_t now, uint64_t delay_ms) {
  while (a->dirty.head != NULL && now >= a->dirty.head->purge_at) {
    superslab_t *ss = a->dirty.head;
    if (now - ss->dirty_last >= delay_ms || now - ss->dirty_first >= MAX_AGE * delay_ms) {
      purge_superslab(ss, ~0u, false);
    } else {
      ss->purge_at = ss->dirty_last + delay_ms;
      list_remove(L_DIRTY, ss);
      list_push(L_DIRTY, ss, true);
    }
  }
  shrink_check(a);
}

/* Follows arena a's dirty and used page counts (pool_shrink_epoch): a
 * period starts when in some arena dirty pages outnumber those in use (and
 * DIRTY_FLOOR), and ends only when in every such arena they fall below
 * half of them (or the floor), so that a process hovering near the line
 * does not drain its caches again and again. */
static void shrink_check(arena_t *a) {
  bool shrinking;
  if (!a->shrinking) shrinking = a->dirty_pages > DIRTY_FLOOR && a->dirty_pages > a->used_pages;
  else shrinking = !(a->dirty_pages <= DIRTY_FLOOR || a->dirty_pages < a->used_pages / 2);
  if (LIKELY(shrinking == a->shrinking)) return;
  a->shrinking = shrinking;
  pthread_mutex_lock(&shrink_lock);
  if (shrinking && shrinking_arenas++ == 0) {
    if (++shrink_periods == 0) shrink_periods = 1;   /* 0 means "not shrinking" */
    atomic_store_explicit(&shrink_epoch, shrink_periods, memory_order_relaxed);
  } else if (!shrinking && --shrinking_arenas == 0) {
    atomic_store_explicit(&shrink_epoch, 0, memory_order_relaxed);
  }
  pthread_mutex_unlock(&shrink_lock);
}

unsigned pool_shrink_epoch(void) { return atomic_load_explicit(&shrink_epoch, memory_order_relaxed); }

/* Clean pages (untouched, or purged by the clock) were handed out while
 * dirty ones wait in arena a: as many dirty pages go back to the OS, from
 * SuperSlabs at the head of the dirty list that have had no page freed
 * for EXCHANGE_QUIET_MS, so that resident memory does not grow while free
 * resident pages sit unused (bench_fragment's reuse phase left 14 MiB of
 * stretches that no request of its new mix fitted, and took fresh pages
 * instead; with the exchange its peak is 12 MiB lower).  A SuperSlab that
 * frees pages now is a churn's: taking its pages while bench_mid_large_mt
 * grew cost 34% more page faults and 17% of its speed.  Pages purged here
 * are marked (exch_map) and cost no exchange when handed out again, or a
 * churn that reuses them would purge and fault in pages without end
 * (bench_thread_churn: 440,000 pages purged in 0.2 s); the mark stays until
 * the page is handed out, however long that takes. */
static void exchange(arena_t *a, unsigned clean) {
  a->exchange_debt += clean;
  if (a->exchange_debt < EXCHANGE_BATCH) return;
  uint64_t now = a->dirty_pages > EXCHANGE_FLOOR && a->dirty.head != NULL ? os_now_ms() : 0;
  superslab_t *ss = a->dirty.head;
  for (unsigned visits = 0; now != 0 && ss != NULL && visits < EXCHANGE_VISITS && a->exchange_debt > 0 && a->dirty_pages > EXCHANGE_FLOOR; visits++) {
    superslab_t *next = ss->link[L_DIRTY].next;
    if (now - ss->dirty_last >= EXCHANGE_QUIET_MS) {
      size_t above = a->dirty_pages - EXCHANGE_FLOOR;
      unsigned got = purge_superslab(ss, a->exchange_debt < above ? a->exchange_debt : (unsigned)above, true);
      a->exchange_debt = got >= a->exchange_debt ? 0 : a->exchange_debt - got;
    }
    ss = next;
  }
  /* what found nothing to purge is dropped: paid later, it would purge
   * pages freed since, which a churn may be reusing */
  a->exchange_debt = 0;
}

/* Pages [start, start + n) of ss, all free, are handed out; max_after:
 * ss's longest free run afterwards, or NO_MAX for "find it". */
#define NO_MAX (~0u)
static void pages_take(superslab_t *ss, unsigned start, unsigned n, unsigned max_after) {
  arena_t *a = AR(ss);
  if (ss->free_pages == USABLE_PAGES) a->empty_count--;
  unsigned dirty = bits_count(ss->dirty_map, start, n), exchanged = bits_count(ss->exch_map, start, n);
  a->dirty_pages -= dirty;
  a->used_pages += n;
  bool was_longest = max_after == NO_MAX && run_around(ss->free_map, start) == ss->max_run;
  bits_assign(ss->free_map, start, n, false);
  bits_assign(ss->dirty_map, start, n, false);
  if (exchanged != 0) bits_assign(ss->exch_map, start, n, false);
  ss->free_pages = (uint16_t)(ss->free_pages - n);
  if (map_empty(ss->dirty_map)) list_remove(L_DIRTY, ss);
  if (max_after == NO_MAX) max_after = was_longest ? scan_free(ss, 0, NULL, NULL) : ss->max_run;
  ss_refile(ss, start, n, max_after);
  if (dirty + exchanged < n) exchange(a, n - dirty - exchanged);
  shrink_check(a);
}

/* Pages [start, start + n) of ss come back. */
static void pages_give(superslab_t *ss, unsigned start, unsigned n, uint64_t now) {
  arena_t *a = AR(ss);
  bits_assign(ss->free_map, start, n, true);
  bits_assign(ss->dirty_map, start, n, true);
  ss->free_pages = (uint16_t)(ss->free_pages + n);
  a->dirty_pages += n;
  a->used_pages -= n;
  ss->dirty_last = now;
  ss->dirty_by = hak_tls_serial;
  if (!(ss->lists & (1u << L_DIRTY))) {
    ss->dirty_first = now;
    ss->purge_at = now + (uint64_t)hak_options[OPT_PURGE_DELAY_MS];
    list_push(L_DIRTY, ss, true);
  }
  if (ss->free_pages == USABLE_PAGES) a->empty_count++;
  unsigned run = run_around(ss->free_map, start);
  ss_refile(ss, start, n, run > ss->max_run ? run : ss->max_run);
  shrink_check(a);
}

/* Publishes when arena a's next purge is due (purge_due). */
static void purge_due_update(arena_t *a) {
  _Atomic uint64_t *due = &purge_due[a - arenas].at;
  uint64_t at = a->dirty.head != NULL ? a->dirty.head->purge_at : UINT64_MAX;
  if (atomic_load_explicit(due, memory_order_relaxed) != at) atomic_store_explicit(due, at, memory_order_relaxed);
}

/* Arena a's purge clock (a's lock held). */
static void purge_clock(arena_t *a, uint64_t now) {
  purge_expired(a, now, (uint64_t)hak_options[OPT_PURGE_DELAY_MS]);
  purge_due_update(a);
}

static void purge_others(arena_t *a, uint64_t now);

/* Ends every operation on arena a: its purge clock, then the lock, then
 * the other arenas' clocks (their threads may be gone) and the huge
 * tier's cached mappings. */
static void pool_unlock(arena_t *a, uint64_t now) {
  purge_clock(a, now);
  pthread_mutex_unlock(&a->lock);
  purge_others(a, now);
  huge_cache_expire(now, false);
}

/* The arenas other than a (NULL: all) whose purge time has come. */
static void purge_others(arena_t *a, uint64_t now) {
  for (unsigned i = 0; i < arena_count; i++) {
    if (&arenas[i] == a) continue;
    uint64_t due = atomic_load_explicit(&purge_due[i].at, memory_order_relaxed);
    if (LIKELY(due == UINT64_MAX) || now < due) continue;
    pthread_mutex_lock(&arenas[i].lock);
    purge_clock(&arenas[i], os_now_ms());   /* read under the lock: a page freed meanwhile must not look older than now */
    pthread_mutex_unlock(&arenas[i].lock);
  }
}

/* The purge clock for the slow paths that do not reach the pool (a thread
 * cache refilled from the thread's own slabs): a process that freed its
 * memory and went idle gives the pages back at its next such call, in
 * every arena. */
void pool_purge_tick(void) {
  uint64_t soonest = UINT64_MAX;
  for (unsigned i = 0; i < arena_count; i++) {
    uint64_t due = atomic_load_explicit(&purge_due[i].at, memory_order_relaxed);
    if (due < soonest) soonest = due;
  }
  if (LIKELY(soonest == UINT64_MAX)) return;
  uint64_t now = os_now_ms();
  if (now >= soonest) purge_others(NULL, now);
}

/* A thread has exited: the SuperSlabs that it freed pages into last, in
 * every arena, give their dirty pages back now, lowest first, down to
 * EXIT_FLOOR per arena (a wholly free one beyond those kept goes whole),
 * marked as purged ahead of the clock.  No live thread churns on them; a
 * thread that frees into the same SuperSlab later takes it over.  jemalloc
 * purges an arena that its last thread leaves; with as many arenas as
 * CPUs, a main thread that allocated anything keeps arena 0 inhabited, so
 * the rule here follows who freed the pages instead.  Without it,
 * bench_thread_churn ended at 17.2 MiB (every page of its 8 SuperSlabs
 * touched by some thread, none quiet for the delay), jemalloc at 5.4.  The
 * cost: the next thread faults the pages in again (bench_thread_churn
 * 3.5x the best peer's time; larson, whose threads exit every 10,000
 * operations, 9..27% slower): hence HAKMEM_PURGE_ON_EXIT, off by default.
 * Pages freed by a thread without a heap (serial 0), or by destructors
 * after the exit, wait for the clock. */
void pool_purge_exited(uint32_t serial) {
  if (serial == 0) return;
  for (unsigned i = 0; i < arena_count; i++) {
    arena_t *a = &arenas[i];
    if (atomic_load_explicit(&purge_due[i].at, memory_order_relaxed) == UINT64_MAX) continue;   /* nothing dirty */
    pthread_mutex_lock(&a->lock);
    for (superslab_t *ss = a->dirty.head, *next; ss != NULL && a->dirty_pages > EXIT_FLOOR; ss = next) {
      next = ss->link[L_DIRTY].next;
      if (ss->dirty_by == serial) purge_superslab(ss, (unsigned)(a->dirty_pages - EXIT_FLOOR), true);
    }
    purge_due_update(a);
    shrink_check(a);
    pthread_mutex_unlock(&a->lock);
  }
}

/* The fullest of the first BIN_SCAN SuperSlabs of a list (bins and avail
 * put wholly free ones last) that have a free run of n pages, among the
 * first visits members: filling the fullest lets the others drain and go
 * back to the OS.  Members of the request's own bin may be too short. */
static superslab_t *fullest(unsigned which, superslab_t *ss, unsigned n, unsigned visits) {
  superslab_t *best = NULL;
  for (unsigned fit = 0; ss != NULL && fit < BIN_SCAN && visits-- > 0; ss = ss->link[which].next) {
    if (ss->max_run < n) continue;
    fit++;
    if (best == NULL || ss->free_pages < best->free_pages) best = ss;
  }
  return best;
}

/* ------------------------------------------------------------------ slabs */

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

/* A free slab of arena a for class cls, or (map) of a SuperSlab mapped for
 * it; NULL if none. */
static slab_meta_t *slab_from(arena_t *a, unsigned cls, heap_t *owner, bool map) {
  pthread_mutex_lock(&a->lock);
  superslab_t *ss = fullest(L_AVAIL, a->avail.head, PAGES_PER_SLAB, BIN_SCAN);   /* every member fits */
  if (ss == NULL && (!map || (ss = superslab_map(a)) == NULL)) {
    pthread_mutex_unlock(&a->lock);
    return NULL;
  }
  unsigned idx = (unsigned)__builtin_ctz(ss->free_mask);
  unsigned dirty = 0;
  if (a->dirty_pages > DIRTY_FLOOR) dirty = (unsigned)(ss->dirty_map[idx * PAGES_PER_SLAB / 64] >> (idx * PAGES_PER_SLAB % 64)) & ((1u << PAGES_PER_SLAB) - 1);
  pages_take(ss, idx * PAGES_PER_SLAB, PAGES_PER_SLAB, NO_MAX);
  slab_init(&ss->slabs[idx], cls, owner);
  a->class_slabs[cls]++;
  pool_unlock(a, os_now_ms());
  /* The pages past the class's last block are not written while the slab
   * serves it: while the arena holds many free resident pages, those of
   * them resident from an earlier use go back (up to 5 of the 16 for the
   * 22 KiB class; bench_fragment's reuse phase left 7 MiB so).  Not
   * always: a churn of slabs (bench_thread_churn) faulted them back in as
   * soon as the slab served another class, 46,000 times in 0.4 s. */
  unsigned tail = (unsigned)((slab_capacity(&ss->slabs[idx]) * hak_class_size[cls] + PAGE_SIZE_ - 1) >> PAGE_SHIFT);
  dirty &= ~((1u << tail) - 1);
  if (dirty != 0) {   /* one call from the first dirty page to the last: the clean ones between cost nothing */
    unsigned first = (unsigned)__builtin_ctz(dirty), end = 32u - (unsigned)__builtin_clz(dirty);
    os_purge((uint8_t *)ss + (size_t)(idx * PAGES_PER_SLAB + first) * PAGE_SIZE_, (size_t)(end - first) * PAGE_SIZE_);
    atomic_fetch_add_explicit(&hak_global.pages_purged, (unsigned)__builtin_popcount(dirty), memory_order_relaxed);
  }
  return &ss->slabs[idx];
}

/* From the owner's arena; else from another's before a SuperSlab is mapped
 * (the slab stays in its SuperSlab's arena), so that arenas cost no
 * memory: with 2 arenas and no such borrowing, bench_thread_churn ended
 * with 21 MiB resident instead of 17. */
slab_meta_t *pool_acquire_slab(unsigned cls, heap_t *owner) {
  unsigned own = owner->arena;
  slab_meta_t *m = slab_from(&arenas[own], cls, owner, false);
  for (unsigned i = 1; m == NULL && i < arena_count; i++) m = slab_from(&arenas[(own + i) % arena_count], cls, owner, false);
  return m != NULL ? m : slab_from(&arenas[own], cls, owner, true);
}

void pool_release_slab(slab_meta_t *m) {
  superslab_t *ss = ss_of(m);
  unsigned idx = (unsigned)(m - ss->slabs);
  arena_t *a = AR(ss);
  pthread_mutex_lock(&a->lock);
  m->limit = 0;   /* from now on, a free of a block of this slab is caught */
  m->free = NULL;
  atomic_store_explicit(&m->owner, NULL, memory_order_relaxed);
  a->class_slabs[m->cls]--;
  uint64_t now = os_now_ms();
  /* All 16 pages count as dirty, also those the slab never touched or gave
   * back already (parked blocks, its tail: tiny.c, slab_from): the clock
   * then purges pages that are not resident, a system call and no fault.
   * Tracking them per slab was measured on bench_thread_churn (the pages
   * a slab had carved or found resident) and changed nothing. */
  pages_give(ss, idx * PAGES_PER_SLAB, PAGES_PER_SLAB, now);
  pool_unlock(a, now);
}

/* ------------------------------------------------------------- large runs */

/* A SuperSlab with a free run of n pages: from the lowest bin whose
 * members all fit (the SuperSlabs with the shortest runs that do), else
 * (before a new SuperSlab is mapped) from anywhere in n's own bin, whose
 * members may be too short. */
static superslab_t *find_run(arena_t *a, unsigned n) {
  unsigned own = bin_of(n), first = bin_low(own) == n ? own : own + 1;
  uint64_t fit = first < BINS ? a->bins_used >> first : 0;
  if (fit != 0) return fullest(L_BIN, a->bins[first + (unsigned)__builtin_ctzll(fit)].head, n, BIN_SCAN);
  return first != own ? fullest(L_BIN, a->bins[own].head, n, ~0u) : NULL;
}

/* A run of n pages from arena a, or (map) from a SuperSlab mapped for it;
 * NULL if none. */
static void *run_from(arena_t *a, unsigned n, bool map) {
  pthread_mutex_lock(&a->lock);
  superslab_t *ss = find_run(a, n);
  if (ss == NULL && (!map || (ss = superslab_map(a)) == NULL)) {
    pthread_mutex_unlock(&a->lock);
    return NULL;
  }
  unsigned start = 0, after = 0;
  scan_free(ss, n, &start, &after);
  pages_take(ss, start, n, after);
  ss->run[start] = (uint16_t)(n | RUN_LIVE);
  a->large_runs++;
  a->large_pages += n;
  pool_unlock(a, os_now_ms());
  return (uint8_t *)ss + ((size_t)start << PAGE_SHIFT);   /* no MARK_RUN here: runs leave caches through cache_take */
}

/* As pool_acquire_slab: h's arena, the others, then a new SuperSlab. */
void *pool_alloc_run(heap_t *h, unsigned n) {
  unsigned own = h->arena;
  void *p = run_from(&arenas[own], n, false);
  for (unsigned i = 1; p == NULL && i < arena_count; i++) p = run_from(&arenas[(own + i) % arena_count], n, false);
  return p != NULL ? p : run_from(&arenas[own], n, true);
}

/* Frees runs (their first pages' addresses) under one hold of the lock of
 * each arena they come from (per 64 runs). */
void pool_free_runs(void *const *runs, unsigned count, const char *func) {
  if (count > 64) {
    pool_free_runs(runs + 64, count - 64, func);
    count = 64;
  }
  /* Their SuperSlabs' header lines come into the cache before the lock,
   * not one miss after another while it is held (bench_mid_large_mt: a
   * batch of 16 runs held the lock 4,600 cycles, now 3,700). */
  for (unsigned i = 0; i < count; i++) {
    superslab_t *ss = ss_of(runs[i]);
    __builtin_prefetch(ss, 1);
    __builtin_prefetch(&ss->run[page_of(ss, runs[i])], 1);
    __builtin_prefetch(ss->free_map, 1);
    __builtin_prefetch(ss->dirty_map, 1);
    __builtin_prefetch(&ss->link[0], 1);
  }
  uint64_t left = count < 64 ? (1ull << count) - 1 : ~0ull;
  while (left != 0) {
    arena_t *a = AR(ss_of(runs[__builtin_ctzll(left)]));
    pthread_mutex_lock(&a->lock);
    uint64_t now = os_now_ms();
    for (uint64_t todo = left; todo != 0; todo &= todo - 1) {
      unsigned i = (unsigned)__builtin_ctzll(todo);
      superslab_t *ss = ss_of(runs[i]);
      if (AR(ss) != a) continue;
      left &= ~(1ull << i);
      unsigned page = page_of(ss, runs[i]);
      uint16_t e = ss->run[page];
      /* checked again under the lock: two threads freeing one block to the
       * pool (one freeing it while another caches it is not caught: the
       * cache's mark is in the run, written without the lock) */
      if (UNLIKELY(!(e & RUN_LIVE))) hak_fatal_pointer(func, "double free of", runs[i]);
      unsigned n = e & RUN_PAGES;
      ss->run[page] = 0;
      a->large_runs--;
      a->large_pages -= n;
      pages_give(ss, page, n, now);
    }
    pool_unlock(a, now);
  }
}

/* Grows run (into free pages that follow it) or shrinks it, in place. */
bool pool_resize_run(superslab_t *ss, unsigned page, unsigned n) {
  arena_t *a = AR(ss);
  pthread_mutex_lock(&a->lock);
  unsigned old = ss->run[page] & RUN_PAGES;
  bool ok = true;
  uint64_t now = os_now_ms();
  if (n < old) {
    pages_give(ss, page + n, old - n, now);   /* cannot empty ss: the run stays */
  } else if (n > old) {
    ok = page + n <= PAGES_PER_SS && bits_count(ss->free_map, page + old, n - old) == n - old;
    if (ok) pages_take(ss, page + old, n - old, NO_MAX);
  }
  if (ok) {
    ss->run[page] = (uint16_t)(n | RUN_LIVE);
    a->large_pages = a->large_pages + n - old;
  }
  pool_unlock(a, now);
  return ok;
}

/* ------------------------------------------------------------ whole pool */

bool pool_trim(void) {
  bool released = false;
  for (unsigned i = 0; i < arena_count; i++) {
    arena_t *a = &arenas[i];
    pthread_mutex_lock(&a->lock);
    while (a->avail.tail != NULL && a->avail.tail->free_pages == USABLE_PAGES) {
      a->empty_count--;
      superslab_unmap(a->avail.tail);
      released = true;
    }
    if (a->dirty.head != NULL) released = true;
    purge_expired(a, UINT64_MAX, 0);   /* malloc_trim: everything free goes back now */
    purge_due_update(a);
    pthread_mutex_unlock(&a->lock);
  }
  return huge_cache_expire(0, true) || released;
}

/* The pool's counters summed over the arenas (each read under its lock),
 * the large runs with those split in the heaps' run caches. */
static void arenas_total(pool_totals_t *s) {
  memset(s, 0, sizeof *s);
  for (unsigned i = 0; i < arena_count; i++) {
    arena_t *a = &arenas[i];
    pthread_mutex_lock(&a->lock);
    s->used_pages += a->used_pages;
    s->dirty_pages += a->dirty_pages;
    s->large_pages += a->large_pages;
    s->large_runs += a->large_runs;
    s->empty += a->empty_count;
    for (unsigned k = 0; k < NUM_CLASSES; k++) s->class_slabs[k] += a->class_slabs[k];
    pthread_mutex_unlock(&a->lock);
  }
  /* after the arenas: a run split meanwhile and freed in halves is counted
   * once too often, never a free without its split (a wrapped count) */
  heap_counters_t c;
  heap_counters_sum(&c);
  s->large_runs += c.run_splits;
}

/* Committed counts the pages handed out (slabs whole, though a slab's
 * pages are touched as its blocks are carved), free pages not yet given
 * back, and each SuperSlab's header pages. */
void pool_usage(pool_usage_t *u) {
  pool_totals_t s;
  arenas_total(&s);
  u->slabs = 0;
  for (unsigned i = 0; i < NUM_CLASSES; i++) {
    u->slabs += s.class_slabs[i];
    u->class_slabs[i] = s.class_slabs[i];
  }
  u->large_runs = s.large_runs;
  u->large_bytes = s.large_pages << PAGE_SHIFT;
  size_t header_pages = (sizeof(superslab_t) + PAGE_SIZE_ - 1) >> PAGE_SHIFT;
  u->committed = (s.used_pages + s.dirty_pages + header_pages * atomic_load_explicit(&hak_global.superslabs, memory_order_relaxed)) << PAGE_SHIFT;
}

void pool_fork_prepare(void) {
  for (unsigned i = 0; i < arena_count; i++) pthread_mutex_lock(&arenas[i].lock);
  pthread_mutex_lock(&shrink_lock);
}
void pool_fork_parent(void) {
  pthread_mutex_unlock(&shrink_lock);
  for (unsigned i = 0; i < arena_count; i++) pthread_mutex_unlock(&arenas[i].lock);
}
void pool_fork_child(void) {
  shrink_lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
  for (unsigned i = 0; i < arena_count; i++) arenas[i].lock = (pthread_mutex_t)PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP;
}

/* Arenas: as many as CPUs, at most ARENAS_MAX (before the first heap). */
void pool_init(void) {
  unsigned n = os_cpu_count();
  arena_count = n < 1 ? 1 : n > ARENAS_MAX ? ARENAS_MAX : n;
}
unsigned pool_arenas(void) { return arena_count; }

/* ---------------------------------------------------------- verification */

/* Checks ss's pages (verify.c, at a quiescent point): every page past the
 * header is free, in a slab serving a class, or in a live large run, and
 * nothing else; the derived fields and list flags agree with the free map.
 * Adds ss's figures to t, which pool_verify_totals compares with the
 * pool's counters. */
void pool_verify_ss(superslab_t *ss, pool_totals_t *t) {
  if (ss->hdr.magic != REGION_MAGIC || ss->hdr.kind != REGION_SUPERSLAB || ss->arena >= arena_count) {
    verify_fail("SuperSlab header", ss);
    return;
  }
  arena_t *a = AR(ss);
  pthread_mutex_lock(&a->lock);
  unsigned free_count = bits_count(ss->free_map, 0, PAGES_PER_SS);
  if (bits_count(ss->free_map, 0, FIRST_PAGE) != 0) verify_fail("SuperSlab header pages marked free", ss);
  if (free_count != ss->free_pages) verify_fail("SuperSlab free page count", ss);
  for (unsigned w = 0; w < MAP_WORDS; w++)
    if ((ss->dirty_map[w] | ss->exch_map[w]) & ~ss->free_map[w] || ss->dirty_map[w] & ss->exch_map[w])
      verify_fail("SuperSlab page dirty or exchanged but not free, or both", ss);
  if (scan_free(ss, 0, NULL, NULL) != ss->max_run) verify_fail("SuperSlab longest free run", ss);
  for (unsigned i = SLAB_FIRST; i < SLABS_PER_SS; i++) {
    bool whole = bits_count(ss->free_map, i * PAGES_PER_SLAB, PAGES_PER_SLAB) == PAGES_PER_SLAB;
    if (whole != !!(ss->free_mask & (1u << i))) verify_fail("SuperSlab free slab mask", &ss->slabs[i]);
    if (ss->slabs[i].limit == 0 && ss->parked[i] != 0) verify_fail("parked blocks outside a slab", &ss->slabs[i]);
  }
  if (!!(ss->lists & (1u << L_AVAIL)) != (ss->free_mask != 0) || !!(ss->lists & (1u << L_BIN)) != (ss->max_run != 0) ||
      (ss->max_run != 0 && ss->bin != bin_of(ss->max_run)) ||
      !!(ss->lists & (1u << L_DIRTY)) != !map_empty(ss->dirty_map) ||
      !!(ss->lists & FILED_WHOLE) != (ss->free_pages == USABLE_PAGES))
    verify_fail("SuperSlab list membership", ss);
  for (unsigned p = FIRST_PAGE; p < PAGES_PER_SS;) {
    if (ss->free_map[p >> 6] >> (p & 63) & 1) { p++; continue; }
    slab_meta_t *m = &ss->slabs[p / PAGES_PER_SLAB];
    if (p % PAGES_PER_SLAB == 0 && m->limit != 0) {
      if (bits_count(ss->free_map, p, PAGES_PER_SLAB) != 0) verify_fail("slab in use with free pages", m);
      if (m->cls >= NUM_CLASSES) verify_fail("slab class", m);
      else t->class_slabs[m->cls]++;
      p += PAGES_PER_SLAB;
      continue;
    }
    unsigned n = ss->run[p] & RUN_PAGES;
    if (!(ss->run[p] & RUN_LIVE) || n == 0 || p + n > PAGES_PER_SS || bits_count(ss->free_map, p, n) != 0) {
      verify_fail("page neither free, nor in a slab, nor in a large run", (uint8_t *)ss + ((size_t)p << PAGE_SHIFT));
      p++;
      continue;
    }
    t->large_runs++;
    t->large_pages += n;
    p += n;
  }
  t->used_pages += USABLE_PAGES - free_count;
  t->dirty_pages += bits_count(ss->dirty_map, 0, PAGES_PER_SS);
  t->empty += ss->free_pages == USABLE_PAGES;
  pthread_mutex_unlock(&a->lock);
}

void pool_verify_totals(const pool_totals_t *t) {
  pool_totals_t s;
  arenas_total(&s);
  if (t->used_pages != s.used_pages) verify_fail("pool: pages in use", (void *)s.used_pages);
  if (t->dirty_pages != s.dirty_pages) verify_fail("pool: dirty pages", (void *)s.dirty_pages);
  if (t->large_pages != s.large_pages) verify_fail("pool: large run pages", (void *)s.large_pages);
  if (t->large_runs != s.large_runs) verify_fail("pool: large runs", (void *)s.large_runs);
  if (t->empty != s.empty) verify_fail("pool: empty SuperSlabs", (void *)s.empty);
  for (unsigned k = 0; k < NUM_CLASSES; k++)
    if (t->class_slabs[k] != s.class_slabs[k]) verify_fail("pool: slabs of a class", (void *)(uintptr_t)k);
  for (unsigned i = 0; i < arena_count; i++) {   /* each arena's lists hold its own SuperSlabs; the bin mask */
    arena_t *a = &arenas[i];
    pthread_mutex_lock(&a->lock);
    for (unsigned b = 0; b < BINS; b++)
      if (!!(a->bins_used >> b & 1) != (a->bins[b].head != NULL)) verify_fail("pool: bin mask", (void *)(uintptr_t)b);
    for (unsigned l = 0; l < BINS + 2; l++) {
      unsigned which = l < BINS ? L_BIN : l == BINS ? L_AVAIL : L_DIRTY;
      superslab_t *ss = l < BINS ? a->bins[l].head : l == BINS ? a->avail.head : a->dirty.head;
      for (; ss != NULL; ss = ss->link[which].next)
        if (ss->arena != i) verify_fail("pool: SuperSlab on another arena's list", ss);
    }
    pthread_mutex_unlock(&a->lock);
  }
}

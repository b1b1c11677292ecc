/* Statistics: global counters updated on slow paths only, printed on
 * demand (hak_stats_print, HAKMEM_STATS=1 at exit) as "hakmem: " lines. */
#include "internal.h"
#include "../include/hakmem.h"

hak_stats_t hak_stats;

void stats_inc_peak(_Atomic size_t *cur, _Atomic size_t *peak) {
  size_t now = atomic_fetch_add_explicit(cur, 1, memory_order_relaxed) + 1;
  size_t old = atomic_load_explicit(peak, memory_order_relaxed);
  while (now > old && !atomic_compare_exchange_weak_explicit(peak, &old, now, memory_order_relaxed, memory_order_relaxed)) {}
}

void stats_mapped(size_t bytes) {
  size_t now = atomic_fetch_add_explicit(&hak_stats.mapped, bytes, memory_order_relaxed) + bytes;
  size_t old = atomic_load_explicit(&hak_stats.mapped_peak, memory_order_relaxed);
  while (now > old && !atomic_compare_exchange_weak_explicit(&hak_stats.mapped_peak, &old, now, memory_order_relaxed, memory_order_relaxed)) {}
}

void stats_unmapped(size_t bytes) {
  atomic_fetch_sub_explicit(&hak_stats.mapped, bytes, memory_order_relaxed);
}

typedef struct line { char buf[512]; size_t n; } line_t;

static void put(line_t *l, const char *s) {
  while (*s && l->n < sizeof l->buf - 1) l->buf[l->n++] = *s++;
}

static void put_num(line_t *l, const char *name, size_t v) {
  if (l->n + 40 >= sizeof l->buf) return;
  put(l, " ");
  put(l, name);
  put(l, "=");
  l->n += fmt_u64(l->buf + l->n, v);
}

#define LOAD(f) atomic_load_explicit(&hak_stats.f, memory_order_relaxed)

HAK_EXPORT void hak_stats_print(int fd) {
  line_t l = { .n = 0 };
  put(&l, "hakmem: pid=");
  l.n += fmt_u64(l.buf + l.n, (uint64_t)os_getpid());
  put_num(&l, "mapped", LOAD(mapped));
  put_num(&l, "mapped_peak", LOAD(mapped_peak));
  put_num(&l, "small_in_use", tiny_bytes_in_use());
  put(&l, "\n");
  os_write(fd, l.buf, l.n);

  l.n = 0;
  put(&l, "hakmem: superslabs");
  put_num(&l, "current", LOAD(superslabs));
  put_num(&l, "peak", LOAD(superslabs_peak));
  put_num(&l, "refills", LOAD(refills));
  put_num(&l, "flushes", LOAD(flushes));
  put(&l, "\n");
  os_write(fd, l.buf, l.n);

  l.n = 0;
  put(&l, "hakmem: huge");
  put_num(&l, "current", LOAD(huge_count));
  put_num(&l, "bytes", LOAD(huge_bytes));
  put_num(&l, "allocs", LOAD(huge_allocs));
  put(&l, "; heaps");
  put_num(&l, "created", LOAD(heaps));
  put_num(&l, "threads_exited", LOAD(threads_exited));
  put(&l, "\n");
  os_write(fd, l.buf, l.n);
}

/* Statistics: global counters updated on slow paths only, printed on
 * demand (hak_stats_print, HAKMEM_STATS=1 at exit) as "hakmem: " lines. */
#include "internal.h"
#include "../include/hakmem.h"

hak_stats_t hak_stats;

/* Adds delta to *cur and raises *peak to the new value if it is higher. */
static void add_with_peak(_Atomic size_t *cur, _Atomic size_t *peak, size_t delta) {
  size_t now = atomic_fetch_add_explicit(cur, delta, memory_order_relaxed) + delta;
  size_t old = atomic_load_explicit(peak, memory_order_relaxed);
  while (now > old && !atomic_compare_exchange_weak_explicit(peak, &old, now, memory_order_relaxed, memory_order_relaxed)) {}
}

void stats_inc_peak(_Atomic size_t *cur, _Atomic size_t *peak) { add_with_peak(cur, peak, 1); }

void stats_mapped(size_t bytes) { add_with_peak(&hak_stats.mapped, &hak_stats.mapped_peak, bytes); }

void stats_unmapped(size_t bytes) {
  atomic_fetch_sub_explicit(&hak_stats.mapped, bytes, memory_order_relaxed);
}

/* One line "hakmem: NAME VALUE", written without allocating. */
static void put_line(int fd, const char *name, const char *suffix, size_t value) {
  char buf[128];
  size_t n = 0;
  for (const char *s = "hakmem: "; *s; s++) buf[n++] = *s;
  for (const char *s = name; *s && n < 80; s++) buf[n++] = *s;
  for (const char *s = suffix; *s && n < 100; s++) buf[n++] = *s;
  buf[n++] = ' ';
  n += fmt_u64(buf + n, value);
  buf[n++] = '\n';
  os_write(fd, buf, n);
}

#define LOAD(f) atomic_load_explicit(&hak_stats.f, memory_order_relaxed)

HAK_EXPORT void hak_stats_print(int fd) {
  heap_counters_t c;
  heap_counters_sum(&c);
  size_t per_class[NUM_CLASSES];
  size_t slabs = pool_slabs_in_use(per_class);
  put_line(fd, "pid", "", (size_t)os_getpid());
  put_line(fd, "superslabs_now", "", LOAD(superslabs));
  put_line(fd, "superslabs_peak", "", LOAD(superslabs_peak));
  put_line(fd, "slabs_in_use", "", slabs);
  for (unsigned i = 0; i < NUM_CLASSES; i++) {
    if (per_class[i] == 0) continue;
    char suffix[16] = ".";
    suffix[1 + fmt_u64(suffix + 1, hak_class_size[i])] = '\0';
    put_line(fd, "slabs_in_use", suffix, per_class[i]);
  }
  put_line(fd, "bytes_mapped_now", "", LOAD(mapped));
  put_line(fd, "bytes_mapped_peak", "", LOAD(mapped_peak));
  put_line(fd, "pages_purged", "", LOAD(pages_purged));
  size_t runs, run_bytes;
  pool_large_usage(&runs, &run_bytes);
  put_line(fd, "large_now", "", runs);
  put_line(fd, "large_bytes_now", "", run_bytes);
  put_line(fd, "huge_now", "", LOAD(huge_count));
  put_line(fd, "huge_bytes_now", "", LOAD(huge_bytes));
  put_line(fd, "huge_allocs", "", LOAD(huge_allocs));
  put_line(fd, "huge_cached", "", LOAD(huge_cached));
  put_line(fd, "huge_reused", "", LOAD(huge_reused));
  put_line(fd, "refills", "", c.refills);
  put_line(fd, "flushes", "", c.flushes);
  put_line(fd, "remote_frees", "", c.remote_frees + LOAD(remote_frees_heapless));
  put_line(fd, "remote_collected", "", c.remote_collected);
  put_line(fd, "slabs_orphaned", "", c.orphaned);
  put_line(fd, "slabs_adopted", "", c.adopted);
  put_line(fd, "heaps_created", "", LOAD(heaps));
  put_line(fd, "threads_exited", "", LOAD(threads_exited));
}

/* Statistics: per-heap counters (heap.c) summed on demand, and global
 * counters of slow-path events (mappings, purges, huge blocks); gathered by
 * hak_stats_get and printed as "hakmem: NAME VALUE" lines (HAKMEM_STATS=1
 * at exit, malloc_stats) or as XML (malloc_info). */
#include "internal.h"
#include "../include/hakmem.h"

#include <errno.h>
#include <stdio.h>

hak_global_t hak_global;

/* Adds delta to *cur and raises *peak to the new value if it is higher. */
static void add_with_peak(_Atomic size_t *cur, _Atomic size_t *peak, size_t delta) {
  size_t now = atomic_fetch_add_explicit(cur, delta, memory_order_relaxed) + delta;
  size_t old = atomic_load_explicit(peak, memory_order_relaxed);
  while (now > old && !atomic_compare_exchange_weak_explicit(peak, &old, now, memory_order_relaxed, memory_order_relaxed)) {}
}

void stats_inc_peak(_Atomic size_t *cur, _Atomic size_t *peak) { add_with_peak(cur, peak, 1); }

void stats_mapped(size_t bytes) { add_with_peak(&hak_global.mapped, &hak_global.mapped_peak, bytes); }

void stats_unmapped(size_t bytes) {
  atomic_fetch_sub_explicit(&hak_global.mapped, bytes, memory_order_relaxed);
}

#define LOAD(f) atomic_load_explicit(&hak_global.f, memory_order_relaxed)

/* Each guards a scratch buffer of its function; a fork child, where the
 * thread that held one is gone, starts them afresh. */
static pthread_mutex_t sum_lock = PTHREAD_MUTEX_INITIALIZER, print_lock = PTHREAD_MUTEX_INITIALIZER,
                       info_lock = PTHREAD_MUTEX_INITIALIZER;
void stats_fork_child(void) {
  sum_lock = print_lock = info_lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
}

HAK_EXPORT int hak_stats_get(struct hak_stats *out) {
  _Static_assert(HAK_STATS_CLASSES == NUM_CLASSES, "one record per size class");
  static heap_counters_t c;   /* too big for small thread stacks; guarded by sum_lock */
  pool_usage_t u;
  pool_usage(&u);
  *out = (struct hak_stats){ 0 };
  pthread_mutex_lock(&sum_lock);
  heap_counters_sum(&c);
  for (unsigned i = 0; i < NUM_CLASSES; i++) {
    struct hak_class_stats *k = &out->classes[i];
    k->block_size = hak_class_size[i];
    k->allocs = c.allocs[i];
    k->frees = c.frees[i];
    k->remote_frees = c.remote[i];
    k->slabs_in_use = u.class_slabs[i];
    out->allocs += k->allocs;
    out->frees += k->frees;
    out->remote_frees += k->remote_frees;
  }
  out->refills = c.refills;
  out->flushes = c.flushes;
  out->remote_collected = c.remote_collected;
  out->slabs_orphaned = c.orphaned;
  out->slabs_adopted = c.adopted;
  out->large_allocs = c.large_allocs;
  out->large_frees = c.large_frees;
  out->spill_pushes = c.spill_pushes;
  out->spill_blocks = c.spill_blocks;
  out->spill_takes = c.spill_takes;
  pthread_mutex_unlock(&sum_lock);
  out->superslabs_now = LOAD(superslabs);
  out->superslabs_peak = LOAD(superslabs_peak);
  out->bytes_mapped_now = LOAD(mapped);
  out->bytes_mapped_peak = LOAD(mapped_peak);
  out->bytes_purged = LOAD(pages_purged) << PAGE_SHIFT;
  out->bytes_parked = LOAD(pages_parked) << PAGE_SHIFT;
  out->slabs_in_use = u.slabs;
  out->large_now = u.large_runs;
  out->large_bytes_now = u.large_bytes;
  out->huge_now = LOAD(huge_count);
  out->huge_bytes_now = LOAD(huge_bytes);
  out->huge_allocs = LOAD(huge_allocs);
  out->huge_cached = LOAD(huge_cached);
  out->huge_reused = LOAD(huge_reused);
  /* huge mappings are counted whole: the program touched what it asked for */
  out->bytes_committed = u.committed + out->huge_bytes_now + LOAD(heap_bytes);
  out->spill_drained = LOAD(spill_drained);
  out->bg_drains = LOAD(bg_drains);
  out->bg_drained = LOAD(bg_drained);
  out->heaps_created = LOAD(heaps);
  out->threads_exited = LOAD(threads_exited);
  return 0;
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

/* The figures are gathered first; no lock is held while they are written. */
HAK_EXPORT void hak_stats_print(int fd) {
  static struct hak_stats st;   /* 3 KiB: kept off small thread stacks */
  pthread_mutex_lock(&print_lock);
  hak_stats_get(&st);
  static const struct { const char *name; size_t off; } lines[] = {
#define F(x) { #x, offsetof(struct hak_stats, x) }
    F(superslabs_now), F(superslabs_peak), F(bytes_mapped_now), F(bytes_mapped_peak),
    F(bytes_committed), F(bytes_purged), F(bytes_parked), F(slabs_in_use), F(allocs), F(frees), F(remote_frees),
    F(refills), F(flushes), F(remote_collected), F(slabs_orphaned), F(slabs_adopted),
    F(large_now), F(large_bytes_now), F(large_allocs), F(large_frees),
    F(huge_now), F(huge_bytes_now), F(huge_allocs), F(huge_cached), F(huge_reused),
    F(spill_pushes), F(spill_blocks), F(spill_takes), F(spill_drained), F(bg_drains), F(bg_drained),
    F(heaps_created), F(threads_exited),
#undef F
  };
  put_line(fd, "pid", "", (size_t)os_getpid());
  for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
    put_line(fd, lines[i].name, "", *(const size_t *)((const char *)&st + lines[i].off));
  for (unsigned i = 0; i < HAK_STATS_CLASSES; i++) {
    const struct hak_class_stats *k = &st.classes[i];
    if (k->allocs == 0 && k->frees == 0 && k->slabs_in_use == 0) continue;
    char suffix[16] = ".";
    suffix[1 + fmt_u64(suffix + 1, k->block_size)] = '\0';
    put_line(fd, "allocs", suffix, k->allocs);
    put_line(fd, "frees", suffix, k->frees);
    put_line(fd, "remote_frees", suffix, k->remote_frees);
    put_line(fd, "slabs_in_use", suffix, k->slabs_in_use);
  }
  pthread_mutex_unlock(&print_lock);
}

/* glibc's malloc_info format in outline (one heap), with hakmem's figures:
 * per class, blocks in use and their bytes; totals of what is mapped. */
HAK_EXPORT int hak_malloc_info(int options, FILE *fp) {
  if (options != 0) { errno = EINVAL; return -1; }
  static struct hak_stats st;
  pthread_mutex_lock(&info_lock);   /* the figures' buffer only: no allocator lock is held while writing */
  hak_stats_get(&st);
  fprintf(fp, "<malloc version=\"hakmem-1\">\n<heap nr=\"0\">\n<sizes>\n");
  size_t live_bytes = 0, live = 0;
  for (unsigned i = 0; i < HAK_STATS_CLASSES; i++) {
    const struct hak_class_stats *k = &st.classes[i];
    if (k->allocs == 0 && k->slabs_in_use == 0) continue;
    size_t in_use = k->allocs >= k->frees ? k->allocs - k->frees : 0;
    live += in_use;
    live_bytes += in_use * k->block_size;
    fprintf(fp, "<size from=\"%zu\" to=\"%zu\" total=\"%zu\" count=\"%zu\" allocs=\"%zu\" frees=\"%zu\" remote_frees=\"%zu\" slabs=\"%zu\"/>\n",
            i == 0 ? (size_t)1 : st.classes[i - 1].block_size + 1, k->block_size, in_use * k->block_size, in_use,
            k->allocs, k->frees, k->remote_frees, k->slabs_in_use);
  }
  fprintf(fp, "</sizes>\n<total type=\"small\" count=\"%zu\" size=\"%zu\"/>\n", live, live_bytes);
  fprintf(fp, "<total type=\"large\" count=\"%zu\" size=\"%zu\"/>\n", st.large_now, st.large_bytes_now);
  fprintf(fp, "<total type=\"mmap\" count=\"%zu\" size=\"%zu\"/>\n", st.huge_now, st.huge_bytes_now);
  fprintf(fp, "<system type=\"current\" size=\"%zu\"/>\n<system type=\"max\" size=\"%zu\"/>\n", st.bytes_mapped_now, st.bytes_mapped_peak);
  fprintf(fp, "<system type=\"committed\" size=\"%zu\"/>\n<system type=\"purged\" size=\"%zu\"/>\n", st.bytes_committed, st.bytes_purged);
  fprintf(fp, "<superslabs now=\"%zu\" peak=\"%zu\"/>\n", st.superslabs_now, st.superslabs_peak);
  fprintf(fp, "</heap>\n</malloc>\n");
  pthread_mutex_unlock(&info_lock);
  return 0;
}

HAK_EXPORT void hak_malloc_stats(void) { hak_stats_print(2); }

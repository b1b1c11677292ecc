/* hakmem: a general-purpose memory allocator for Linux.
 *
 * The library replaces the C library's malloc family when it is preloaded
 * (LD_PRELOAD=libhakmem.so) or linked in (libhakmem.a).  The functions below
 * are the same allocator under a hak_ prefix, so that a program can call
 * hakmem without replacing its malloc (link libhakmem-api.a, which holds
 * only these). */
#ifndef HAKMEM_H
#define HAKMEM_H

#include <stddef.h>
#include <malloc.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

void  *hak_malloc(size_t size);
void   hak_free(void *p);
void  *hak_calloc(size_t count, size_t size);
void  *hak_realloc(void *p, size_t size);
void  *hak_reallocarray(void *p, size_t count, size_t size);
int    hak_posix_memalign(void **out, size_t alignment, size_t size);
void  *hak_aligned_alloc(size_t alignment, size_t size);
void  *hak_memalign(size_t alignment, size_t size);
void  *hak_valloc(size_t size);
void  *hak_pvalloc(size_t size);
size_t hak_malloc_usable_size(const void *p);

struct mallinfo  hak_mallinfo(void);
struct mallinfo2 hak_mallinfo2(void);
int    hak_mallopt(int param, int value);
int    hak_malloc_trim(size_t pad);

/* 1 when p points at the start of a block of hakmem's that is in use; 0
 * otherwise (free blocks, even in a thread's cache, give 0 as far as their
 * free mark shows it).  Never aborts, unlike free of a foreign pointer. */
int    hak_owns(const void *p);

/* Statistics, counted always (per thread, merged when asked for).  The
 * README, "Statistics", says what each figure means. */
#define HAK_STATS_CLASSES 72

struct hak_class_stats {
  size_t block_size;
  size_t allocs;          /* blocks handed out */
  size_t frees;           /* blocks freed, by any thread */
  size_t remote_frees;    /* of those, by a thread that did not own the block's slab */
  size_t slabs_in_use;
};

struct hak_stats {
  size_t superslabs_now, superslabs_peak;
  size_t bytes_mapped_now, bytes_mapped_peak;
  size_t bytes_committed;   /* mapped and touched, not given back */
  size_t bytes_purged;      /* given back to the OS (MADV_DONTNEED) since start */
  size_t bytes_parked;      /* of those, pages of slabs in use that only free blocks covered */
  size_t slabs_in_use;
  size_t allocs, frees, remote_frees;               /* the classes' totals */
  size_t refills, flushes, remote_collected, slabs_orphaned, slabs_adopted;
  size_t large_now, large_bytes_now, large_allocs, large_frees;
  size_t huge_now, huge_bytes_now, huge_allocs, huge_cached, huge_reused;
  size_t spill_pushes, spill_blocks, spill_takes, spill_drained, bg_drains, bg_drained;
  size_t heaps_created, threads_exited;
  struct hak_class_stats classes[HAK_STATS_CLASSES];
};

/* Fills *out; returns 0. */
int    hak_stats_get(struct hak_stats *out);

/* malloc_info's XML (options must be 0), and malloc_stats's lines on stderr. */
int    hak_malloc_info(int options, FILE *fp);
void   hak_malloc_stats(void);

/* Writes the statistics lines ("hakmem: NAME VALUE") to the file descriptor. */
void   hak_stats_print(int fd);

#ifdef __cplusplus
}
#endif
#endif

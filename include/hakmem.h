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

/* 1 when p points at the start of a block of hakmem's (in use, or free in
 * a cache or slab that is still in use); 0 otherwise.  Never aborts, unlike
 * free of a foreign pointer. */
int    hak_owns(const void *p);

/* Writes the statistics lines ("hakmem: ...") to the file descriptor. */
void   hak_stats_print(int fd);

#ifdef __cplusplus
}
#endif
#endif

/* The exported malloc family, glibc's __libc_* aliases included, so that
 * every entry point that hands out or takes back memory is hakmem's.  Only
 * in libhakmem.so and libhakmem.a; libhakmem-api.a leaves malloc alone.
 *
 * C++: libstdc++'s operator new and delete call malloc, free and
 * aligned_alloc, and keep the C++ semantics (new_handler, bad_alloc,
 * nothrow); hakmem does not export operators of its own. */
#include "internal.h"
#include "../include/hakmem.h"

#include <malloc.h>
#include <stdlib.h>

/* The debug build goes through hak_malloc and hak_free, which check. */
HAK_EXPORT void *malloc(size_t size) { return HAK_DEBUG ? hak_malloc(size) : hak_alloc_inline(size); }
HAK_EXPORT void free(void *p) { if (HAK_DEBUG) hak_free(p); else hak_free_inline(p, "free"); }
HAK_EXPORT void *calloc(size_t count, size_t size) { return hak_calloc(count, size); }
HAK_EXPORT void *realloc(void *p, size_t size) { return hak_realloc(p, size); }
HAK_EXPORT void *reallocarray(void *p, size_t count, size_t size) { return hak_reallocarray(p, count, size); }
HAK_EXPORT int posix_memalign(void **out, size_t alignment, size_t size) { return hak_posix_memalign(out, alignment, size); }
HAK_EXPORT void *aligned_alloc(size_t alignment, size_t size) { return hak_aligned_alloc(alignment, size); }
HAK_EXPORT void *memalign(size_t alignment, size_t size) { return hak_memalign(alignment, size); }
HAK_EXPORT void *valloc(size_t size) { return hak_valloc(size); }
HAK_EXPORT void *pvalloc(size_t size) { return hak_pvalloc(size); }
HAK_EXPORT size_t malloc_usable_size(void *p) { return hak_malloc_usable_size(p); }
HAK_EXPORT struct mallinfo mallinfo(void) { return hak_mallinfo(); }
HAK_EXPORT struct mallinfo2 mallinfo2(void) { return hak_mallinfo2(); }
HAK_EXPORT int mallopt(int param, int value) { return hak_mallopt(param, value); }
HAK_EXPORT int malloc_trim(size_t pad) { return hak_malloc_trim(pad); }
HAK_EXPORT void malloc_stats(void) { hak_malloc_stats(); }
HAK_EXPORT int malloc_info(int options, FILE *fp) { return hak_malloc_info(options, fp); }

/* glibc's old alias of free (no longer declared by its headers): a binary
 * bound to it would otherwise reach glibc's free with hakmem's block. */
HAK_EXPORT void cfree(void *p);
HAK_EXPORT void cfree(void *p) { free(p); }

/* glibc's internal names, for programs and libraries that call them. */
HAK_EXPORT void *__libc_malloc(size_t size) { return malloc(size); }
HAK_EXPORT void __libc_free(void *p) { free(p); }
HAK_EXPORT void *__libc_calloc(size_t count, size_t size) { return hak_calloc(count, size); }
HAK_EXPORT void *__libc_realloc(void *p, size_t size) { return hak_realloc(p, size); }
HAK_EXPORT void *__libc_memalign(size_t alignment, size_t size) { return hak_memalign(alignment, size); }
HAK_EXPORT void *__libc_valloc(size_t size) { return hak_valloc(size); }
HAK_EXPORT void *__libc_pvalloc(size_t size) { return hak_pvalloc(size); }
HAK_EXPORT struct mallinfo __libc_mallinfo(void) { return hak_mallinfo(); }
HAK_EXPORT int __libc_mallopt(int param, int value) { return hak_mallopt(param, value); }

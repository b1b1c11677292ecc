/* The exported malloc family, as a program sees it with libhakmem.so
 * preloaded (and, built as test_static, with libhakmem.a linked in): every
 * entry point hands out hakmem's blocks, libc's own allocations included,
 * and they can be freed through any other entry point.
 *
 * usage: test_preload            run the checks
 *        test_preload misuse     free a stack address (must abort) */
#include "check.h"

#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

/* Resolved from libhakmem when it is preloaded or linked in; NULL otherwise. */
int hak_owns(const void *p) __attribute__((weak));

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void  __libc_free(void *);

static int owned(const void *p) { return hak_owns != NULL && hak_owns(p); }

static void *thread_alloc(void *arg) {
  (void)arg;
  char **blocks = malloc(1000 * sizeof(char *));
  for (int i = 0; i < 1000; i++) {
    blocks[i] = malloc((size_t)(i % 300) + 1);
    memset(blocks[i], i & 0xff, (size_t)(i % 300) + 1);
  }
  return blocks;   /* freed by the main thread */
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "misuse") == 0) {
    int x = 0;
    void *volatile not_heap = &x;   /* hidden from the compiler's own warning */
    free(not_heap);
    return 0;
  }
  CHECK(hak_owns != NULL);   /* hakmem is loaded */
  void *p = malloc(100);
  CHECK(owned(p));
  void *c = calloc(10, 10);
  CHECK(owned(c));
  p = realloc(p, 5000);
  CHECK(owned(p));
  void *a = NULL;
  CHECK(posix_memalign(&a, 256, 100) == 0 && owned(a) && (uintptr_t)a % 256 == 0);
  void *al = aligned_alloc(64, 128);
  CHECK(owned(al) && (uintptr_t)al % 64 == 0);
  void *m = memalign(4096, 10);
  CHECK(owned(m));
  void *v = valloc(10);
  CHECK(owned(v));
  void *pv = pvalloc(10);
  CHECK(owned(pv) && malloc_usable_size(pv) >= (size_t)sysconf(_SC_PAGESIZE));
  void *ra = reallocarray(NULL, 10, 10);
  CHECK(owned(ra));
  /* glibc's internal names hand out hakmem blocks too, freeable by free */
  void *l1 = __libc_malloc(40), *l2 = __libc_calloc(2, 8), *l3 = __libc_memalign(128, 50);
  CHECK(owned(l1) && owned(l2) && owned(l3));
  l1 = __libc_realloc(l1, 4000);
  CHECK(owned(l1));
  free(l1);
  free(l2);
  __libc_free(l3);
  /* cfree, glibc's old alias that its headers no longer declare: dlsym
   * finds only a default symbol, so only hakmem's (linked in, the
   * program's own symbols are not dynamic: called by name) */
#ifdef HAKMEM_STATIC_TEST
  extern void cfree(void *);
  void (*cf)(void *) = cfree;
#else
  void (*cf)(void *) = (void (*)(void *))dlsym(RTLD_DEFAULT, "cfree");
#endif
  CHECK(cf != NULL);
  if (cf != NULL) {
    void *c = malloc(100);
    cf(c);
    CHECK(!owned(c));
  }
  /* libc's own allocations */
  char *s = strdup("hakmem");
  CHECK(owned(s));
  FILE *f = fopen("/proc/self/maps", "r");
  CHECK(f != NULL);
  char *line = NULL;
  size_t cap = 0;
  int maps_hakmem = 0;
  while (getline(&line, &cap, f) > 0)
    if (strstr(line, "libhakmem")) maps_hakmem = 1;
  CHECK(owned(line));
  fclose(f);
  free(line);
#ifndef HAKMEM_STATIC_TEST
  CHECK(maps_hakmem);   /* the preloaded library is mapped */
#else
  (void)maps_hakmem;
#endif
  free(s);
  free(p); free(c); free(a); free(al); free(m); free(v); free(pv); free(ra);
  /* blocks from other threads, freed here */
  pthread_t t[4];
  for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, thread_alloc, NULL);
  for (int i = 0; i < 4; i++) {
    char **blocks;
    pthread_join(t[i], (void **)&blocks);
    int bad = 0;
    for (int j = 0; j < 1000; j++) {
      bad += !owned(blocks[j]) || blocks[j][0] != (char)(j & 0xff);
      free(blocks[j]);
    }
    CHECK(bad == 0);
    free(blocks);
  }
  errno = 123;
  free(malloc(10));
  CHECK(errno == 123);
  int trimmed = malloc_trim(0);
  CHECK(trimmed == 0 || trimmed == 1);
  struct mallinfo2 mi = mallinfo2();
  CHECK(mi.arena > 0);
  CHECK_DONE();
}

/* The malloc family's semantics, driven through the hak_ API. */
#include "check.h"
#include "hakmem.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

static void fill(unsigned char *p, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++) p[i] = (unsigned char)(seed + i * 7);
}
static int verify(const unsigned char *p, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++) if (p[i] != (unsigned char)(seed + i * 7)) return 0;
  return 1;
}

static const size_t sizes[] = { 0, 1, 7, 8, 15, 16, 17, 31, 100, 255, 256, 257, 500, 1000, 1024, 1025,
  2000, 4096, 5000, 16384, 32767, 32768, 32769, 65536, 100000, 1 << 20, (3 << 20) + 5, 9 << 20 };
#define NSIZES (sizeof sizes / sizeof sizes[0])

static void test_alignment_and_usable(void) {
  void *ps[NSIZES];
  for (size_t i = 0; i < NSIZES; i++) {
    size_t n = sizes[i];
    ps[i] = hak_malloc(n);
    CHECK(ps[i] != NULL);
    CHECK(((uintptr_t)ps[i] & (n >= 16 || n == 0 ? 15 : 7)) == 0);
    size_t u = hak_malloc_usable_size(ps[i]);
    CHECK(u >= n);
    memset(ps[i], 0x5a, u);   /* the whole usable size is writable */
    CHECK(hak_owns(ps[i]));
  }
  for (size_t i = 0; i < NSIZES; i++) hak_free(ps[i]);
  CHECK(hak_malloc_usable_size(NULL) == 0);
  /* Every block, in every class, 16-byte aligned. */
  for (size_t n = 16; n <= 40000; n += 16) {
    void *p = hak_malloc(n);
    CHECK(p != NULL && ((uintptr_t)p & 15) == 0);
    hak_free(p);
  }
}

static void test_malloc_zero(void) {
  void *a = hak_malloc(0), *b = hak_malloc(0);
  CHECK(a != NULL && b != NULL && a != b);
  hak_free(a);
  hak_free(b);
}

static void test_enomem(void) {
  const size_t bad[] = { SIZE_MAX, SIZE_MAX - 4096, (size_t)PTRDIFF_MAX + 1, SIZE_MAX / 2 };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    errno = 0;
    CHECK(hak_malloc(bad[i]) == NULL && errno == ENOMEM);
    errno = 0;
    CHECK(hak_aligned_alloc(64, bad[i]) == NULL && errno == ENOMEM);
    errno = 0;
    CHECK(hak_memalign(4096, bad[i]) == NULL && errno == ENOMEM);
    errno = 0;
    CHECK(hak_pvalloc(bad[i]) == NULL && errno == ENOMEM);
    void *p = (void *)1;
    CHECK(hak_posix_memalign(&p, 64, bad[i]) == ENOMEM && p == (void *)1);
  }
  errno = 0;
  CHECK(hak_calloc(SIZE_MAX / 2, 3) == NULL && errno == ENOMEM);
  errno = 0;
  CHECK(hak_calloc((size_t)1 << 33, (size_t)1 << 33) == NULL && errno == ENOMEM);
  unsigned char *p = hak_malloc(100);
  fill(p, 100, 3);
  errno = 0;
  CHECK(hak_reallocarray(p, SIZE_MAX / 4, 8) == NULL && errno == ENOMEM);
  errno = 0;
  CHECK(hak_realloc(p, SIZE_MAX - 10) == NULL && errno == ENOMEM);
  CHECK(verify(p, 100, 3));   /* a failed realloc leaves the block intact */
  hak_free(p);
  p = hak_malloc(3 << 20);
  fill(p, 3 << 20, 9);
  errno = 0;
  CHECK(hak_realloc(p, SIZE_MAX / 2) == NULL && errno == ENOMEM);
  CHECK(verify(p, 3 << 20, 9));
  hak_free(p);
}

static void test_errno(void) {
  for (size_t i = 0; i < NSIZES; i++) {
    errno = 4242;
    void *p = hak_malloc(sizes[i]);
    CHECK(p != NULL && errno == 4242);   /* success leaves errno alone */
    hak_free(p);
    CHECK(errno == 4242);                /* free never changes errno */
    void *q = hak_calloc(1, sizes[i]);
    q = hak_realloc(q, sizes[i] * 2 + 1);
    CHECK(q != NULL && errno == 4242);
    hak_free(q);
    CHECK(errno == 4242);
  }
  errno = 77;
  hak_free(NULL);
  CHECK(errno == 77);
  void *r = hak_malloc(10);
  errno = 77;
  CHECK(hak_realloc(r, 0) == NULL && errno == 77);
}

static void test_calloc_zero(void) {
  for (int round = 0; round < 3; round++) {
    void *ps[NSIZES];
    for (size_t i = 0; i < NSIZES; i++) {
      ps[i] = hak_malloc(sizes[i]);
      memset(ps[i], 0xab, hak_malloc_usable_size(ps[i]));
    }
    for (size_t i = 0; i < NSIZES; i++) hak_free(ps[i]);
    for (size_t i = 0; i < NSIZES; i++) {
      unsigned char *c = hak_calloc(1, sizes[i]);
      CHECK(c != NULL);
      size_t bad = 0;
      for (size_t j = 0; j < sizes[i]; j++) bad += c[j] != 0;
      CHECK(bad == 0);
      ps[i] = c;
    }
    for (size_t i = 0; i < NSIZES; i++) hak_free(ps[i]);
  }
  /* calloc of many blocks of one class, all recycled */
  void *blocks[500];
  for (int i = 0; i < 500; i++) { blocks[i] = hak_malloc(48); memset(blocks[i], 0xff, 48); }
  for (int i = 0; i < 500; i++) hak_free(blocks[i]);
  size_t bad = 0;
  for (int i = 0; i < 500; i++) {
    unsigned char *c = hak_calloc(6, 8);
    for (int j = 0; j < 48; j++) bad += c[j] != 0;
    blocks[i] = c;
  }
  CHECK(bad == 0);
  for (int i = 0; i < 500; i++) hak_free(blocks[i]);
}

static void test_realloc_tiers(void) {
  const size_t steps[] = { 1, 16, 100, 1024, 1500, 8000, 32768, 40000, 700000, 3 << 20, 10 << 20,
                           5 << 20, 50000, 20000, 1000, 100, 8, 200, 5 << 20, 16 };
  size_t cur = 0;
  unsigned char *p = NULL;
  for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
    size_t n = steps[i];
    unsigned char *q = hak_realloc(p, n);
    CHECK(q != NULL);
    size_t keep = cur < n ? cur : n;
    CHECK(verify(q, keep, 11));
    fill(q, n, 11);
    p = q;
    cur = n;
  }
  hak_free(p);
}

static void test_aligned(void) {
  const size_t bad[] = { 0, 1, 2, 3, 4, 12, 24, 48, 100, 4095 };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    void *p = (void *)1;
    CHECK(hak_posix_memalign(&p, bad[i], 16) == EINVAL && p == (void *)1);
  }
  errno = 0;
  CHECK(hak_aligned_alloc(24, 100) == NULL && errno == EINVAL);
  for (size_t a = 1; a <= ((size_t)8 << 20); a <<= 1) {
    const size_t ns[] = { 0, 1, 24, a / 2 + 1, a, a + 1, 3 * a, 70000 };
    for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++) {
      size_t n = ns[k];
      void *p = NULL;
      if (a >= sizeof(void *)) {
        CHECK(hak_posix_memalign(&p, a, n) == 0);
        CHECK(p != NULL && (uintptr_t)p % a == 0 && hak_malloc_usable_size(p) >= n);
        fill(p, n, 5);
        p = hak_realloc(p, n + 5000);   /* aligned blocks realloc like any other */
        CHECK(p != NULL && verify(p, n, 5));
        hak_free(p);
      }
      p = hak_aligned_alloc(a, n);
      CHECK(p != NULL && (uintptr_t)p % a == 0 && hak_malloc_usable_size(p) >= n);
      memset(p, 1, n);
      hak_free(p);
      p = hak_memalign(a, n);
      CHECK(p != NULL && (uintptr_t)p % a == 0 && hak_malloc_usable_size(p) >= n);
      hak_free(p);
    }
  }
  void *m = hak_memalign(24, 100);   /* rounded up to 32, like glibc */
  CHECK(m != NULL && (uintptr_t)m % 32 == 0);
  hak_free(m);
  size_t ps = (size_t)sysconf(_SC_PAGESIZE);
  void *v = hak_valloc(100);
  CHECK(v != NULL && (uintptr_t)v % ps == 0);
  hak_free(v);
  void *pv = hak_pvalloc(ps + 1);
  CHECK(pv != NULL && (uintptr_t)pv % ps == 0 && hak_malloc_usable_size(pv) >= 2 * ps);
  memset(pv, 3, 2 * ps);
  hak_free(pv);
  pv = hak_pvalloc(0);
  CHECK(pv != NULL && (uintptr_t)pv % ps == 0 && hak_malloc_usable_size(pv) >= ps);
  hak_free(pv);
}

static void test_info(void) {
  void *small[1000];
  for (int i = 0; i < 1000; i++) small[i] = hak_malloc(1000);
  void *huge = hak_malloc(5 << 20);
  struct mallinfo2 mi = hak_mallinfo2();
  CHECK(mi.uordblks >= 1000 * 1000);
  CHECK(mi.arena >= mi.uordblks);
  CHECK(mi.hblks >= 1 && mi.hblkhd >= (5u << 20));
  struct mallinfo old = hak_mallinfo();
  CHECK(old.hblks >= 1 && old.uordblks > 0);
  hak_free(huge);
  for (int i = 0; i < 1000; i++) hak_free(small[i]);
  CHECK(hak_mallopt(M_MMAP_THRESHOLD, 1 << 20) == 1);
  CHECK(hak_mallopt(M_KEEP, 0) == 1 && hak_mallopt(M_MXFAST, 64) == 1);
  CHECK(hak_mallopt(M_MXFAST, -1) == 0 && hak_mallopt(M_MXFAST, 161) == 0);   /* glibc refuses these */
  CHECK(hak_mallopt(12345, 1) == 0);
  hak_malloc_trim(0);                /* nothing else left to give back */
  void *cached = hak_malloc(8 << 20);
  hak_free(cached);                  /* kept in the huge tier's cache */
  CHECK(hak_malloc_trim(0) == 1);    /* unmapped: memory went back */
  errno = 9;
  int t = hak_malloc_trim(0);
  CHECK((t == 0 || t == 1) && errno == 9);
  CHECK(hak_mallinfo2().uordblks < mi.uordblks);
}

static void test_owns(void) {
  int local;
  CHECK(!hak_owns(&local));
  CHECK(!hak_owns(NULL));
  char *p = hak_malloc(64);
  CHECK(hak_owns(p) && !hak_owns(p + 16) && !hak_owns(p + 1));
  hak_free(p);
  char *h = hak_malloc(4 << 20);
  CHECK(hak_owns(h) && !hak_owns(h + 4096));
  hak_free(h);
  CHECK(!hak_owns(h));
}

static unsigned class_of_size(const struct hak_stats *s, size_t size) {
  unsigned i = 0;
  while (i < HAK_STATS_CLASSES - 1 && s->classes[i].block_size < size) i++;
  return i;
}

static void *free_all(void *arg) {
  void **blocks = arg;
  for (int i = 0; i < 100; i++) hak_free(blocks[i]);
  return NULL;
}

/* The value of "hakmem: NAME VALUE" in text, or -1. */
static long long stat_line(const char *text, const char *name) {
  char key[96];
  snprintf(key, sizeof key, "hakmem: %s ", name);
  const char *p = strstr(text, key);
  return p ? atoll(p + strlen(key)) : -1;
}

static long long xml_attr(const char *text, const char *element, const char *attr) {
  const char *p = strstr(text, element);
  if (p == NULL) return -1;
  char key[32];
  snprintf(key, sizeof key, "%s=\"", attr);
  p = strstr(p, key);
  return p ? atoll(p + strlen(key)) : -1;
}

/* Reads a file written through fd or FILE into buf. */
static void slurp(FILE *f, char *buf, size_t cap) {
  rewind(f);
  size_t n = fread(buf, 1, cap - 1, f);
  buf[n] = '\0';
}

static void test_stats(void) {
  static struct hak_stats s0, s1, s2;
  hak_stats_get(&s0);
  unsigned c48 = class_of_size(&s0, 48), c64 = class_of_size(&s0, 64);
  CHECK(s0.classes[c48].block_size == 48 && s0.classes[c64].block_size == 64);
  void *small[1000], *remote[100], *large[10], *huge[2];
  for (int i = 0; i < 1000; i++) small[i] = hak_malloc(40);
  for (int i = 0; i < 100; i++) remote[i] = hak_malloc(64);
  for (int i = 0; i < 10; i++) large[i] = hak_malloc(100 << 10);
  for (int i = 0; i < 2; i++) huge[i] = hak_malloc(4 << 20);
  hak_stats_get(&s1);
  CHECK(s1.classes[c48].allocs - s0.classes[c48].allocs == 1000);
  CHECK(s1.classes[c64].allocs - s0.classes[c64].allocs == 100);
  CHECK(s1.large_allocs - s0.large_allocs == 10 && s1.large_now >= 10);
  CHECK(s1.huge_allocs - s0.huge_allocs == 2 && s1.huge_now >= 2);
  CHECK(s1.classes[c48].slabs_in_use >= 1 && s1.slabs_in_use >= 2);
  CHECK(s1.superslabs_now >= 1 && s1.superslabs_peak >= s1.superslabs_now);
  CHECK(s1.bytes_mapped_now >= s1.superslabs_now * (2u << 20) + (8u << 20));
  CHECK(s1.bytes_committed <= s1.bytes_mapped_now && s1.bytes_committed >= 1000 * 48 + (1000u << 10) + (8u << 20));

  /* the figures of mallinfo2, malloc_stats and malloc_info are hak_stats_get's */
  struct mallinfo2 mi = hak_mallinfo2();
  hak_stats_get(&s2);
  CHECK(mi.arena == s2.superslabs_now * (2u << 20) && mi.ordblks == s2.superslabs_now);
  CHECK(mi.hblks == s2.huge_now && mi.hblkhd == s2.huge_bytes_now && mi.usmblks == s2.bytes_mapped_peak);
  CHECK(mi.uordblks == s2.slabs_in_use * (64u << 10) + s2.large_bytes_now);
  static char text[1 << 16];
  FILE *f = tmpfile();
  fflush(stderr);
  int saved = dup(2);
  dup2(fileno(f), 2);
  hak_malloc_stats();
  dup2(saved, 2);
  close(saved);
  slurp(f, text, sizeof text);
  fclose(f);
  CHECK(stat_line(text, "superslabs_now") == (long long)s2.superslabs_now);
  CHECK(stat_line(text, "bytes_mapped_now") == (long long)s2.bytes_mapped_now);
  CHECK(stat_line(text, "huge_now") == (long long)s2.huge_now);
  CHECK(stat_line(text, "large_allocs") == (long long)s2.large_allocs);
  CHECK(stat_line(text, "allocs.48") == (long long)s2.classes[c48].allocs);
  CHECK(stat_line(text, "slabs_in_use.48") == (long long)s2.classes[c48].slabs_in_use);
  f = tmpfile();
  CHECK(hak_malloc_info(0, f) == 0);
  slurp(f, text, sizeof text);
  fclose(f);
  CHECK(strncmp(text, "<malloc version=", 16) == 0 && strstr(text, "</malloc>") != NULL);
  CHECK(xml_attr(text, "<system type=\"current\"", "size") == (long long)s2.bytes_mapped_now);
  CHECK(xml_attr(text, "<total type=\"mmap\"", "count") == (long long)s2.huge_now);
  CHECK(xml_attr(text, "to=\"48\"", "allocs") == (long long)s2.classes[c48].allocs);
  errno = 0;
  CHECK(hak_malloc_info(1, stdout) == -1 && errno == EINVAL);

  /* frees, by this thread and (remote) by another */
  pthread_t t;
  pthread_create(&t, NULL, free_all, remote);
  pthread_join(t, NULL);
  for (int i = 0; i < 1000; i++) hak_free(small[i]);
  for (int i = 0; i < 10; i++) hak_free(large[i]);
  for (int i = 0; i < 2; i++) hak_free(huge[i]);
  hak_stats_get(&s2);
  CHECK(s2.classes[c48].frees - s0.classes[c48].frees == 1000);
  CHECK(s2.classes[c64].frees - s0.classes[c64].frees == 100);
  CHECK(s2.classes[c64].remote_frees - s0.classes[c64].remote_frees == 100);
  CHECK(s2.classes[c48].remote_frees == s0.classes[c48].remote_frees);
  CHECK(s2.large_frees - s0.large_frees == 10);
  CHECK(s2.huge_now == s0.huge_now);
  hak_malloc_trim(0);
  hak_stats_get(&s2);   /* what was freed is given back: unmapped, or purged */
  CHECK(s2.bytes_mapped_now < s1.bytes_mapped_now && s2.bytes_committed < s1.bytes_committed);
}

int main(void) {
  test_alignment_and_usable();
  test_malloc_zero();
  test_enomem();
  test_errno();
  test_calloc_zero();
  test_realloc_tiers();
  test_aligned();
  test_info();
  test_owns();
  test_stats();
  CHECK_DONE();
}

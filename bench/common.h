/* Shared by the benchmarks: a cheap generator, a clock, the resident size,
 * and the name of the allocator library mapped into the process (so that a
 * run that fell back to another allocator is seen). */
#ifndef HAKMEM_BENCH_COMMON_H
#define HAKMEM_BENCH_COMMON_H
#include <fcntl.h>
#include <sys/resource.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static inline uint64_t rng_next(uint64_t *s) {   /* xorshift64 */
  uint64_t x = *s;
  x ^= x << 13; x ^= x >> 7; x ^= x << 17;
  return *s = x;
}

/* A value in [0, n) by multiply and shift, not a divide. */
static inline uint64_t rng_below(uint64_t *s, uint64_t n) {
  return (uint64_t)(((unsigned __int128)(rng_next(s) >> 32) * n) >> 32);
}

static inline double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* VmRSS in MiB, read with open/read into the stack: stdio would allocate a
 * buffer and disturb what is measured.  -1 if it cannot be read. */
static inline double rss_mb(void) {
  char buf[8192];
  int fd = open("/proc/self/status", O_RDONLY);
  if (fd < 0) return -1;
  size_t len = 0;
  ssize_t n;
  while (len < sizeof buf - 1 && (n = read(fd, buf + len, sizeof buf - 1 - len)) > 0) len += (size_t)n;
  close(fd);
  buf[len] = 0;
  const char *p = strstr(buf, "VmRSS:");
  return p ? (double)strtol(p + 6, NULL, 10) / 1024.0 : -1;
}

static const char *allocator_mapped(void) {
  static char name[64] = "glibc";
  FILE *f = fopen("/proc/self/maps", "r");
  if (!f) return "unknown";
  char line[1024];
  const char *libs[] = { "libhakmem", "libmimalloc", "libjemalloc", "libtcmalloc" };
  while (fgets(line, sizeof line, f)) {
    for (size_t i = 0; i < sizeof libs / sizeof libs[0]; i++) {
      if (strstr(line, libs[i])) { snprintf(name, sizeof name, "%s", libs[i] + 3); fclose(f); return name; }
    }
  }
  fclose(f);
  return name;
}

/* The result line the runner reads: NAME: RATE M ops/s ... (allocator: X) */
/* Minor page faults of the process per 1000 operations: what an
 * allocator's purging costs when memory is reused (getrusage). */
static inline void report_faults(const char *bench, double ops) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("%s minflt_per_kop %.2f\n", bench, (double)ru.ru_minflt * 1000.0 / ops);
}

static inline void report(const char *bench, double ops, double secs) {
  printf("%s: %.2f M ops/s, %.2f ns/op (allocator: %s)\n", bench, ops / secs / 1e6, secs * 1e9 / ops, allocator_mapped());
}
#endif

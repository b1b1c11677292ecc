/* bench_fragment [TOTAL_MB]: how much memory stays resident when the mix of
 * sizes changes.  (a) allocates about TOTAL_MB (default 256) of blocks: 60%
 * of 8..256 B, 30% of 256 B..8 KiB, 10% of 8..256 KiB; (b) frees a random
 * 90% of them; (c) allocates as many bytes as were freed in another mix: 30%
 * of 300 B..1 KiB, 50% of 2..32 KiB, 20% of 40..440 KiB; (d) frees
 * everything; (e) stays idle 1.5 s, calls malloc once (an allocator that
 * purges lazily may do it then) and waits 0.1 s more.  Every block is
 * written in full, so its pages are resident.
 *
 * Prints "bench_fragment FIGURE VALUE" lines, in MiB: requested bytes live
 * at the peak, VmRSS at the peak (the larger of after (a) and after (c)),
 * after (c), after (d) and at the end.  The pointer array is mmap'ed, outside
 * the allocator, but its pages count in VmRSS: array_mb is their size. */
#include "common.h"

#include <sys/mman.h>

typedef struct band {
  unsigned pct;
  size_t lo, hi;
} band_t;

static const band_t first_mix[] = { { 60, 8, 256 }, { 30, 256, 8192 }, { 10, 8192, 262144 } };
static const band_t second_mix[] = { { 30, 300, 1024 }, { 50, 2048, 32768 }, { 20, 40960, 450560 } };

static size_t pick(uint64_t *s, const band_t *mix) {
  uint64_t r = rng_below(s, 100);
  while (r >= mix->pct) r -= mix++->pct;
  return mix->lo + (size_t)rng_below(s, mix->hi - mix->lo + 1);
}

/* Allocates blocks of MIX until BYTES are reached, appending them at
 * blocks[*count]; each block is filled and keeps its size in its first word
 * (every size is at least 8). */
static size_t fill(char **blocks, size_t *count, size_t bytes, const band_t *mix, uint64_t *s) {
  size_t done = 0;
  while (done < bytes) {
    size_t n = pick(s, mix);
    char *p = malloc(n);
    if (!p) { perror("malloc"); exit(1); }
    memset(p, (int)(*count & 0xff) | 1, n);
    memcpy(p, &n, sizeof n);
    blocks[(*count)++] = p;
    done += n;
  }
  return done;
}

static size_t size_of(const char *p) {
  size_t n;
  memcpy(&n, p, sizeof n);
  return n;
}

static void pause_s(double secs) {
  struct timespec t = { (time_t)secs, (long)((secs - (double)(time_t)secs) * 1e9) };
  while (nanosleep(&t, &t) != 0) {}
}

int main(int argc, char **argv) {
  size_t total = (argc > 1 ? (size_t)atol(argv[1]) : 256) << 20;
  if (total == 0) return 2;
  uint64_t s = 0x2545f4914f6cdd1dull;
  /* Room for the worst case of both phases (8-byte and 300-byte blocks);
   * only the pages used become resident. */
  size_t cap = total / 8 + total / 300 + 2;
  char **blocks = mmap(NULL, cap * sizeof *blocks, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (blocks == MAP_FAILED) { perror("mmap"); return 1; }
  size_t count = 0;
  double t0 = now_s();

  size_t live = fill(blocks, &count, total, first_mix, &s);              /* (a) */
  size_t live_peak = live, used = count;   /* used: array entries touched */
  double rss_a = rss_mb();

  size_t freed = 0, kept = 0;                                              /* (b) */
  for (size_t i = 0; i < count; i++) {
    if (rng_below(&s, 10) == 0) { blocks[kept++] = blocks[i]; continue; }
    freed += size_of(blocks[i]);
    free(blocks[i]);
  }
  count = kept;
  live -= freed;

  live += fill(blocks, &count, freed, second_mix, &s);                    /* (c) */
  if (live > live_peak) live_peak = live;
  double rss_c = rss_mb();
  if (count > used) used = count;
  double array = (double)((used * sizeof *blocks + 4095) & ~(size_t)4095) / 1048576;

  for (size_t i = 0; i < count; i++) free(blocks[i]);                     /* (d) */
  double rss_d = rss_mb();

  pause_s(1.5);                                                            /* (e) */
  void *volatile keep = malloc(64);
  pause_s(0.1);
  double rss_e = rss_mb();
  double t1 = now_s();
  (void)keep;

  printf("bench_fragment live_peak_mb %.1f\n", (double)live_peak / 1048576);
  printf("bench_fragment rss_peak_mb %.1f\n", rss_a > rss_c ? rss_a : rss_c);
  printf("bench_fragment rss_after_reuse_mb %.1f\n", rss_c);
  printf("bench_fragment rss_after_free_mb %.1f\n", rss_d);
  printf("bench_fragment rss_end_mb %.1f\n", rss_e);
  printf("bench_fragment array_mb %.1f\n", array);
  printf("bench_fragment: %.0f MiB in %.2f s, 1.6 s of it idle (allocator: %s)\n", (double)total / 1048576, t1 - t0, allocator_mapped());
  return 0;
}

/* bench_thread_churn [THREADS [BLOCKS]]: THREADS (default 4000) short-lived
 * threads, two at a time (start two, join both).  Each frees the blocks
 * that earlier threads left, then allocates BLOCKS (default 2000) blocks,
 * 80% of 16..528 B and 20% of 1..65 KiB, writing their first and last byte,
 * frees half of them and leaves the other half to the next threads.  Most
 * frees of leftovers are of blocks whose thread has exited, so an allocator
 * that cannot reuse the memory of dead threads grows with their number.
 *
 * Prints VmRSS in MiB after the first 20 threads, after the last one, and
 * after main has freed the last leftovers. */
#include "common.h"

#include <pthread.h>

static pthread_mutex_t pile_lock = PTHREAD_MUTEX_INITIALIZER;
static void *pile;   /* leftovers, linked through their first word */
static long nblocks;

static void *churn(void *arg) {
  uint64_t s = ((uint64_t)(uintptr_t)arg + 1) * 0x9e3779b97f4a7c15ull;
  pthread_mutex_lock(&pile_lock);
  void *left = pile;
  pile = NULL;
  pthread_mutex_unlock(&pile_lock);
  while (left) {
    void *next = *(void **)left;
    free(left);
    left = next;
  }
  char **b = malloc((size_t)nblocks * sizeof *b);
  for (long i = 0; i < nblocks; i++) {
    size_t n = rng_below(&s, 5) < 4 ? 16 + (size_t)rng_below(&s, 513) : 1024 + (size_t)rng_below(&s, 64 * 1024 + 1);
    char *p = malloc(n);
    p[0] = 1;
    p[n - 1] = 1;
    b[i] = p;
  }
  void *head = NULL, *tail = NULL;
  for (long i = 0; i < nblocks; i++) {
    if (i & 1) { free(b[i]); continue; }   /* sizes are random: which half does not matter */
    *(void **)b[i] = head;
    if (!head) tail = b[i];
    head = b[i];
  }
  free(b);
  if (head) {
    pthread_mutex_lock(&pile_lock);
    *(void **)tail = pile;
    pile = head;
    pthread_mutex_unlock(&pile_lock);
  }
  return NULL;
}

int main(int argc, char **argv) {
  long threads = argc > 1 ? atol(argv[1]) : 4000;
  nblocks = argc > 2 ? atol(argv[2]) : 2000;
  if (threads < 1 || nblocks < 1) return 2;
  double rss_20 = 0;
  double t0 = now_s();
  for (long i = 0; i < threads; i += 2) {
    pthread_t t[2];
    int n = i + 1 < threads ? 2 : 1;
    for (int j = 0; j < n; j++) {
      if (pthread_create(&t[j], NULL, churn, (void *)(uintptr_t)(i + j)) != 0) { perror("pthread_create"); return 1; }
    }
    for (int j = 0; j < n; j++) pthread_join(t[j], NULL);
    if (i + n == 20 || (i + n < 20 && i + n == threads)) rss_20 = rss_mb();
  }
  double rss_last = rss_mb();
  while (pile) {
    void *next = *(void **)pile;
    free(pile);
    pile = next;
  }
  double rss_end = rss_mb();
  double t1 = now_s();
  printf("bench_thread_churn rss_after_20_mb %.1f\n", rss_20);
  printf("bench_thread_churn rss_after_last_mb %.1f\n", rss_last);
  printf("bench_thread_churn rss_end_mb %.1f\n", rss_end);
  printf("bench_thread_churn: %ld threads of %ld blocks in %.2f s (allocator: %s)\n", threads, nblocks, t1 - t0, allocator_mapped());
  return 0;
}

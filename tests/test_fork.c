/* fork from a multi-threaded process (run with libhakmem preloaded):
 * workers allocate and free (small, large and huge blocks, and read the
 * statistics) while the main thread forks 200 times; each child
 * allocates, frees, starts a thread, reads the statistics and exits
 * cleanly, and the blocks that a parent thread (which does not exist in
 * the child) had cached are given back.  A watchdog turns a deadlock into
 * a failure. */
#include "check.h"
#include "hakmem.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int hak_owns(const void *p) __attribute__((weak));
int hak_stats_get(struct hak_stats *out) __attribute__((weak));

#define FORKS 200
#define PARKED 10
#define PARKED_SIZE 3000   /* a size class nothing else in this test uses */

static atomic_int stop;
static void *parked[PARKED];
static pthread_mutex_t park_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t park_cond = PTHREAD_COND_INITIALIZER;
static int parked_ready;

static void *worker(void *arg) {
  uint64_t s = (uintptr_t)arg * 2654435761u + 1;
  void *slots[64] = { 0 };
  for (unsigned long n = 1; !atomic_load(&stop); n++) {
    if (n % 256 == 0) usleep(50);   /* leave the forking thread some of the 2 cores */
    s ^= s << 13; s ^= s >> 7; s ^= s << 17;
    int i = (int)(s % 64);
    free(slots[i]);
    size_t n = (size_t)(s >> 8) % 2048 + 1;
    slots[i] = malloc(n);
    memset(slots[i], (int)n, n < 64 ? n : 64);
  }
  for (int i = 0; i < 64; i++) free(slots[i]);
  return NULL;
}

/* Huge blocks freed and allocated again come from the huge tier's cache
 * of mappings, under its lock: a fork lands while it is held. */
static void *huge_worker(void *arg) {
  for (unsigned long n = 1; !atomic_load(&stop); n++) {
    if (arg == NULL && n % 64 == 0) usleep(50);   /* arg: a tight loop */
    char *volatile p = malloc((size_t)3 << 20);   /* volatile: the compiler may drop a malloc/free pair */
    p[0] = 1;
    free(p);
  }
  return NULL;
}

/* The statistics take their own locks, then the allocator's. */
static void *stats_reader(void *arg) {
  static struct hak_stats st[2];   /* one per caller */
  while (!atomic_load(&stop)) {
    if (hak_stats_get != NULL) hak_stats_get(&st[arg != NULL]);
    if (arg == NULL) usleep(100);   /* arg: a tight loop */
  }
  return NULL;
}

/* A child forked while one thread frees and allocates huge blocks and
 * another reads the statistics, each in a tight loop (a fork lands while
 * their locks are held about one time in four): both work in the child. */
static int tight_child(void) {
  alarm(5);
  char *volatile p = malloc((size_t)3 << 20);
  if (p == NULL) return 7;
  p[0] = 1;
  free(p);
  static struct hak_stats st;
  return hak_stats_get != NULL && hak_stats_get(&st) == 0 ? 0 : 8;
}

/* Allocates and frees PARKED blocks (they stay in its thread cache), then
 * waits, alive, until the end of the test. */
static void *parker(void *arg) {
  (void)arg;
  for (int i = 0; i < PARKED; i++) parked[i] = malloc(PARKED_SIZE);
  for (int i = 0; i < PARKED; i++) free(parked[i]);
  pthread_mutex_lock(&park_lock);
  parked_ready = 1;
  pthread_cond_broadcast(&park_cond);
  while (!atomic_load(&stop)) pthread_cond_wait(&park_cond, &park_lock);
  pthread_mutex_unlock(&park_lock);
  return NULL;
}

/* Short-lived threads that leave blocks behind in a shared array, so that
 * forks land while threads exit (their slabs half orphaned) and children
 * free blocks of slabs whose owner is gone. */
#define SHARED 1024
static _Atomic(void *) shared_blocks[SHARED];

static void *short_lived(void *arg) {
  uint64_t s = (uintptr_t)arg * 0x9e3779b97f4a7c15ull + 1;
  void *mine[128];
  for (int i = 0; i < 128; i++) { s ^= s << 13; s ^= s >> 7; s ^= s << 17; mine[i] = malloc(1 + s % 1024); }
  for (int i = 0; i < 128; i++) {
    void *expected = NULL;
    if ((i & 1) || !atomic_compare_exchange_strong(&shared_blocks[(s + (uint64_t)i * 7) % SHARED], &expected, mine[i])) free(mine[i]);
  }
  return NULL;
}

static void *churner(void *arg) {
  (void)arg;
  for (uintptr_t k = 1; !atomic_load(&stop); k++) {
    pthread_t t;
    pthread_create(&t, NULL, short_lived, (void *)k);
    pthread_join(t, NULL);
    for (int i = (int)(k & 1); i < SHARED; i += 2) free(atomic_exchange(&shared_blocks[i], NULL));
  }
  return NULL;
}

static void *child_thread(void *arg) {
  for (int i = 0; i < SHARED; i++) free(atomic_exchange(&shared_blocks[i], NULL));
  char *p = malloc(100);
  strcpy(p, arg);
  return p;
}

static int child_main(void) {
  alarm(20);
  if (hak_owns == NULL) return 6;
  /* The parker's cached blocks were given back at fork, and the slab that
   * held only them went back to the pool: they are no longer blocks. */
  for (int i = 0; i < PARKED; i++)
    if (hak_owns(parked[i])) return 3;
  void *mine[PARKED];
  for (int i = 0; i < PARKED; i++) mine[i] = malloc(PARKED_SIZE);
  for (int i = 0; i < PARKED; i++) free(mine[i]);
  void *blocks[300];
  for (int i = 0; i < 300; i++) { blocks[i] = malloc((size_t)i * 7 + 1); memset(blocks[i], 7, (size_t)i * 7 + 1); }
  for (int i = 0; i < 300; i++) free(blocks[i]);
  char *volatile huge = malloc((size_t)3 << 20);   /* the huge tier's cache lock */
  if (huge == NULL) return 7;
  huge[0] = 1;
  free(huge);
  static struct hak_stats st;
  if (hak_stats_get == NULL || hak_stats_get(&st) != 0) return 8;   /* the statistics' locks */
  pthread_t t;
  if (pthread_create(&t, NULL, child_thread, "child") != 0) return 4;
  char *r;
  pthread_join(t, (void **)&r);
  int ok = strcmp(r, "child") == 0;
  free(r);
  return ok ? 0 : 5;
}

int main(void) {
  alarm(300);   /* watchdog: a deadlock fails the test instead of hanging it */
  pthread_t park, w[3];
  pthread_create(&park, NULL, parker, NULL);
  pthread_mutex_lock(&park_lock);
  while (!parked_ready) pthread_cond_wait(&park_cond, &park_lock);
  pthread_mutex_unlock(&park_lock);
  for (int i = 0; i < 3; i++) pthread_create(&w[i], NULL, worker, (void *)(uintptr_t)(i + 1));
  pthread_t churn, huge, stats;
  pthread_create(&churn, NULL, churner, NULL);
  pthread_create(&huge, NULL, huge_worker, NULL);
  pthread_create(&stats, NULL, stats_reader, NULL);
  int failed = 0, hung = 0, first_bad = -1;
  for (int k = 0; k < FORKS; k++) {
    pid_t pid = fork();
    if (pid == 0) exit(child_main());
    int status;
    waitpid(pid, &status, 0);
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM) hung++;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      failed++;
      if (first_bad < 0) first_bad = status;
    }
  }
  atomic_store(&stop, 1);
  pthread_mutex_lock(&park_lock);
  pthread_cond_broadcast(&park_cond);
  pthread_mutex_unlock(&park_lock);
  for (int i = 0; i < 3; i++) pthread_join(w[i], NULL);
  pthread_join(churn, NULL);
  pthread_join(huge, NULL);
  pthread_join(stats, NULL);
  pthread_join(park, NULL);
  if (failed) fprintf(stderr, "%d of %d children failed (%d hung), first status %d\n", failed, FORKS, hung, first_bad);
  CHECK(failed == 0);
  atomic_store(&stop, 0);
  pthread_create(&huge, NULL, huge_worker, "tight");
  pthread_create(&stats, NULL, stats_reader, "tight");
  int tight_failed = 0;
  for (int k = 0; k < 30; k++) {
    pid_t pid = fork();
    if (pid == 0) exit(tight_child());
    int status;
    waitpid(pid, &status, 0);
    tight_failed += !WIFEXITED(status) || WEXITSTATUS(status) != 0;
  }
  atomic_store(&stop, 1);
  pthread_join(huge, NULL);
  pthread_join(stats, NULL);
  if (tight_failed) fprintf(stderr, "%d of 30 children forked beside tight loops failed\n", tight_failed);
  CHECK(tight_failed == 0);
  CHECK_DONE();
}

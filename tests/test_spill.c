/* The spill queues, run by tests/run.sh with HAKMEM_TINY_BG_SPILL=1 (and
 * once with target and batch 1): four threads allocate blocks, write a
 * pattern into them, and hand them round to the next thread, which checks
 * and frees them (every free is remote).  Every block handed out is
 * recorded in a table of live blocks: one handed out twice, or freed and
 * not handed out, fails; after a trim the statistics must show every
 * allocation freed, the queues used and drained, and the slabs back. */
#include "../include/hakmem.h"
#include "check.h"

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define THREADS 4
#define ROUNDS  300
#define PER     500
#define TABLE   (1u << 16)   /* more than THREADS * 2 * PER live blocks */

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static uintptr_t table[TABLE];
static size_t twice, unknown;

static size_t slot(uintptr_t p) { return (size_t)((p >> 4) * 0x9e3779b97f4a7c15ull >> 48) & (TABLE - 1); }

static void live_add(void *p) {
  pthread_mutex_lock(&table_lock);
  size_t i = slot((uintptr_t)p);
  while (table[i] != 0 && table[i] != (uintptr_t)p) i = (i + 1) & (TABLE - 1);
  if (table[i] == (uintptr_t)p) twice++;
  table[i] = (uintptr_t)p;
  pthread_mutex_unlock(&table_lock);
}

static void live_remove(void *p) {
  pthread_mutex_lock(&table_lock);
  size_t i = slot((uintptr_t)p);
  while (table[i] != 0 && table[i] != (uintptr_t)p) i = (i + 1) & (TABLE - 1);
  if (table[i] == 0) {
    unknown++;
  } else {   /* delete, moving later entries of the cluster back */
    table[i] = 0;
    for (size_t j = (i + 1) & (TABLE - 1); table[j] != 0; j = (j + 1) & (TABLE - 1)) {
      uintptr_t e = table[j];
      table[j] = 0;
      size_t k = slot(e);
      while (table[k] != 0) k = (k + 1) & (TABLE - 1);
      table[k] = e;
    }
  }
  pthread_mutex_unlock(&table_lock);
}

/* Mailboxes: thread i fills box i, thread i+1 empties it. */
typedef struct box {
  pthread_mutex_t lock;
  pthread_cond_t  cond;
  void           *blocks[PER];
  size_t          sizes[PER];
  int             full;
} box_t;
static box_t boxes[THREADS];
static size_t allocated, freed, bad_contents;

static size_t size_of(unsigned t, unsigned r, unsigned i) { return 16 + ((t * 7919u + r * 104729u + i * 31u) % 1009u); }

static void *worker(void *arg) {
  unsigned t = (unsigned)(uintptr_t)arg;
  box_t *out = &boxes[t], *in = &boxes[(t + THREADS - 1) % THREADS];
  size_t my_allocated = 0, my_freed = 0, my_bad = 0;
  for (unsigned r = 0; r < ROUNDS; r++) {
    pthread_mutex_lock(&out->lock);
    while (out->full) pthread_cond_wait(&out->cond, &out->lock);
    for (unsigned i = 0; i < PER; i++) {
      size_t n = size_of(t, r, i);
      unsigned char *p = hak_malloc(n);
      if (p == NULL) { my_bad++; continue; }
      live_add(p);
      memset(p, (int)(t * 31 + r + i) & 0xff, n);
      out->blocks[i] = p;
      out->sizes[i] = n;
      my_allocated++;
    }
    out->full = 1;
    pthread_cond_broadcast(&out->cond);
    pthread_mutex_unlock(&out->lock);

    pthread_mutex_lock(&in->lock);
    while (!in->full) pthread_cond_wait(&in->cond, &in->lock);
    unsigned from = (t + THREADS - 1) % THREADS;
    for (unsigned i = 0; i < PER; i++) {
      unsigned char *p = in->blocks[i];
      size_t n = in->sizes[i];
      unsigned char want = (unsigned char)((from * 31 + r + i) & 0xff);
      if (p[0] != want || p[n / 2] != want || p[n - 1] != want) my_bad++;
      live_remove(p);
      hak_free(p);
      my_freed++;
    }
    in->full = 0;
    pthread_cond_broadcast(&in->cond);
    pthread_mutex_unlock(&in->lock);
  }
  __atomic_fetch_add(&allocated, my_allocated, __ATOMIC_RELAXED);
  __atomic_fetch_add(&freed, my_freed, __ATOMIC_RELAXED);
  __atomic_fetch_add(&bad_contents, my_bad, __ATOMIC_RELAXED);
  return NULL;
}

/* A thread that does not own a block frees it twice, the second time
 * while it is still the head of the blocks the thread gathers for the
 * queue (the target is above 1): caught at once, in a child process. */
static void *free_twice(void *p) { hak_free(p); hak_free(p); return NULL; }
static int double_free_gathered_caught(void) {
  int fds[2];
  if (pipe(fds) != 0) return 0;
  pid_t pid = fork();
  if (pid == 0) {
    alarm(10);   /* a looped list (the double free not caught) may never end */
    dup2(fds[1], 2);
    void *p = hak_malloc(64);
    pthread_t t;
    pthread_create(&t, NULL, free_twice, p);
    pthread_join(t, NULL);
    _exit(0);
  }
  close(fds[1]);
  char buf[256];
  ssize_t n = read(fds[0], buf, sizeof buf - 1);
  buf[n > 0 ? n : 0] = '\0';
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT && strstr(buf, "hakmem: free(): double free of 0x") != NULL;
}

int main(int argc, char **argv) {
  /* the target and batch bound the run was given, to check their effect */
  int target_1 = argc > 1 && strcmp(argv[1], "target=1,batch=1") == 0;
  static struct hak_stats before, after;
  hak_malloc_trim(0);
  hak_stats_get(&before);
  for (unsigned i = 0; i < THREADS; i++) {
    pthread_mutex_init(&boxes[i].lock, NULL);
    pthread_cond_init(&boxes[i].cond, NULL);
  }
  pthread_t th[THREADS];
  for (unsigned i = 0; i < THREADS; i++) pthread_create(&th[i], NULL, worker, (void *)(uintptr_t)i);
  for (unsigned i = 0; i < THREADS; i++) pthread_join(th[i], NULL);

  CHECK(allocated == (size_t)THREADS * ROUNDS * PER);
  CHECK(freed == allocated);
  CHECK(bad_contents == 0);
  CHECK(twice == 0);
  CHECK(unknown == 0);
  /* trim drains the queues; the background drainer may still hold a batch
   * it detached just before (it returns it within its round): wait up to
   * 3 s for every pushed block to be accounted for, taken or drained */
  for (int i = 0; i < 300; i++) {
    hak_malloc_trim(0);
    hak_stats_get(&after);
    if (after.spill_blocks - before.spill_blocks ==
        (after.spill_takes - before.spill_takes) + (after.spill_drained - before.spill_drained)) break;
    usleep(10000);
  }
  hak_malloc_trim(0);   /* the slabs of what the drainer returned last */
  hak_stats_get(&after);
  size_t allocs = 0, frees = 0;
  for (unsigned i = 0; i < HAK_STATS_CLASSES; i++) {
    CHECK_QUIET(after.classes[i].allocs - before.classes[i].allocs == after.classes[i].frees - before.classes[i].frees);
    allocs += after.classes[i].allocs - before.classes[i].allocs;
    frees += after.classes[i].frees - before.classes[i].frees;
  }
  CHECK(allocs == allocated);
  CHECK(frees == freed);
  /* a block can come back to its slab's owner through a queue: then its
   * free is local */
  CHECK(after.remote_frees - before.remote_frees > freed / 2);
  CHECK(after.remote_frees - before.remote_frees <= freed);
  CHECK(after.spill_blocks > before.spill_blocks);
  CHECK(after.spill_takes > before.spill_takes);
  /* every block pushed was taken or drained: none is left queued */
  CHECK(after.spill_blocks - before.spill_blocks ==
        (after.spill_takes - before.spill_takes) + (after.spill_drained - before.spill_drained));
  CHECK(after.slabs_in_use <= before.slabs_in_use + 1);
  size_t pushes = after.spill_pushes - before.spill_pushes, blocks = after.spill_blocks - before.spill_blocks;
  size_t bg_drains = after.bg_drains - before.bg_drains, bg_drained = after.bg_drained - before.bg_drained;
  if (target_1) {
    CHECK(pushes == blocks);            /* batches of one block */
    CHECK(bg_drained == bg_drains);     /* one block per class and round */
  } else {
    CHECK(blocks >= 8 * pushes);        /* batches of up to 128 (a cache's worth) */
  }
  printf("spill: %zu blocks pushed in %zu batches, %zu taken, %zu drained (%zu by the drainer in %zu class rounds)\n",
         blocks, pushes, after.spill_takes - before.spill_takes, after.spill_drained - before.spill_drained,
         bg_drained, bg_drains);
  if (!target_1) CHECK(double_free_gathered_caught());
  CHECK_DONE();
}

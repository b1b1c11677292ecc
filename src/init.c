/* Start-up, fork and exit.
 *
 * Initialisation is lazy and happens once, on the first slow-path call,
 * which may come from the dynamic loader or libc before main and before any
 * constructor.  It reads the options and creates the thread-exit hook; none
 * of that allocates.  The fork handlers are registered right after, when
 * the allocator already works (pthread_atfork may itself allocate). */
#include "internal.h"
#include "options.h"
#include "../include/hakmem.h"

#include <errno.h>

_Atomic int hak_init_state;
__thread bool hak_tls_initialising TLS_IE;
bool hak_thread_hook_ok;
static int stats_fd = -1;
/* Set before the first block exists and never changed (fork children
 * inherit it with the blocks); never 0, which every allocation writes there. */
uintptr_t hak_free_key = 0x68616b6d656d2121ull;

static void fork_prepare(void) { heap_fork_prepare(); }
static void fork_parent(void) { heap_fork_parent(); }
static void fork_child(void) { heap_fork_child(); }

void hak_init_slow(void) {
  int expected = 0;
  if (!atomic_compare_exchange_strong_explicit(&hak_init_state, &expected, 1, memory_order_acq_rel, memory_order_acquire)) {
    while (atomic_load_explicit(&hak_init_state, memory_order_acquire) != 2) os_yield();
    return;
  }
  int saved = errno;   /* sched_getaffinity and getauxval may set it on their fallbacks */
  uint64_t key = os_random();
  if (key != 0) hak_free_key = key | (1ull << 63);   /* the marks derived from it (key ^ 1, ^ 2) are never 0 either */
  options_init();
  pool_init();
  /* From here on, what start-up calls might allocate on this thread
   * (pthread_key_create, pthread_atfork; nothing does on glibc today, an
   * audit library or a lazily bound static link could) is served as if
   * start-up were over, not spun on.  Not before: a block freed with the
   * key above unset would fail its mark once it is set. */
  hak_tls_initialising = true;
  os_page_size();
  hak_thread_hook_ok = os_thread_hook_init(heap_thread_exit);
  /* The fork handlers go in before initialisation is published, so that no
   * fork can find hakmem's locks unguarded (pthread_atfork may allocate). */
  os_atfork(fork_prepare, fork_parent, fork_child);
  hak_tls_initialising = false;
  errno = saved;
  atomic_store_explicit(&hak_init_state, 2, memory_order_release);
  if (hak_options[OPT_VERBOSE]) options_print(2);
  /* Programs often close stderr in an atexit handler (coreutils do), before
   * the statistics are printed: keep a copy of it. */
  if (hak_options[OPT_STATS]) stats_fd = os_dup_fd(2);
}

/* Programs that never allocate still get their options checked. */
__attribute__((constructor)) static void hak_start(void) { hak_init(); }

/* Runs after the program's own destructors (a preloaded library is
 * finalised last); it only reports: nothing is torn down, so that later
 * calls keep working. */
__attribute__((destructor)) static void hak_exit(void) {
  if (atomic_load_explicit(&hak_init_state, memory_order_acquire) == 2 && hak_options[OPT_STATS])
    hak_stats_print(stats_fd >= 0 ? stats_fd : 2);
}

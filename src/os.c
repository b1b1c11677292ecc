/* Everything that talks to the kernel or to libc's process machinery:
 * mappings, the thread-exit hook, fork handlers, auxv, raw writes. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static size_t page_size;
static pthread_key_t thread_key;

size_t os_page_size(void) {
  if (UNLIKELY(page_size == 0)) {
    size_t ps = (size_t)getauxval(AT_PAGESZ);   /* no allocation, unlike some sysconf paths */
    page_size = ps ? ps : 4096;
  }
  return page_size;
}

/* Maps size bytes (a multiple of the page size) at an address aligned to
 * alignment (a power of two >= the page size): over-map, then trim head and
 * tail.  On failure returns NULL with errno ENOMEM. */
void *os_map_aligned(size_t size, size_t alignment) {
  size_t total = size + alignment - os_page_size();
  if (total < size) { errno = ENOMEM; return NULL; }
  uint8_t *raw = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (raw == MAP_FAILED) { errno = ENOMEM; return NULL; }
  uint8_t *p = (uint8_t *)align_up((uintptr_t)raw, alignment);
  size_t head = (size_t)(p - raw);
  size_t tail = total - head - size;
  /* Trimming can fail at the mapping-count limit: then give up cleanly. */
  if ((head && munmap(raw, head) != 0) || (tail && munmap(p + size, tail) != 0)) {
    munmap(raw, total);   /* covers whatever part is still mapped */
    errno = ENOMEM;
    return NULL;
  }
  return p;
}

/* Grows or shrinks the mapping at p without moving it; false if the
 * address range after it is taken. */
bool os_remap_in_place(void *p, size_t old_size, size_t new_size) {
  int saved = errno;
  void *r = mremap(p, old_size, new_size, 0);
  errno = saved;
  return r != MAP_FAILED;
}

/* Moves the pages of [p, p + size) to dest (which must be mapped and at
 * least size long; its pages there are replaced) without copying them. */
bool os_remap_to(void *p, size_t size, void *dest) {
  int saved = errno;
  void *r = mremap(p, size, size, MREMAP_MAYMOVE | MREMAP_FIXED, dest);
  errno = saved;
  return r != MAP_FAILED;
}

/* Transparent huge pages would turn every touched 2 MiB of a sparsely used
 * region into resident memory. */
void os_no_huge_pages(void *p, size_t size) {
  int saved = errno;
  madvise(p, size, MADV_NOHUGEPAGE);
  errno = saved;
}

/* HAKMEM_THP=1: huge blocks ask for transparent huge pages. */
void os_huge_pages(void *p, size_t size) {
  int saved = errno;
  madvise(p, size, MADV_HUGEPAGE);
  errno = saved;
}

/* MADV_DONTNEED, not MADV_FREE: the pages must leave the resident set now,
 * not when the machine runs short of memory. */
void os_purge(void *p, size_t size) {
  int saved = errno;
  madvise(p, size, MADV_DONTNEED);
  errno = saved;
}

/* The purge clock, read on slow paths: the coarse clock (one tick, about
 * 4 ms, is plenty for delays of hundreds of ms) costs 7 ns here against
 * 40 for the precise one. */
uint64_t os_now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &t);
  return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

void os_unmap(void *p, size_t size) {
  int saved = errno;   /* free() must not change errno */
  munmap(p, size);
  errno = saved;
}

bool os_secure_mode(void) { return getauxval(AT_SECURE) != 0; }

/* A set for 8192 CPUs (1 KiB, static: called once, at start-up): the
 * kernel refuses a set smaller than its own, and CPU_ALLOC would allocate. */
unsigned os_cpu_count(void) {
  static unsigned long set[8192 / (8 * sizeof(unsigned long))];
  if (sched_getaffinity(0, sizeof set, (cpu_set_t *)set) != 0) return 1;
  int n = CPU_COUNT_S(sizeof set, (cpu_set_t *)set);
  return n > 0 ? (unsigned)n : 1;
}

/* 64 random bits from the 16 bytes the kernel hands every process
 * (AT_RANDOM), mixed with an address (ASLR) in case they are missing. */
uint64_t os_random(void) {
  uint64_t r = (uint64_t)(uintptr_t)&r * 0x9e3779b97f4a7c15ull;
  const unsigned char *a = (const unsigned char *)getauxval(AT_RANDOM);
  if (a != NULL) {
    uint64_t w[2];
    memcpy(w, a, sizeof w);
    r ^= w[0] ^ (w[1] << 1 | w[1] >> 63);
  }
  return r;
}
int os_getpid(void) { return (int)getpid(); }
char **os_environ(void) { return environ; }

/* A private copy of a descriptor (close-on-exec), or -1. */
int os_dup_fd(int fd) {
  int saved = errno;
  int copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
  errno = saved;
  return copy;
}

void os_write(int fd, const char *s, size_t n) {
  int saved = errno;
  while (n > 0) {
    ssize_t w = write(fd, s, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) break;
    s += w;
    n -= (size_t)w;
  }
  errno = saved;
}

/* A pthread key whose destructor runs when a thread that set it exits.
 * Created at the first initialisation, so it gets a low key index and
 * glibc keeps its value in the thread descriptor without allocating. */
bool os_thread_hook_init(void (*on_exit)(void *)) {
  return pthread_key_create(&thread_key, on_exit) == 0;
}

void os_thread_hook_set(void *value) { pthread_setspecific(thread_key, value); }

void os_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void)) {
  pthread_atfork(prepare, parent, child);
}

int os_gettid(void) { return (int)syscall(SYS_gettid); }
bool os_is_initial_thread(void) { return os_gettid() == getpid(); }

/* Sleeps while *word == expected, at most timeout_ms (0: no limit), or
 * until os_wake. */
void os_wait(_Atomic uint32_t *word, uint32_t expected, unsigned timeout_ms) {
  int saved = errno;
  struct timespec ts = { (time_t)(timeout_ms / 1000), (long)(timeout_ms % 1000) * 1000000L };
  syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, expected, timeout_ms ? &ts : NULL, NULL, 0);
  errno = saved;
}

void os_wake(_Atomic uint32_t *word) {
  int saved = errno;
  syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
  errno = saved;
}

void os_yield(void) { sched_yield(); }

/* A detached thread with every signal blocked (signals meant for the
 * program never land on it), so that exit never waits for it. */
bool os_thread_start(void *(*fn)(void *)) {
  int saved = errno;
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 64 << 10);
  pthread_t t;
  bool ok = pthread_create(&t, &attr, fn, NULL) == 0;
  pthread_attr_destroy(&attr);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  errno = saved;
  return ok;
}

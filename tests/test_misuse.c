/* Misuse is reported, never silently absorbed: each case runs in a child
 * process, which must die of SIGABRT after printing the expected line.
 * Built twice: against the default library (test_misuse) and, with
 * FAILFAST, against the debug build's (test_failfast), whose fail-fast
 * checks catch more and say so in their own words. */
#include "check.h"
#include "hakmem.h"
#ifdef FAILFAST
#include "internal.h"
#endif

#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

typedef void (*misuse_fn)(void);

static void free_stack(void) { int x; hak_free(&x); }
static void free_interior_small(void) { char *p = hak_malloc(64); hak_free(p + 16); }
static void free_interior_unaligned(void) { char *p = hak_malloc(100); hak_free(p + 1); }
static void free_interior_huge(void) { char *p = hak_malloc(4 << 20); hak_free(p + 4096); }
static void free_own_mapping(void) {
  void *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  hak_free(m);
}
static void double_free_small(void) { void *p = hak_malloc(32); hak_free(p); hak_free(p); }
static void double_free_large(void) { void *p = hak_malloc(100 << 10); hak_free(p); hak_free(p); }
static void double_free_huge(void) { void *p = hak_malloc(4 << 20); hak_free(p); hak_free(p); }
static void free_interior_large(void) { char *p = hak_malloc(100 << 10); hak_free(p + 4096); }
static void free_global(void) { static char g[64]; hak_free(g); }
static void realloc_stack(void) { int x; hak_realloc(&x, 100); }
static void realloc_interior(void) { char *p = hak_malloc(200); hak_realloc(p + 32, 400); }
static void usable_size_foreign(void) { int x = 0; hak_malloc_usable_size(&x); }

#ifdef FAILFAST
#define FF "hakmem: fail-fast: "
static void double_free_later(void) {   /* not the last block freed: only the debug build sees it */
  void *p = hak_malloc(32), *q = hak_malloc(32);
  hak_free(p);
  hak_free(q);
  hak_free(p);
}
static void overflow_by_one(void) { char *p = hak_malloc(20); p[20] = 'x'; hak_free(p); }
static void overflow_usable_size(void) {   /* usable size is the requested size here: one past it is caught */
  char *p = hak_malloc(100);
  p[hak_malloc_usable_size(p)] = 1;
  hak_free(p);
}
static void overflow_trailer(void) { char *p = hak_malloc(20); memset(p, 0, 64); hak_free(p); }
static void overflow_large(void) { char *p = hak_malloc(100000); p[100000] = 1; hak_free(p); }
static void overflow_huge(void) { char *p = hak_malloc(3 << 20); p[3 << 20] = 1; hak_free(p); }
static void overflow_realloc(void) { char *p = hak_malloc(40); p[41] = 1; hak_realloc(p, 80); }
static void bad_magic(void) {
  void *p = hak_malloc(48);
  ss_of(p)->hdr.magic ^= 1;
  hak_free(p);
}
static void bad_class(void) {
  void *p = hak_malloc(48);
  slab_of(ss_of(p), p)->cls++;
  hak_free(p);
}
static void foreign_local_push(void) {   /* the free path itself never does this: call it as a bug would */
  void *p = hak_malloc(48);
  slab_meta_t *m = slab_of(ss_of(p), p);
  atomic_store(&m->owner, (heap_t *)&hak_heap_dead);
  hak_free_owned(hak_tls_heap, m, p);
}
#endif

static const struct { const char *name; misuse_fn fn; const char *expect; } cases[] = {
  { "free of a stack address", free_stack, "hakmem: free(): invalid pointer (not allocated by hakmem" },
  { "free of a global", free_global, "hakmem: free(): invalid pointer (not allocated by hakmem" },
  { "free of an interior pointer", free_interior_small, "hakmem: free(): invalid pointer (interior" },
  { "free of an unaligned interior pointer", free_interior_unaligned, "hakmem: free(): invalid pointer (interior" },
  { "free of an interior pointer of a huge block", free_interior_huge, "hakmem: free(): invalid pointer (interior" },
  { "free of the program's own mapping", free_own_mapping, "hakmem: free(): invalid pointer (not allocated by hakmem" },
#ifdef FAILFAST
  { "double free (small)", double_free_small, FF "double free: pointer 0x" },
  { "double free, not the last block freed", double_free_later, FF "double free: pointer 0x" },
  { "double free (large)", double_free_large, "hakmem: free(): invalid pointer (interior, or already freed)" },
  { "double free (huge)", double_free_huge, "hakmem: free(): invalid pointer (interior, or already freed)" },
  { "write one byte past the requested size", overflow_by_one, FF "canary after the requested size overwritten (buffer overflow): pointer 0x" },
  { "write one byte past malloc_usable_size", overflow_usable_size, FF "canary after the requested size overwritten" },
  { "overflow over canary and trailer", overflow_trailer, FF "block trailer overwritten" },
  { "overflow of a large block", overflow_large, FF "canary after the requested size overwritten (buffer overflow): pointer 0x" },
  { "overflow of a huge block", overflow_huge, FF "canary after the requested size overwritten (buffer overflow): pointer 0x" },
  { "overflow found by realloc", overflow_realloc, FF "canary after the requested size overwritten" },
  { "SuperSlab magic overwritten", bad_magic, FF "bad SuperSlab magic: pointer 0x" },
  { "slab class overwritten", bad_class, FF "slab class does not match its metadata: pointer 0x" },
  { "a foreign block onto a thread's list", foreign_local_push, FF "block pushed onto the list of a thread that does not own its slab: pointer 0x" },
#else
  { "double free (small)", double_free_small, "hakmem: free(): double free of 0x" },
  { "double free (large)", double_free_large, "hakmem: free(): double free of 0x" },
  { "double free (huge)", double_free_huge, "hakmem: free(): double free of 0x" },
#endif
  { "free of an interior pointer of a large block", free_interior_large, "hakmem: free(): invalid pointer (interior" },
  { "realloc of a stack address", realloc_stack, "hakmem: realloc(): invalid pointer (not allocated by hakmem" },
  { "realloc of an interior pointer", realloc_interior, "hakmem: realloc(): invalid pointer (interior" },
  { "malloc_usable_size of a foreign pointer", usable_size_foreign, "hakmem: malloc_usable_size(): invalid pointer" },
};

int main(void) {
#ifdef FAILFAST
  /* what the debug build does to correct programs: usable size is the
   * requested size, realloc keeps the contents, calloc clears */
  char *p = hak_malloc(20);
  CHECK(hak_malloc_usable_size(p) == 20);
  memset(p, 'a', 20);
  p = hak_realloc(p, 5000);
  CHECK(p != NULL && hak_malloc_usable_size(p) == 5000 && p[0] == 'a' && p[19] == 'a');
  hak_free(p);
  unsigned char *z = hak_calloc(300, 7);
  int zero = 1;
  for (int i = 0; i < 2100; i++) zero &= z[i] == 0;
  CHECK(zero && hak_malloc_usable_size(z) == 2100);
  hak_free(z);
  void *a = NULL;
  CHECK(hak_posix_memalign(&a, 4096, 100) == 0 && ((uintptr_t)a & 4095) == 0 && hak_malloc_usable_size(a) == 100);
  hak_free(a);
#endif
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int fds[2];
    if (pipe(fds) != 0) return 2;
    pid_t pid = fork();
    if (pid == 0) {
      dup2(fds[1], 2);
      close(fds[0]);
      hak_free(hak_malloc(10));   /* the allocator is up and running */
      cases[i].fn();
      _exit(0);                   /* not caught */
    }
    close(fds[1]);
    char buf[512];
    size_t n = 0;
    ssize_t r;
    while (n < sizeof buf - 1 && (r = read(fds[0], buf + n, sizeof buf - 1 - n)) > 0) n += (size_t)r;
    buf[n] = '\0';
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    int aborted = WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
    int message = strstr(buf, cases[i].expect) != NULL && strchr(buf, '\n') == buf + n - 1;
    if (!aborted || !message) fprintf(stderr, "case '%s': status %d, stderr '%s'\n", cases[i].name, status, buf);
    CHECK(aborted);
    CHECK(message);
    if (strstr(cases[i].expect, "fail-fast") != NULL) CHECK(strstr(buf, ", class ") != NULL && strstr(buf, ", thread ") != NULL);
  }
  CHECK_DONE();
}

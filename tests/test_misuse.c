/* Misuse is reported, never silently absorbed: each case runs in a child
 * process, which must die of SIGABRT after printing the expected line. */
#include "check.h"
#include "hakmem.h"

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

static const struct { const char *name; misuse_fn fn; const char *expect; } cases[] = {
  { "free of a stack address", free_stack, "hakmem: free(): invalid pointer (not allocated by hakmem" },
  { "free of a global", free_global, "hakmem: free(): invalid pointer (not allocated by hakmem" },
  { "free of an interior pointer", free_interior_small, "hakmem: free(): invalid pointer (interior" },
  { "free of an unaligned interior pointer", free_interior_unaligned, "hakmem: free(): invalid pointer (interior" },
  { "free of an interior pointer of a huge block", free_interior_huge, "hakmem: free(): invalid pointer (interior" },
  { "free of the program's own mapping", free_own_mapping, "hakmem: free(): invalid pointer (not allocated by hakmem" },
  { "double free (small)", double_free_small, "hakmem: free(): double free of 0x" },
  { "double free (large)", double_free_large, "hakmem: free(): double free of 0x" },
  { "double free (huge)", double_free_huge, "hakmem: free(): double free of 0x" },
  { "free of an interior pointer of a large block", free_interior_large, "hakmem: free(): invalid pointer (interior" },
  { "realloc of a stack address", realloc_stack, "hakmem: realloc(): invalid pointer (not allocated by hakmem" },
  { "realloc of an interior pointer", realloc_interior, "hakmem: realloc(): invalid pointer (interior" },
  { "malloc_usable_size of a foreign pointer", usable_size_foreign, "hakmem: malloc_usable_size(): invalid pointer" },
};

int main(void) {
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
  }
  CHECK_DONE();
}

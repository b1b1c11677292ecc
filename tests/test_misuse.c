/* Misuse is reported, never silently absorbed: each case runs in a child
 * process, which must die of SIGABRT after printing the expected line.
 * Built twice: against the default library (test_misuse) and, with
 * FAILFAST, against the debug build's (test_failfast), whose fail-fast
 * checks catch more and say so in their own words. */
#include "check.h"
#include "hakmem.h"
#include "internal.h"
#include "shrink.h"

#include <pthread.h>
#include <stdint.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

typedef void (*misuse_fn)(void);

static void free_stack(void) { int x; hak_free(&x); }
static void free_global(void) { static char g[64]; hak_free(g); }
static void free_interior_small(void) { char *p = hak_malloc(64); hak_free(p + 16); }
static void free_interior_unaligned(void) { char *p = hak_malloc(100); hak_free(p + 1); }
static void free_interior_large(void) { char *p = hak_malloc(100 << 10); hak_free(p + 4096); }
static void free_interior_huge(void) { char *p = hak_malloc(4 << 20); hak_free(p + 4096); }
static void free_own_mapping(void) {
  void *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  hak_free(m);
}
/* This program's malloc is glibc's (it uses the hak_ API beside it). */
static void free_glibc_block(void) { hak_free(malloc(100)); }
static void free_glibc_mapping(void) { hak_free(malloc(4 << 20)); }
static void double_free_small(void) { void *p = hak_malloc(32); hak_free(p); hak_free(p); }
static void double_free_16(void) { void *p = hak_malloc(16); hak_free(p); hak_free(p); }
/* A double free of a block that is not the one freed last is found where
 * the block is next taken (see src/internal.h): the program goes on
 * allocating, and must never get the block twice. */
static void allocate_on(size_t size) { for (int i = 0; i < 100000; i++) hak_malloc(size); }
static void double_free_later(void) {   /* not the block freed last */
  void *p = hak_malloc(32), *q = hak_malloc(32);
  hak_free(p);
  hak_free(q);
  hak_free(p);
  allocate_on(32);
}
static void double_free_mid(void) {
  void *p = hak_malloc(5000), *q = hak_malloc(5000);
  hak_free(p);
  hak_free(q);
  hak_free(p);
  allocate_on(5000);
}
static void double_free_flushed(void) {   /* the first free went back to the slab's list: a trim, or a full cache */
  void *keep = hak_malloc(5000), *p = hak_malloc(5000);
  hak_free(p);
  hak_malloc_trim(0);
  hak_free(p);           /* taken back again by the next flush: the slab would empty under keep */
  hak_malloc_trim(0);
  hak_free(keep);
}
static void double_free_large(void) { void *p = hak_malloc(100 << 10); hak_free(p); hak_free(p); }
static void double_free_huge(void) { void *p = hak_malloc(4 << 20); hak_free(p); hak_free(p); }
static void *free_it(void *p) { hak_free(p); return NULL; }
static void double_free_other_thread(void) {   /* freed first by another thread: on the slab's remote list */
  void *p = hak_malloc(64);
  pthread_t t;
  pthread_create(&t, NULL, free_it, p);
  pthread_join(t, NULL);
  hak_free(p);
  allocate_on(64);
}
/* 64 mid blocks, all freed but one in every keep (and the block again,
 * if again is not negative), then the process begins to shrink. */
static void *mids[64];
static void free_mids_then_shrink(int keep, int again) {
  for (int i = 0; i < 64; i++) mids[i] = hak_malloc(4000);
  shrink_prepare();
  for (int i = 0; i < 64; i++)
    if (i % keep != 0) hak_free(mids[i]);   /* the first ones freed are flushed to their slab's list */
  if (again >= 0) hak_free(mids[again]);
  shrink_free_big();
  shrink_drain();
}
/* A freed mid block whose page went back to the OS as the process began
 * to shrink (parked, see src/tiny.c): off its slab's free list, its free
 * mark gone with the page.  Exits 4 if no block was parked. */
static void *parked_block(void) {
  free_mids_then_shrink(16, -1);
  for (int i = 0; i < 64; i++)
    if (i % 16 != 0 && tiny_block_parked(slab_of(ss_of(mids[i]), mids[i]), mids[i])) return mids[i];
  _exit(4);
}
static void double_free_parked(void) { hak_free(parked_block()); }
static void realloc_parked(void) { hak_realloc(parked_block(), 3000); }   /* in place, had it looked live */
/* A block on its slab's free list freed again goes into the thread cache;
 * the drain as the process begins to shrink puts it on the list a second
 * time (a cycle), and the parking's walk of the list finds it twice. */
static void double_free_listed_then_shrink(void) {
  free_mids_then_shrink(8, 1);
  allocate_on(4000);
}
static void double_free_parked_other_thread(void) {
  pthread_t t;
  pthread_create(&t, NULL, free_it, parked_block());
  pthread_join(t, NULL);
}
static void realloc_freed_small(void) { char *p = hak_malloc(40), *q = hak_malloc(40); hak_free(p); hak_free(q); hak_realloc(p, 80); }
static void realloc_freed_large(void) { char *p = hak_malloc(100 << 10); hak_free(p); hak_realloc(p, 200 << 10); }
static void realloc_stack(void) { int x; hak_realloc(&x, 100); }
static void realloc_interior(void) { char *p = hak_malloc(200); hak_realloc(p + 32, 400); }
static void usable_size_foreign(void) { int x = 0; hak_malloc_usable_size(&x); }
/* A stray write into a freed block's free-list link: the next malloc of
 * the class finds the link corrupted instead of following it. */
static void write_after_free_link(void) {
  uintptr_t *p = hak_malloc(48), *q = hak_malloc(48);
  hak_free(q);
  hak_free(p);
  p[0] ^= 8;
  hak_malloc(48);
  hak_malloc(48);
}
/* A write after free that plants an address (as an exploit would) cannot
 * make malloc hand it out: the link is decoded, so malloc catches the
 * corruption (a misaligned link, or no free mark where it leads) or, where
 * the decoding leaves the address aligned (the first page of a slab), it
 * follows it to a garbage address and faults. */
static char planted[64] __attribute__((aligned(64)));
static void write_after_free_plant(void) {
  void **p = hak_malloc(48), **q = hak_malloc(48);
  hak_free(q);
  hak_free(p);
  p[0] = planted;
  hak_malloc(48);
  void *r = hak_malloc(48);
  if (r == planted) _exit(3);
  _exit(0);
}
static void overflow_by_one(void) { char *p = hak_malloc(20); p[20] = 'x'; hak_free(p); }
static void overflow_usable_size(void) {   /* in the debug build the usable size is the requested size */
  char *p = hak_malloc(100);
  p[hak_malloc_usable_size(p)] = 1;
  hak_free(p);
}
static void overflow_large(void) { char *p = hak_malloc(100000); p[100000] = 1; hak_free(p); }

#define NOT_CAUGHT NULL   /* the process goes on (and exits 0) */
#define FF "hakmem: fail-fast: "
#define INVALID "hakmem: free(): invalid pointer (not allocated by hakmem"
#define INTERIOR "hakmem: free(): invalid pointer (interior"
#define DOUBLE "hakmem: free(): double free of 0x"
#define DOUBLE_LATER "hakmem: malloc(): double free (or a write after free) detected at block 0x"

/* Each case: what the default build does, and what the debug build does.
 * The README's misuse catalogue is this table. */
static const struct { const char *name; misuse_fn fn; const char *dflt, *debug; } cases[] = {
  { "free of a stack address", free_stack, INVALID, INVALID },
  { "free of a global", free_global, INVALID, INVALID },
  { "free of an interior pointer", free_interior_small, INTERIOR, INTERIOR },
  { "free of an unaligned interior pointer", free_interior_unaligned, INTERIOR, INTERIOR },
  { "free of an interior pointer of a large block", free_interior_large, INTERIOR, INTERIOR },
  { "free of an interior pointer of a huge block", free_interior_huge, INTERIOR, INTERIOR },
  { "free of the program's own mapping", free_own_mapping, INVALID, INVALID },
  { "free of glibc's block", free_glibc_block, INVALID, INVALID },
  { "free of glibc's mapped block", free_glibc_mapping, INVALID, INVALID },
  { "double free (32 bytes)", double_free_small, DOUBLE, FF "double free: pointer 0x" },
  { "double free (16 bytes)", double_free_16, DOUBLE, FF "double free: pointer 0x" },
  { "double free, not the last block freed", double_free_later, DOUBLE_LATER, FF "double free: pointer 0x" },
  { "double free (mid, 5000 bytes)", double_free_mid, DOUBLE_LATER, FF "double free: pointer 0x" },
  { "double free after a free by another thread", double_free_other_thread, DOUBLE_LATER, FF "double free: pointer 0x" },
  { "double free of a block back on its slab's list", double_free_flushed, "hakmem: free(): double free detected in the slab at 0x", FF "double free: pointer 0x" },
  { "double free of a block parked while the process shrank", double_free_parked, DOUBLE, FF "double free: pointer 0x" },
  { "double free of a parked block by another thread", double_free_parked_other_thread, DOUBLE, FF "double free: pointer 0x" },
  { "double free of a listed block, then the process shrinks", double_free_listed_then_shrink, "hakmem: free(): double free detected in the slab at 0x", FF "double free: pointer 0x" },
  { "double free (large)", double_free_large, DOUBLE, "hakmem: free(): invalid pointer (interior, or already freed)" },
  { "double free (huge)", double_free_huge, DOUBLE, "hakmem: free(): invalid pointer (interior, or already freed)" },
  { "realloc of a freed block", realloc_freed_small, "hakmem: realloc(): invalid pointer (interior, or already freed)", FF "block already freed: pointer 0x" },
  { "realloc of a parked block", realloc_parked, "hakmem: realloc(): invalid pointer (interior, or already freed)", FF "block already freed: pointer 0x" },
  { "realloc of a freed large block", realloc_freed_large, "hakmem: realloc(): invalid pointer (interior, or already freed)", "hakmem: realloc(): invalid pointer (interior, or already freed)" },
  { "realloc of a stack address", realloc_stack, "hakmem: realloc(): invalid pointer (not allocated by hakmem", "hakmem: realloc(): invalid pointer (not allocated by hakmem" },
  { "realloc of an interior pointer", realloc_interior, "hakmem: realloc(): invalid pointer (interior", "hakmem: realloc(): invalid pointer (interior" },
  { "malloc_usable_size of a foreign pointer", usable_size_foreign, "hakmem: malloc_usable_size(): invalid pointer", "hakmem: malloc_usable_size(): invalid pointer" },
  { "write after free into a free-list link", write_after_free_link, "hakmem: malloc(): corrupted free list (a write after free?): block 0x", "hakmem: malloc(): corrupted free list (a write after free?): block 0x" },
  { "write after free planting an address", write_after_free_plant, "", "" },   /* exit 0, a corruption line, or a fault: never exit 3 */
  { "write one byte past the requested size", overflow_by_one, NOT_CAUGHT, FF "canary after the requested size overwritten (buffer overflow): pointer 0x" },
  { "write one byte past malloc_usable_size", overflow_usable_size, NOT_CAUGHT, FF "canary after the requested size overwritten" },
  { "write one byte past a large block", overflow_large, NOT_CAUGHT, FF "canary after the requested size overwritten (buffer overflow): pointer 0x" },
};

#ifdef FAILFAST
/* The debug build's own checks, violated on purpose. */
static void overflow_trailer(void) { char *p = hak_malloc(20); memset(p, 0, 64); hak_free(p); }
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
static const struct { const char *name; misuse_fn fn; const char *expect; } debug_cases[] = {
  { "overflow over canary and trailer", overflow_trailer, FF "block trailer overwritten" },
  { "overflow of a huge block", overflow_huge, FF "canary after the requested size overwritten (buffer overflow): pointer 0x" },
  { "overflow found by realloc", overflow_realloc, FF "canary after the requested size overwritten" },
  { "SuperSlab magic overwritten", bad_magic, FF "bad SuperSlab magic: pointer 0x" },
  { "slab class overwritten", bad_class, FF "slab class does not match its metadata: pointer 0x" },
  { "a foreign block onto a thread's list", foreign_local_push, FF "block pushed onto the list of a thread that does not own its slab: pointer 0x" },
};
#endif

/* Runs fn in a child; expect: its stderr line and SIGABRT, NULL: exit 0,
 * "": exit 0, the corrupted-list or missing-mark line, or SIGSEGV without
 * output (the planted address followed, not handed out). */
static void run_case(const char *name, misuse_fn fn, const char *expect) {
  int fds[2];
  if (pipe(fds) != 0) exit(2);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 2);
    close(fds[0]);
    hak_free(hak_malloc(10));   /* the allocator is up and running */
    alarm(60);                  /* a case that hangs (a loop in a corrupted list) fails */
    fn();
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
  int ok;
  if (expect == NOT_CAUGHT) {
    ok = WIFEXITED(status) && WEXITSTATUS(status) == 0 && n == 0;
  } else if (expect[0] == '\0') {
    ok = (WIFEXITED(status) && WEXITSTATUS(status) == 0 && n == 0) ||
         (aborted && (strstr(buf, "corrupted free list") != NULL || strstr(buf, "double free (or a write after free)") != NULL)) ||
         (WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV && n == 0);
  } else {
    ok = aborted && strstr(buf, expect) != NULL && strchr(buf, '\n') == buf + n - 1;
    if (ok && strstr(expect, "fail-fast") != NULL) ok = strstr(buf, ", class ") != NULL && strstr(buf, ", thread ") != NULL;
  }
  if (!ok) fprintf(stderr, "case '%s': status %d, stderr '%s'\n", name, status, buf);
  CHECK(ok);
}

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
  size_t caught = 0, total = sizeof cases / sizeof cases[0];
  for (size_t i = 0; i < total; i++) {
#ifdef FAILFAST
    const char *expect = cases[i].debug;
#else
    const char *expect = cases[i].dflt;
#endif
    run_case(cases[i].name, cases[i].fn, expect);
    caught += expect != NOT_CAUGHT && expect[0] != '\0';
  }
#ifdef FAILFAST
  for (size_t i = 0; i < sizeof debug_cases / sizeof debug_cases[0]; i++, caught++, total++)
    run_case(debug_cases[i].name, debug_cases[i].fn, debug_cases[i].expect);
#endif
  printf("misuse cases: %zu, stopped with a message: %zu\n", total, caught);
  CHECK_DONE();
}

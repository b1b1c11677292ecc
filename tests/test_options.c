/* Options that change behaviour, checked by their effect; run by
 * tests/run.sh under the environment it names:
 *   test_options purge 0|1   freed pages are (1) or are not (0) given back
 *                            100 ms later (HAKMEM_PURGE_DELAY_MS)
 *   test_options thp 0|1     a huge block's mapping asks for (1) or refuses
 *                            (0) transparent huge pages (HAKMEM_THP)
 *   test_options exit 0|1    a thread's exit gives back (1) or keeps (0) the
 *                            pages it freed (HAKMEM_PURGE_ON_EXIT; run with
 *                            a purge delay of a minute) */
#include "../include/hakmem.h"
#include "check.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

static void purge(int expect) {
  void *b[32];
  for (int i = 0; i < 32; i++) {
    b[i] = hak_malloc(128 << 10);
    memset(b[i], 1, 128 << 10);
  }
  for (int i = 0; i < 32; i++) hak_free(b[i]);
  struct hak_stats s0, s1;
  hak_stats_get(&s0);
  usleep(100 * 1000);
  hak_free(hak_malloc(600 << 10));   /* a pool call: the purge clock runs there */
  hak_stats_get(&s1);
  CHECK((s1.bytes_purged > s0.bytes_purged) == expect);
}

static void *free_2mib(void *arg) {
  (void)arg;
  void *b[16];
  for (int i = 0; i < 16; i++) {
    b[i] = hak_malloc(128 << 10);
    memset(b[i], 1, 128 << 10);
  }
  for (int i = 0; i < 16; i++) hak_free(b[i]);
  return NULL;
}

static void exit_purge(int expect) {
  struct hak_stats s0, s1;
  hak_stats_get(&s0);
  pthread_t t;
  CHECK(pthread_create(&t, NULL, free_2mib, NULL) == 0);
  pthread_join(t, NULL);
  hak_stats_get(&s1);
  CHECK(s1.threads_exited == s0.threads_exited + 1);
  CHECK((s1.bytes_purged >= s0.bytes_purged + (1u << 20)) == expect);
  CHECK(s1.bytes_purged == s0.bytes_purged || expect);
}

/* The VmFlags of the mapping that holds p. */
static int vm_flag(const void *p, const char *flag) {
  FILE *f = fopen("/proc/self/smaps", "r");
  if (f == NULL) return -1;
  char line[512];
  int inside = 0, found = -1;
  while (fgets(line, sizeof line, f)) {
    unsigned long lo, hi;
    if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) {
      inside = (uintptr_t)p >= lo && (uintptr_t)p < hi;
    } else if (inside && strncmp(line, "VmFlags:", 8) == 0) {
      char want[8];
      snprintf(want, sizeof want, " %s", flag);
      found = strstr(line, want) != NULL;
    }
  }
  fclose(f);
  return found;
}

static void thp(int expect) {
  char *p = hak_malloc(8 << 20);
  memset(p, 1, 4096);
  CHECK(vm_flag(p, "hg") == expect);       /* MADV_HUGEPAGE */
  CHECK(vm_flag(p, "nh") == !expect);      /* MADV_NOHUGEPAGE */
  hak_free(p);
}

int main(int argc, char **argv) {
  if (argc != 3) return 2;
  int expect = argv[2][0] == '1';
  if (strcmp(argv[1], "purge") == 0) purge(expect);
  else if (strcmp(argv[1], "thp") == 0) thp(expect);
  else if (strcmp(argv[1], "exit") == 0) exit_purge(expect);
  else return 2;
  CHECK_DONE();
}

/* libprobe.so, preloaded after the allocator under test into the real
 * programs of the suite: at exit, each process appends one line
 * "allocator NAME" to the file named by HAKMEM_BENCH_PROBE, NAME being the
 * allocator library mapped into it (glibc if none), so that the runner
 * can refuse a run that fell back to another allocator. */
#include "common.h"

__attribute__((destructor)) static void probe_exit(void) {
  const char *path = getenv("HAKMEM_BENCH_PROBE");
  if (path == NULL) return;
  char line[128];
  int n = snprintf(line, sizeof line, "allocator %s\n", allocator_mapped());
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
  if (fd < 0) return;
  if (write(fd, line, (size_t)n) < 0) {}
  close(fd);
}

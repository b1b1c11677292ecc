/* The options table: every HAKMEM_* environment variable, read once at
 * start-up straight from environ (getenv-free, allocation-free).  A value
 * that does not parse or is out of range, and an unknown HAKMEM_ name, give
 * one warning and the default is kept.  In a secure-execution process
 * (set-user-id and the like) the environment is ignored. */
#include "internal.h"
#include "options.h"

#include <string.h>

const hak_option_desc_t hak_option_table[OPT_COUNT] = {
  [OPT_PURGE_DELAY_MS] = { "HAKMEM_PURGE_DELAY_MS", 1000, 0, 60000, "milliseconds free pages (and cached huge mappings) are kept before they go back to the OS (`MADV_DONTNEED`, `munmap`); sooner while fresh pages are taken instead of them" },
  [OPT_THP]     = { "HAKMEM_THP",     0, 0, 1, "1: huge blocks (over 1 MiB) ask for transparent huge pages; 0: they refuse them" },
  [OPT_STATS]   = { "HAKMEM_STATS",   0, 0, 1, "print statistics lines (`hakmem: ...`) to stderr at exit" },
  [OPT_VERBOSE] = { "HAKMEM_VERBOSE", 0, 0, 1, "print the effective options to stderr at start-up" },
  [OPT_BG_SPILL] = { "HAKMEM_TINY_BG_SPILL", 0, 0, 1, "1: blocks freed by threads that do not own them go through per-class spill queues that any thread takes from, with a background drainer" },
  [OPT_BG_TARGET] = { "HAKMEM_TINY_BG_TARGET", 128, 1, 8192, "foreign blocks a thread gathers per class (at most a thread cache's worth) before it pushes them onto the spill queue as one batch" },
  [OPT_BG_MAX_BATCH] = { "HAKMEM_TINY_BG_MAX_BATCH", 128, 1, 4096, "blocks a drain round returns to their slabs per class" },
  [OPT_EXIT_PURGE] = { "HAKMEM_PURGE_ON_EXIT", 0, 0, 1, "1: an exiting thread gives back at once the free pages of the SuperSlabs it freed into last (less resident memory where threads come and go; the next threads fault those pages in again)" },
};

long hak_options[OPT_COUNT];

/* Parses a decimal integer; false unless the whole string is one. */
static bool parse_long(const char *s, long *out) {
  bool neg = false;
  long v = 0;
  if (*s == '-') { neg = true; s++; }
  if (*s == '\0') return false;
  for (; *s; s++) {
    if (*s < '0' || *s > '9') return false;
    if (v > (__LONG_MAX__ - 9) / 10) return false;
    v = v * 10 + (*s - '0');
  }
  *out = neg ? -v : v;
  return true;
}

static void apply(const char *entry) {
  const char *eq = strchr(entry, '=');
  if (eq == NULL) return;
  size_t name_len = (size_t)(eq - entry);
  for (unsigned i = 0; i < OPT_COUNT; i++) {
    const hak_option_desc_t *d = &hak_option_table[i];
    if (strlen(d->name) != name_len || memcmp(d->name, entry, name_len) != 0) continue;
    long v;
    if (!parse_long(eq + 1, &v) || v < d->min || v > d->max) {
      char def[24];
      def[fmt_u64(def, (uint64_t)d->def)] = '\0';
      hak_warn(entry, ": invalid or out of range; keeping the default ", def);
      return;
    }
    hak_options[i] = v;
    return;
  }
  hak_warn("unknown option ", entry, " (ignored)");
}

void options_init(void) {
  for (unsigned i = 0; i < OPT_COUNT; i++) hak_options[i] = hak_option_table[i].def;
  if (os_secure_mode()) return;
  char **env = os_environ();
  for (; env != NULL && *env != NULL; env++)
    if (strncmp(*env, "HAKMEM_", 7) == 0) apply(*env);
}

void options_print(int fd) {
  for (unsigned i = 0; i < OPT_COUNT; i++) {
    char buf[128];
    size_t n = 0, len = strlen(hak_option_table[i].name);
    memcpy(buf, "hakmem: option ", 15);
    n = 15;
    memcpy(buf + n, hak_option_table[i].name, len);
    n += len;
    buf[n++] = '=';
    n += fmt_u64(buf + n, (uint64_t)hak_options[i]);
    buf[n++] = '\n';
    os_write(fd, buf, n);
  }
}

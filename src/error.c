/* Error reports: written with write(2) from a stack buffer, never allocating. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

size_t fmt_u64(char *buf, uint64_t v) {
  char tmp[20];
  size_t n = 0;
  do { tmp[n++] = (char)('0' + v % 10); v /= 10; } while (v);
  for (size_t i = 0; i < n; i++) buf[i] = tmp[n - 1 - i];
  return n;
}

size_t fmt_hex(char *buf, uintptr_t v) {
  static const char digits[] = "0123456789abcdef";
  char tmp[16];
  size_t n = 0;
  do { tmp[n++] = digits[v & 15]; v >>= 4; } while (v);
  buf[0] = '0';
  buf[1] = 'x';
  for (size_t i = 0; i < n; i++) buf[2 + i] = tmp[n - 1 - i];
  return n + 2;
}

static size_t append(char *buf, size_t n, size_t cap, const char *s) {
  size_t len = strlen(s);
  if (len > cap - n) len = cap - n;
  memcpy(buf + n, s, len);
  return n + len;
}

void hak_fatal_pointer(const char *func, const char *what, const void *p) {
  char buf[256];
  size_t n = append(buf, 0, sizeof buf - 24, "hakmem: ");
  n = append(buf, n, sizeof buf - 24, func);
  n = append(buf, n, sizeof buf - 24, "(): ");
  n = append(buf, n, sizeof buf - 24, what);
  buf[n++] = ' ';
  n += fmt_hex(buf + n, (uintptr_t)p);
  buf[n++] = '\n';
  os_write(2, buf, n);
  abort();
}

void hak_fatal_mark(const void *p) {
  hak_fatal_pointer("malloc", "double free (or a write after free) detected at block", p);
}

void hak_fatal_pop(const void *p) {
  if ((uintptr_t)link_get(p) & (MIN_ALIGN - 1)) hak_fatal_link(p);
  hak_fatal_mark(p);
}

void hak_fatal_link(const void *p) {
  hak_fatal_pointer("malloc", "corrupted free list (a write after free?): block", p);
}

void hak_warn(const char *s1, const char *s2, const char *s3) {
  char buf[512];
  size_t n = append(buf, 0, sizeof buf - 1, "hakmem: warning: ");
  n = append(buf, n, sizeof buf - 1, s1);
  n = append(buf, n, sizeof buf - 1, s2);
  n = append(buf, n, sizeof buf - 1, s3);
  buf[n++] = '\n';
  os_write(2, buf, n);
}

void hak_fail_check(const char *check, const void *p, int cls) {
  char buf[320];
  size_t n = append(buf, 0, sizeof buf - 64, "hakmem: fail-fast: ");
  n = append(buf, n, sizeof buf - 64, check);
  n = append(buf, n, sizeof buf - 64, ": pointer ");
  n += fmt_hex(buf + n, (uintptr_t)p);
  n = append(buf, n, sizeof buf - 64, ", class ");
  if (cls >= 0 && cls < NUM_CLASSES) n += fmt_u64(buf + n, hak_class_size[cls]);
  else buf[n++] = '-';
  n = append(buf, n, sizeof buf - 64, ", thread ");
  n += fmt_u64(buf + n, (uint64_t)os_gettid());
  buf[n++] = '\n';
  os_write(2, buf, n);
  abort();
}

/* A minimal check macro: counts failures, prints each one, and the test
 * exits non-zero if any check failed. */
#ifndef HAKMEM_TEST_CHECK_H
#define HAKMEM_TEST_CHECK_H
#include <stdio.h>
#include <stdlib.h>

static int check_failures;
static int check_count;

#define CHECK(cond) do { \
    check_count++; \
    if (!(cond)) { check_failures++; fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); } \
  } while (0)

/* For checks inside long loops: counted once per failure only. */
#define CHECK_QUIET(cond) do { \
    if (!(cond)) { check_count++; check_failures++; \
      if (check_failures < 20) fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); } \
  } while (0)

#define CHECK_DONE() do { \
    printf("%s: %d checks, %d failed\n", __FILE__, check_count, check_failures); \
    return check_failures ? 1 : 0; \
  } while (0)
#endif

/* Preloaded after libhakmem.so, this library is finalised after hakmem's
 * own destructor: its destructor allocates, reallocates and frees, and
 * reports on stderr (the test checks that it came after hakmem's lines). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

__attribute__((destructor)) static void exit_late(void) {
  char *p = malloc(100);
  strcpy(p, "late");
  p = realloc(p, 100000);
  char *h = malloc(3 << 20);
  h[(3 << 20) - 1] = 1;
  int ok = strcmp(p, "late") == 0;
  free(h);
  free(p);
  const char *msg = ok ? "exitlate: ok\n" : "exitlate: corrupted\n";
  write(2, msg, strlen(msg));
}

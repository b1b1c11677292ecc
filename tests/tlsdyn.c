/* A library with dynamic (global-dynamic) TLS, loaded with dlopen: each
 * thread's first access goes through __tls_get_addr, which allocates. */
#include <stdlib.h>
#include <string.h>

static __thread char tls_buffer[20000];
static __thread char *tls_ptr;

const char *tls_touch(const char *s) {
  strncpy(tls_buffer, s, sizeof tls_buffer - 1);
  free(tls_ptr);
  tls_ptr = strdup(s);
  return tls_buffer;
}

__attribute__((destructor)) static void tls_fini(void) {
  /* exit-time allocation in a library destructor */
  free(malloc(77));
}

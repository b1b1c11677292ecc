/* Start-up and exit paths, with libhakmem preloaded: allocation in a
 * constructor before main, in dynamically loaded TLS set-up, in
 * pthread key destructors that run after hakmem's own thread-exit hook, in
 * atexit handlers and in destructors after main returns. */
#include "check.h"

#include <dlfcn.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

int hak_owns(const void *p) __attribute__((weak));

static char *early;
static pthread_key_t late_key;
static const char *(*tls_touch)(const char *);
static const char *libpath;

__attribute__((constructor(101))) static void early_ctor(void) {
  early = malloc(64);
  strcpy(early, "constructor");
}

/* Created after hakmem's key, so it runs after hakmem's thread-exit hook. */
static void late_destructor(void *v) {
  free(v);
  char *p = malloc(300);
  memset(p, 1, 300);
  void *q = calloc(10, 100);
  free(p);
  free(q);
}

static void *thread_main(void *arg) {
  char *mine = malloc(32);
  pthread_setspecific(late_key, mine);
  const char *r = tls_touch((const char *)arg);
  return strcmp(r, arg) == 0 ? arg : NULL;
}

static void at_exit(void) {
  char *p = malloc(1000);
  memset(p, 2, 1000);
  free(early);
  free(p);
  char *q = malloc(1 << 20);   /* the huge tier too */
  q[0] = 1;
  free(q);
}

__attribute__((destructor)) static void late_dtor(void) {
  void *p = malloc(5000);
  free(p);
}

int main(int argc, char **argv) {
  (void)argc;
  CHECK(hak_owns != NULL && hak_owns(early));
  CHECK(strcmp(early, "constructor") == 0);
  atexit(at_exit);
  CHECK(pthread_key_create(&late_key, late_destructor) == 0);
  /* the test library sits next to this program */
  static char path[4096];
  strncpy(path, argv[0], sizeof path - 20);
  char *slash = strrchr(path, '/');
  strcpy(slash ? slash + 1 : path, "libtlsdyn.so");
  libpath = path;
  void *lib = dlopen(libpath, RTLD_NOW);
  CHECK(lib != NULL);
  if (lib == NULL) CHECK_DONE();
  tls_touch = (const char *(*)(const char *))dlsym(lib, "tls_touch");
  CHECK(tls_touch != NULL);
  int ok = 0;
  for (int round = 0; round < 50; round++) {
    pthread_t t[4];
    for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, thread_main, "thread");
    for (int i = 0; i < 4; i++) {
      void *r;
      pthread_join(t[i], &r);
      ok += r != NULL;
    }
  }
  CHECK(ok == 200);
  CHECK(strcmp(tls_touch("main"), "main") == 0);
  CHECK_DONE();
}

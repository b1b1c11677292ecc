/* Unit tests of the internal modules: size classes, registry, SuperSlab
 * pool and slabs, huge tier, options table. */
#include "check.h"
#include "hakmem.h"
#include "internal.h"
#include "options.h"

#include <string.h>
#include <sys/mman.h>

static void test_size_classes(void) {
  /* classes ascend in multiples of 16; every multiple of 16 up to 256 is one */
  for (unsigned c = 0; c < NUM_CLASSES; c++) {
    CHECK(hak_class_size[c] % 16 == 0);
    if (c > 0) CHECK(hak_class_size[c] > hak_class_size[c - 1]);
    if (c < 16) CHECK(hak_class_size[c] == 16 * (c + 1));
  }
  CHECK(hak_class_size[NUM_CLASSES - 1] == SMALL_MAX);
  size_t worst_num = 0, worst_den = 1;
  for (size_t n = 0; n <= SMALL_MAX; n++) {
    unsigned c = size_class(n);
    CHECK_QUIET(c == size_class_compute(n));
    CHECK_QUIET(hak_class_size[c] >= n);
    CHECK_QUIET(c == 0 || hak_class_size[c - 1] < n);   /* the smallest class that fits */
    if (n > 256 && (hak_class_size[c] - n) * worst_den > worst_num * n) { worst_num = hak_class_size[c] - n; worst_den = n; }
  }
  CHECK(worst_num * 8 <= worst_den);   /* rounding wastes at most 12.5% above 256 bytes */
}

static void test_registry(void) {
  int local;
  CHECK(registry_lookup(&local) == NULL);
  CHECK(registry_lookup(NULL) == NULL);
  CHECK(registry_lookup((void *)UINTPTR_MAX) == NULL);
  CHECK(registry_lookup((void *)((uintptr_t)1 << 47)) == NULL);
  void *p = hak_malloc(100);
  region_hdr_t *r = registry_lookup(p);
  CHECK(r != NULL && r->magic == REGION_MAGIC && r->kind == REGION_SUPERSLAB);
  CHECK((uintptr_t)r == ((uintptr_t)p & ~(SS_SIZE - 1)));
  /* a huge block spanning several chunks: every chunk maps to its header */
  char *h = hak_malloc(7 << 20);
  region_hdr_t *hr = registry_lookup(h);
  CHECK(hr != NULL && hr->kind == REGION_HUGE);
  CHECK(registry_lookup(h + (6 << 20)) == hr);
  hak_free(h);
  CHECK(registry_lookup(h) == NULL);
  hak_free(p);
  /* set and clear on memory the test maps itself */
  void *m = mmap(NULL, 3 * SS_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  region_hdr_t *base = (region_hdr_t *)align_up((uintptr_t)m, SS_SIZE);
  CHECK(registry_set(base, SS_SIZE + 1, base));
  CHECK(registry_lookup((char *)base + SS_SIZE) == base);
  CHECK(registry_lookup((char *)base + 2 * SS_SIZE) == NULL);
  registry_clear(base, SS_SIZE + 1);
  CHECK(registry_lookup(base) == NULL && registry_lookup((char *)base + SS_SIZE) == NULL);
  munmap(m, 3 * SS_SIZE);
}

static void test_pool(void) {
  /* Acquire every slab of a fresh SuperSlab for various classes: the slab
   * layout matches the class, and releasing them all frees the SuperSlab. */
  size_t before = atomic_load(&hak_stats.superslabs);
  slab_meta_t *ms[SLABS_PER_SS * 2];
  for (unsigned i = 0; i < SLABS_PER_SS * 2; i++) {
    unsigned cls = (i * 7) % NUM_CLASSES;
    ms[i] = pool_acquire_slab(cls);
    CHECK(ms[i] != NULL);
    slab_meta_t *m = ms[i];
    CHECK(m->cls == cls && m->block_size == hak_class_size[cls]);
    CHECK(m->capacity >= 1 && m->span == m->capacity * m->block_size);
    CHECK(((uintptr_t)m->start & 4095) == 0);
    superslab_t *ss = (superslab_t *)((uintptr_t)m & ~(SS_SIZE - 1));
    CHECK(slab_of(ss, m->start) == m && slab_of(ss, m->start + m->span - 1) == m);
    CHECK(slab_block_valid(m, m->start) && !slab_block_valid(m, m->start + 8));
    CHECK(!slab_block_valid(m, m->start + m->span));
  }
  CHECK(atomic_load(&hak_stats.superslabs) >= before + 1);
  for (unsigned i = 0; i < SLABS_PER_SS * 2; i++) {
    uint8_t *start = ms[i]->start;
    pool_release_slab(ms[i]);
    /* a free slab rejects every pointer (or its SuperSlab is gone) */
    CHECK(registry_lookup(start) == NULL || !slab_block_valid(ms[i], start));
  }
  pool_trim();
  CHECK(atomic_load(&hak_stats.superslabs) <= before);
}

static void test_options(void) {
  for (unsigned i = 0; i < OPT_COUNT; i++) {
    const hak_option_desc_t *d = &hak_option_table[i];
    CHECK(d->name != NULL && strncmp(d->name, "HAKMEM_", 7) == 0);
    CHECK(d->min <= d->def && d->def <= d->max);
    CHECK(d->doc != NULL && d->doc[0] != '\0');
  }
}

int main(void) {
  test_size_classes();
  test_registry();
  test_pool();
  test_options();
  CHECK_DONE();
}

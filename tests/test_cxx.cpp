// C++ with libhakmem preloaded: the standard containers and every form of
// operator new and delete reach hakmem (through libstdc++, which calls
// malloc, aligned_alloc and free), with C++ semantics: the new_handler
// loop, std::bad_alloc, nullptr from the nothrow forms.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <list>
#include <map>
#include <memory>
#include <new>
#include <string>
#include <unordered_map>
#include <vector>

extern "C" int hak_owns(const void *p) __attribute__((weak));

static int failures = 0, checks = 0;
#define CHECK(c) do { checks++; if (!(c)) { failures++; std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c); } } while (0)

// With --any-allocator the ownership checks are off, so that the output can
// be compared with a run under glibc.
static bool any_allocator = false;
static bool owned(const void *p) { return any_allocator || (hak_owns != nullptr && hak_owns(p)); }

struct alignas(64) Wide { char bytes[64]; };
struct alignas(4096) Paged { char bytes[100]; };

static int handler_calls = 0;
static void handler() {
  if (++handler_calls == 3) std::set_new_handler(nullptr);   // then bad_alloc
}

int main(int argc, char **argv) {
  any_allocator = argc > 1 && std::strcmp(argv[1], "--any-allocator") == 0;
  CHECK(any_allocator || hak_owns != nullptr);
  // plain, array, nothrow, aligned, sized
  int *i = new int(5);
  CHECK(owned(i));
  delete i;
  char *arr = new char[1000];
  CHECK(owned(arr));
  delete[] arr;
  double *nt = new (std::nothrow) double[10];
  CHECK(owned(nt));
  delete[] nt;
  Wide *w = new Wide;
  CHECK(owned(w) && reinterpret_cast<std::uintptr_t>(w) % 64 == 0);
  delete w;
  Paged *pg = new Paged[3];
  CHECK(reinterpret_cast<std::uintptr_t>(pg) % 4096 == 0);
  delete[] pg;
  void *raw = ::operator new(100, std::align_val_t(256));
  CHECK(owned(raw) && reinterpret_cast<std::uintptr_t>(raw) % 256 == 0);
  ::operator delete(raw, 100, std::align_val_t(256));
  void *raw2 = ::operator new(77, std::align_val_t(128), std::nothrow);
  CHECK(owned(raw2));
  ::operator delete(raw2, std::align_val_t(128), std::nothrow);
  void *sized = ::operator new(48);
  ::operator delete(sized, 48);

  // containers
  std::vector<std::string> v;
  for (int k = 0; k < 20000; k++) v.push_back(std::to_string(k) + std::string(k % 50, 'x'));
  CHECK(owned(v.data()));
  std::map<int, std::string> m;
  std::unordered_map<std::string, int> um;
  std::list<std::vector<int>> l;
  for (int k = 0; k < 20000; k++) {
    m[k] = v[k];
    um[v[k]] = k;
    l.emplace_back(k % 100, k);
  }
  long sum = 0;
  for (auto &kv : m) sum += (long)kv.second.size();
  for (int k = 0; k < 20000; k += 7) CHECK(um.at(v[k]) == k);
  CHECK(l.size() == 20000 && sum > 0);
  std::printf("containers: %zu %zu %zu %ld\n", m.size(), um.size(), l.size(), sum);
  auto sp = std::make_shared<std::vector<Wide>>(100);
  CHECK(owned(sp->data()));

  // failure: bad_alloc is thrown and caught, nothrow gives nullptr
  volatile std::size_t huge = std::numeric_limits<std::size_t>::max() / 2;
  bool caught = false;
  try {
    char *p = new char[huge];
    p[0] = 1;
  } catch (const std::bad_alloc &) {
    caught = true;
  }
  CHECK(caught);
  CHECK(new (std::nothrow) char[huge] == nullptr);
  caught = false;
  try {
    void *p = ::operator new(huge, std::align_val_t(64));
    ::operator delete(p, std::align_val_t(64));
  } catch (const std::bad_alloc &) {
    caught = true;
  }
  CHECK(caught);
  // the new_handler loop: called until it gives up, then bad_alloc
  std::set_new_handler(handler);
  caught = false;
  try {
    char *p = new char[huge];
    p[0] = 1;
  } catch (const std::bad_alloc &) {
    caught = true;
  }
  CHECK(caught && handler_calls == 3);
  std::printf("test_cxx: %d checks, %d failed\n", checks, failures);
  return failures ? 1 : 0;
}

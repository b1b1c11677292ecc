#!/usr/bin/env bash
# make test: runs every test and ends with the line "N passed, N failed".
# usage: tests/run.sh BUILD_DIR
set -u
cd "$(dirname "$0")/.."
B=$(cd "${1:-build}" && pwd)
LIB=$B/libhakmem.so
T=$B/tests
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

# run NAME COMMAND...: one test; its output is shown only when it fails.
run() {
  local name=$1; shift
  local start=$SECONDS
  if "$@" >"$tmp/$name.log" 2>&1; then
    echo "PASS $name ($((SECONDS - start))s)"
    passed=$((passed + 1))
  else
    echo "FAIL $name ($((SECONDS - start))s)"
    tail -n 40 "$tmp/$name.log" | sed 's/^/    /'
    failed=$((failed + 1))
  fi
}

# hakmem_used STDERR_FILE: the statistics lines prove that hakmem served
# the program (a preload that silently fell back to glibc prints none).
hakmem_used() {
  grep -Eq '^hakmem: superslabs_peak [1-9]' "$1" && grep -Eq '^hakmem: refills [1-9]' "$1" || {
    echo "no hakmem statistics lines in $1: hakmem was not in use"; cat "$1"; return 1; }
  if grep 'hakmem:' "$1" | grep -Evq '^hakmem: [a-z_.0-9]+ [0-9]+$'; then
    echo "hakmem reported a problem:"; cat "$1"; return 1
  fi
}

# compare_with_glibc NAME COMMAND...: same output under glibc and hakmem.
compare_with_glibc() {
  local name=$1; shift
  "$@" >"$tmp/$name.glibc.out" 2>"$tmp/$name.glibc.err" || { echo "$name failed under glibc"; cat "$tmp/$name.glibc.err"; return 1; }
  HAKMEM_STATS=1 LD_PRELOAD=$LIB "$@" >"$tmp/$name.hakmem.out" 2>"$tmp/$name.hakmem.err" || {
    echo "$name failed under hakmem"; tail -20 "$tmp/$name.hakmem.err"; return 1; }
  if ! cmp -s "$tmp/$name.glibc.out" "$tmp/$name.hakmem.out"; then
    echo "$name: output differs from glibc's:"
    diff "$tmp/$name.glibc.out" "$tmp/$name.hakmem.out" | head -20
    return 1
  fi
  hakmem_used "$tmp/$name.hakmem.err"
}

t_no_warnings() {
  make -s BUILD="$tmp/wb" WERROR=1 "$tmp/wb/libhakmem.so" "$tmp/wb/libhakmem-api.a"
}

t_exports() {
  local expected="__libc_calloc __libc_free __libc_mallinfo __libc_malloc __libc_mallopt __libc_memalign
    __libc_pvalloc __libc_realloc __libc_valloc aligned_alloc calloc free hak_aligned_alloc hak_calloc
    hak_free hak_mallinfo hak_mallinfo2 hak_malloc hak_malloc_trim hak_malloc_usable_size hak_mallopt
    hak_memalign hak_owns hak_posix_memalign hak_pvalloc hak_malloc_info hak_malloc_stats hak_realloc hak_reallocarray hak_stats_get hak_stats_print
    hak_valloc mallinfo mallinfo2 malloc malloc_stats malloc_trim malloc_usable_size mallopt malloc_info memalign
    posix_memalign pvalloc realloc reallocarray valloc"
  diff <(echo $expected | tr ' ' '\n' | sort) <(nm -D --defined-only "$LIB" | awk '{print $3}' | sort) || return 1
  # runtime dependencies: libc only (pthreads are part of it)
  local needed
  needed=$(readelf -d "$LIB" | awk '/NEEDED/ {print $5}' | tr -d '[]' | sort | tr '\n' ' ')
  [ "$needed" = "libc.so.6 " ] || { echo "unexpected dependencies: $needed"; return 1; }
}

t_misuse_preload() {
  local rc=0
  LD_PRELOAD=$LIB "$T/test_preload" misuse 2>"$tmp/misuse.err" || rc=$?
  [ $rc -eq 134 ] || { echo "exit status $rc, expected 134 (SIGABRT)"; return 1; }
  grep -q '^hakmem: free(): invalid pointer (not allocated by hakmem, or already freed) 0x' "$tmp/misuse.err"
}

t_oom() { ( ulimit -v 250000 && LD_PRELOAD=$LIB "$T/test_oom" ); }

t_options() {
  LD_PRELOAD=$LIB HAKMEM_STATS=7 HAKMEM_BOGUS=1 HAKMEM_VERBOSE=1 /bin/true 2>"$tmp/opt.err"
  cat "$tmp/opt.err"
  grep -q '^hakmem: warning: HAKMEM_STATS=7: invalid or out of range; keeping the default 0$' "$tmp/opt.err" &&
  grep -q '^hakmem: warning: unknown option HAKMEM_BOGUS=1 (ignored)$' "$tmp/opt.err" &&
  grep -q '^hakmem: option HAKMEM_STATS=0$' "$tmp/opt.err" &&
  grep -q '^hakmem: option HAKMEM_VERBOSE=1$' "$tmp/opt.err" || return 1
  # the README's table is the code's, row for row
  diff <("$T/options_table") <(grep '^| `HAKMEM_' README.md) || { echo "README options table differs from src/options.c"; return 1; }
  # every option: a value out of range (and one that is no number) warns,
  # names the variable and keeps the default
  local name def max
  while IFS='|' read -r _ name def range _; do
    name=$(echo "$name" | tr -d ' `'); def=$(echo "$def" | tr -d ' '); max=${range##*..}; max=${max// /}
    for bad in $((max + 1)) 12x; do
      env LD_PRELOAD=$LIB HAKMEM_VERBOSE=1 "$name=$bad" /bin/true 2>"$tmp/opt.err"
      grep -qx "hakmem: warning: $name=$bad: invalid or out of range; keeping the default $def" "$tmp/opt.err" || { echo "$name=$bad:"; cat "$tmp/opt.err"; return 1; }
      if [ "$name" = HAKMEM_VERBOSE ]; then   # the default, 0, prints no options
        ! grep -q '^hakmem: option' "$tmp/opt.err" || return 1
      else
        grep -qx "hakmem: option $name=$def" "$tmp/opt.err" || { echo "$name=$bad:"; cat "$tmp/opt.err"; return 1; }
      fi
    done
  done < <("$T/options_table")
  # valid values take effect (HAKMEM_STATS and HAKMEM_VERBOSE above and in
  # every program test; the spill options in the spill tests)
  HAKMEM_PURGE_DELAY_MS=0 "$T/test_options" purge 1 && HAKMEM_PURGE_DELAY_MS=60000 "$T/test_options" purge 0 &&
  "$T/test_options" purge 0 && HAKMEM_THP=1 "$T/test_options" thp 1 && "$T/test_options" thp 0 || return 1
  # a secure-execution process (set-user-id) ignores the environment: a
  # static program with hakmem, set-user-id to nobody
  local prog=$tmp/secure/options_table
  mkdir -p "$tmp/secure" && chmod 755 "$tmp" "$tmp/secure" && cp "$T/options_table" "$prog"
  HAKMEM_VERBOSE=1 HAKMEM_BOGUS=1 "$prog" >/dev/null 2>"$tmp/plain.err"
  grep -q '^hakmem: option HAKMEM_VERBOSE=1$' "$tmp/plain.err" || { echo "the static program does not read options"; return 1; }
  if [ "$(id -u)" != 0 ]; then echo "the set-user-id check needs root"; return 1; fi
  chown nobody "$prog" && chmod 4755 "$prog"
  HAKMEM_VERBOSE=1 HAKMEM_BOGUS=1 "$prog" >"$tmp/secure.out" 2>"$tmp/secure.err" || return 1
  [ -s "$tmp/secure.out" ] && ! grep -q 'hakmem:' "$tmp/secure.err" || { echo "secure mode read the environment:"; cat "$tmp/secure.err"; return 1; }
}

# A library finalised after hakmem's destructor still allocates and frees.
t_after_destructors() {
  HAKMEM_STATS=1 LD_PRELOAD="$LIB $T/libexitlate.so" "$T/test_startup" 2>"$tmp/late.err" || { cat "$tmp/late.err"; return 1; }
  cat "$tmp/late.err"
  [ "$(grep -E '^(hakmem: threads_exited|exitlate:)' "$tmp/late.err" | tr '\n' '|')" = "$(grep '^hakmem: threads_exited' "$tmp/late.err")|exitlate: ok|" ]
}

t_launcher() { "$B/hakmem" "$T/test_preload"; }

t_install() {
  local prefix=$tmp/prefix
  make -s BUILD="$B" install PREFIX="$prefix" >/dev/null || return 1
  for f in lib/libhakmem.so lib/libhakmem.a lib/libhakmem-api.a include/hakmem.h lib/pkgconfig/hakmem.pc bin/hakmem; do
    [ -e "$prefix/$f" ] || { echo "missing $f"; return 1; }
  done
  cat >"$tmp/use.c" <<'C'
#include <hakmem.h>
#include <stdio.h>
int main(void) { void *p = hak_malloc(100); int ok = hak_owns(p); hak_free(p); puts(ok ? "ok" : "bad"); return !ok; }
C
  PKG_CONFIG_PATH=$prefix/lib/pkgconfig cc "$tmp/use.c" $(PKG_CONFIG_PATH=$prefix/lib/pkgconfig pkg-config --cflags --libs hakmem) -o "$tmp/use" &&
  LD_LIBRARY_PATH=$prefix/lib "$tmp/use" &&
  cc -I"$prefix/include" "$tmp/use.c" "$prefix/lib/libhakmem-api.a" -pthread -o "$tmp/use_static" && "$tmp/use_static" &&
  "$prefix/bin/hakmem" "$T/test_preload"
}

t_python() { compare_with_glibc python /usr/bin/python3 tests/workloads/python_workload.py; }
t_python_malloc() { PYTHONMALLOC=malloc compare_with_glibc python_malloc /usr/bin/python3 tests/workloads/python_workload.py; }
t_sort() {
  awk 'BEGIN { for (i = 0; i < 1000000; i++) printf "%d line %x %s\n", (i * 7919) % 1000003, i, substr("abcdefghijklmnopqrstuvwxyz", 1 + i % 26) }' >"$tmp/lines.txt"
  compare_with_glibc sort sort "$tmp/lines.txt"
}
t_gcc() {
  awk 'BEGIN { for (i = 0; i < 1500; i++) { printf "struct s%d { int a[%d]; char *p; };\n", i, i % 17 + 1;
       printf "int f%d(struct s%d *x, int n) { int t = 0; for (int i = 0; i < n && i < %d; i++) t += x->a[i] * %d; return t + (x->p ? x->p[0] : 0); }\n", i, i, i % 17 + 1, i } }' >"$tmp/gen.c"
  compare_with_glibc gcc gcc -O2 -S -o - "$tmp/gen.c"
}
t_cxx() { compare_with_glibc cxx "$T/test_cxx" --any-allocator; }
t_sqlite() { compare_with_glibc sqlite sqlite3 :memory: ".read tests/workloads/sqlite_workload.sql"; }
# CPython's own regression tests for the containers and strings, with
# Python's objects served by malloc (Debian's libpython3.11-testsuite).
# Some of them require empty stderr from child processes, so hakmem's use is
# proven by /proc/self/maps instead of its statistics lines.
t_python_regrtest() {
  [ -e /usr/lib/python3.11/test/test_dict.py ] || { echo "install libpython3.11-testsuite (see README)"; return 1; }
  PYTHONMALLOC=malloc LD_PRELOAD=$LIB /usr/bin/python3.11 -c '
import sys
if "libhakmem" not in open("/proc/self/maps").read():
    sys.exit("hakmem is not mapped: it was not in use")
from test.libregrtest.main import main
main(["test_dict", "test_list", "test_set", "test_deque", "test_itertools", "test_json",
      "test_re", "test_collections", "test_weakref"])
' >"$tmp/regrtest.out" 2>&1 || { tail -30 "$tmp/regrtest.out"; return 1; }
  grep -q '^Tests result: SUCCESS' "$tmp/regrtest.out" || { tail -30 "$tmp/regrtest.out"; return 1; }
}

t_perl() { compare_with_glibc perl perl tests/workloads/perl_workload.pl; }

echo "hakmem tests ($B)"
run build_no_warnings t_no_warnings
run exports t_exports
run unit_api "$T/test_api"
run unit_internal "$T/test_internal"
run stress_4_threads "$T/test_stress" 4 100000
run stress_8_threads "$T/test_stress" 8 25000
run stress_debug_build "$T/test_stress_debug" 4 50000
run misuse "$T/test_misuse"
run failfast_debug_build "$T/test_failfast"
run spill_queue env HAKMEM_TINY_BG_SPILL=1 "$T/test_spill"
run spill_queue_target_1 env HAKMEM_TINY_BG_SPILL=1 HAKMEM_TINY_BG_TARGET=1 HAKMEM_TINY_BG_MAX_BATCH=1 "$T/test_spill" target=1,batch=1
run misuse_preload t_misuse_preload
run preload_entry_points env LD_PRELOAD="$LIB" "$T/test_preload"
run static_link "$T/test_static"
run fork_multithreaded env LD_PRELOAD="$LIB" "$T/test_fork"
run fork_with_spill_drainer env HAKMEM_TINY_BG_SPILL=1 LD_PRELOAD="$LIB" "$T/test_fork"
run startup_and_exit env LD_PRELOAD="$LIB" "$T/test_startup"
run after_hakmem_destructors t_after_destructors
run out_of_memory t_oom
run cxx_operators env LD_PRELOAD="$LIB" "$T/test_cxx"
run options t_options
run bench_runner tests/bench_runner.sh "$B"
run launcher t_launcher
run install t_install
run system_python3 t_python
run system_python3_malloc t_python_malloc
run system_python3_regrtest t_python_regrtest
run system_sort t_sort
run system_gcc t_gcc
run system_cxx t_cxx
run system_sqlite3 t_sqlite
run system_perl t_perl
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

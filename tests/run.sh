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
    __libc_pvalloc __libc_realloc __libc_valloc aligned_alloc calloc cfree free hak_aligned_alloc hak_calloc
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

# The ThreadSanitizer build: instrumented (its runtime is linked in), and
# silent; a report fails even if the program's checks pass.
t_tsan() {
  nm "$T/test_stress_tsan" | grep -q ' __tsan_init$' || { echo "test_stress_tsan is not instrumented"; return 1; }
  TSAN_OPTIONS="halt_on_error=1 exitcode=66" "$T/test_stress_tsan" "$@" 2>"$tmp/tsan.err" || { cat "$tmp/tsan.err"; return 1; }
  cat "$tmp/tsan.err"
  ! grep -q 'WARNING: ThreadSanitizer' "$tmp/tsan.err"
}

# SECONDS of fuzzing; its summary line ("fuzz: N executions ...") is
# shown after the results.
t_fuzz() {
  tests/fuzz.sh "$B" "$1" >"$tmp/fuzz.out" 2>&1 || { tail -40 "$tmp/fuzz.out"; return 1; }
  tail -1 "$tmp/fuzz.out" | tee "$tmp/fuzz.summary" | grep -q '^fuzz: [0-9]* executions in [0-9]* s, no finding$'
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
  "$T/test_options" purge 0 && HAKMEM_THP=1 "$T/test_options" thp 1 && "$T/test_options" thp 0 &&
  HAKMEM_PURGE_DELAY_MS=60000 HAKMEM_PURGE_ON_EXIT=1 "$T/test_options" exit 1 && HAKMEM_PURGE_DELAY_MS=60000 "$T/test_options" exit 0 || return 1
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

t_python() {
  compare_with_glibc python /usr/bin/python3 -c "$py_maps; runpy.run_path(sys.argv[1], run_name='__main__')" \
    tests/workloads/python_workload.py && mapped python
}

# ---- real programs: output compared with glibc's, hakmem's presence proven
# Each test runs a real program once under glibc and once under hakmem
# (compare_with_glibc), and proves hakmem's presence twice: its statistics
# lines (hakmem_used) and a line of the program's own /proc/PID/maps mapping
# libhakmem.so's code (mapped).  The maps are read at a moment when the
# process is certain to be alive and past loading its libraries, without
# polling /proc from outside (a race with the program's exec and exit):
#  - by the program itself: python and perl open /proc/self/maps;
#  - or by a child that the program starts and waits for, which reads its
#    parent's maps, /proc/$PPID/maps (not its own: a child inherits
#    LD_PRELOAD, so its own maps would prove nothing about the program):
#    sqlite3 runs it with .shell, gcc as its -wrapper around cc1 and as,
#    sort as its --compress-program, git as a post-commit hook.
# The lines go to stderr, which is not compared: the glibc run, which prints
# none, keeps the same output.
parent_maps='grep libhakmem /proc/$PPID/maps >&2 || true'
py_maps='import runpy, sys; sys.stderr.writelines(l for l in open("/proc/self/maps") if "libhakmem" in l)'
# gcc -wrapper: cc1 and as are started as "sh -c SCRIPT cc1 ARGS" (no commas in SCRIPT)
gcc_maps=(-wrapper "/bin/sh,-c,$parent_maps; exec \"\$0\" \"\$@\"")

# mapped NAME: the hakmem run of test NAME printed a line of its maps that maps
# libhakmem.so executable (" (deleted)" if make replaced it meanwhile).
mapped() {
  grep -Eq '^[0-9a-f]+-[0-9a-f]+ r-xp .* /.*libhakmem\.so( \(deleted\))?$' "$tmp/$1.hakmem.err" || {
    echo "$1: libhakmem.so is not mapped in the program's /proc/PID/maps: hakmem was not loaded"; return 1; }
}

# without_stats FILE: FILE less hakmem's statistics lines (what a failing
# program said, among the lines of every process run under HAKMEM_STATS=1)
without_stats() { grep -Ev '^hakmem: [a-z_.0-9]+ [0-9]+$' "$1"; }

t_python_malloc() {
  PYTHONMALLOC=malloc compare_with_glibc python_malloc /usr/bin/python3 -c "$py_maps; runpy.run_path(sys.argv[1], run_name='__main__')" \
    tests/workloads/python_workload.py && mapped python_malloc
}
# sort, 32 MB in 16 MB batches: an external merge, through a compressor
# that reads sort's maps
t_sort() {
  awk 'BEGIN { for (i = 0; i < 1000000; i++) printf "%d line %x %s\n", (i * 7919) % 1000003, i, substr("abcdefghijklmnopqrstuvwxyz", 1 + i % 26) }' >"$tmp/lines.txt"
  printf '#!/bin/sh\n%s\nexec gzip -1 "$@"\n' "$parent_maps" >"$tmp/compress" && chmod +x "$tmp/compress" &&
  compare_with_glibc sort sort -S 16M -T "$tmp" --compress-program="$tmp/compress" "$tmp/lines.txt" && mapped sort
}
t_gcc() {
  awk 'BEGIN { for (i = 0; i < 1500; i++) { printf "struct s%d { int a[%d]; char *p; };\n", i, i % 17 + 1;
       printf "int f%d(struct s%d *x, int n) { int t = 0; for (int i = 0; i < n && i < %d; i++) t += x->a[i] * %d; return t + (x->p ? x->p[0] : 0); }\n", i, i, i % 17 + 1, i } }' >"$tmp/gen.c"
  compare_with_glibc gcc gcc "${gcc_maps[@]}" -O2 -S -o - "$tmp/gen.c" && mapped gcc
}
# gcc compiling a project: hakmem's own library sources (the objects of
# libhakmem.so, with the Makefile's flags), under glibc and under hakmem (its
# cc1 and as too, LD_PRELOAD being inherited); the objects must be the same
# byte for byte.  -frandom-seed: the one random input of gcc, fixed per file.
t_gcc_project() {
  local vars flags objs f g=$tmp/gcc_project.glibc h=$tmp/gcc_project.hakmem
  vars=$(MAKEFLAGS= make -s --no-print-directory -f Makefile -f - hak_print_vars \
    <<<'hak_print_vars: ; @echo $(ALL_CFLAGS); echo $(notdir $(basename $(CORE_OBJS) $(OVERRIDE_OBJ)))') || return 1
  flags=$(sed -n 1p <<<"$vars"); objs=$(sed -n 2p <<<"$vars")
  [ -n "$flags" ] && [ -n "$objs" ] || { echo "no flags or objects read from the Makefile: $vars"; return 1; }
  mkdir -p "$g" "$h" || return 1
  for f in $objs; do
    gcc "${gcc_maps[@]}" $flags -frandom-seed=$f -c "src/$f.c" -o "$g/$f.o" 2>>"$g.err" || {
      echo "gcc -c src/$f.c failed under glibc"; tail -20 "$g.err"; return 1; }
    HAKMEM_STATS=1 LD_PRELOAD=$LIB gcc "${gcc_maps[@]}" $flags -frandom-seed=$f -c "src/$f.c" -o "$h/$f.o" 2>>"$h.err" || {
      echo "gcc -c src/$f.c failed under hakmem"; without_stats "$h.err" | tail -20; return 1; }
    cmp "$g/$f.o" "$h/$f.o" || {
      echo "gcc_project: src/$f.c compiled under hakmem differs from glibc's (objdump -dr, then readelf -a):"
      diff <(objdump -dr "$g/$f.o" | tail -n +3) <(objdump -dr "$h/$f.o" | tail -n +3) | head -20
      diff <(readelf -aW "$g/$f.o") <(readelf -aW "$h/$f.o") | head -20
      return 1; }
  done
  echo "gcc_project: $(wc -w <<<"$objs") objects the same: $objs"
  hakmem_used "$h.err" && mapped gcc_project
}
# test_cxx is the project's own program, not a real one: its statistics lines
# suffice here, and cxx_operators checks that hakmem owns its every pointer.
t_cxx() { compare_with_glibc cxx "$T/test_cxx" --any-allocator; }
t_sqlite() {
  compare_with_glibc sqlite sqlite3 :memory: ".read tests/workloads/sqlite_workload.sql" ".shell $parent_maps" && mapped sqlite
}
# CPython's own regression tests for the containers, strings and pickling,
# with Python's objects served by malloc (Debian's libpython3.11-testsuite),
# under hakmem and under glibc: the outcome of each module and of each test
# case must be the same (tests/workloads/python_regrtest.py).  The 12
# modules take about 25 s each way on the reference machine (test_weakref
# and test_pickle 6-7 s each, the rest 0.4-2.5 s), so both runs are kept
# (about 50 s) and run one after the other: run side by side on 2 cores,
# the timing-sensitive cases of test_weakref would be the first to flake.
# Some tests require empty stderr from child processes, so hakmem's use is
# proven by /proc/self/maps (checked by the script) instead of its
# statistics lines.
regrtest_modules="test_dict test_list test_set test_unicode test_json test_re test_bytes
  test_collections test_deque test_weakref test_itertools test_pickle"
t_python_regrtest() {
  local m
  for m in $regrtest_modules; do
    [ -e "/usr/lib/python3.11/test/$m.py" ] || [ -d "/usr/lib/python3.11/test/$m" ] || {
      echo "no $m in /usr/lib/python3.11/test: install libpython3.11-testsuite (see README)"; return 1; }
  done
  PYTHONMALLOC=malloc /usr/bin/python3.11 tests/workloads/python_regrtest.py "$tmp/regrtest.glibc" $regrtest_modules \
    >"$tmp/regrtest.glibc.out" 2>&1 || { echo "regrtest failed under glibc:"; tail -30 "$tmp/regrtest.glibc.out"; return 1; }
  PYTHONMALLOC=malloc LD_PRELOAD=$LIB /usr/bin/python3.11 tests/workloads/python_regrtest.py "$tmp/regrtest.hakmem" $regrtest_modules \
    >"$tmp/regrtest.hakmem.out" 2>&1 || { echo "regrtest failed under hakmem:"; tail -30 "$tmp/regrtest.hakmem.out"; return 1; }
  grep -q '^Tests result: SUCCESS' "$tmp/regrtest.hakmem.out" || { tail -30 "$tmp/regrtest.hakmem.out"; return 1; }
  [ -s "$tmp/regrtest.glibc" ] || { echo "regrtest wrote no outcomes"; return 1; }
  diff "$tmp/regrtest.glibc" "$tmp/regrtest.hakmem" >"$tmp/regrtest.diff" || {
    echo "regrtest: outcomes under hakmem (>) differ from glibc's (<):"; head -40 "$tmp/regrtest.diff"; return 1; }
  echo "regrtest: $(grep -c '^module' "$tmp/regrtest.hakmem") modules, $(grep -c '^case' "$tmp/regrtest.hakmem") test cases, the same outcomes"
}

t_perl() {
  compare_with_glibc perl perl -e 'open(my $m, "<", "/proc/self/maps") or die; print STDERR grep { /libhakmem/ } <$m>; close $m;
    my $f = shift; do($f) // die($@ || "$f: $!")' ./tests/workloads/perl_workload.pl && mapped perl
}

# git doing real work (tests/workloads/git_workload.sh, a script of its own
# so that its set -e holds: run's "if" would disable it in a function here):
# a repository of a few hundred files built over 6 commits, its log, diffs,
# gc, fsck and archive.  Every program it runs inherits LD_PRELOAD (bash,
# awk, tar and git's own children too).
t_git() {
  bash tests/workloads/git_workload.sh "$tmp/git.glibc" >"$tmp/git.glibc.out" 2>"$tmp/git.glibc.err" || {
    echo "git failed under glibc:"; tail -20 "$tmp/git.glibc.err"; return 1; }
  HAKMEM_STATS=1 LD_PRELOAD=$LIB bash tests/workloads/git_workload.sh "$tmp/git.hakmem" >"$tmp/git.hakmem.out" 2>"$tmp/git.hakmem.err" || {
    echo "git failed under hakmem:"; without_stats "$tmp/git.hakmem.err" | tail -20; return 1; }
  diff "$tmp/git.glibc.out" "$tmp/git.hakmem.out" >"$tmp/git.diff" || {
    echo "git: output under hakmem (>) differs from glibc's (<):"; head -40 "$tmp/git.diff"; return 1; }
  echo "git: $(wc -l <"$tmp/git.hakmem.out") lines of output the same"
  hakmem_used "$tmp/git.hakmem.err" && mapped git
}

echo "hakmem tests ($B)"
run build_no_warnings t_no_warnings
run exports t_exports
run unit_api "$T/test_api"
run unit_internal "$T/test_internal"
# 2, 4, 8 and 16 threads, 6 million operations each (two rounds), in the
# default and in the debug build: 48 million in all
run stress_2_threads "$T/test_stress" 2 1500000
run stress_4_threads "$T/test_stress" 4 750000
run stress_8_threads "$T/test_stress" 8 375000
run stress_16_threads "$T/test_stress" 16 187500
run stress_2_threads_debug_build "$T/test_stress_debug" 2 1500000
run stress_4_threads_debug_build "$T/test_stress_debug" 4 750000
run stress_8_threads_debug_build "$T/test_stress_debug" 8 375000
run stress_16_threads_debug_build "$T/test_stress_debug" 16 187500
# hakmem compiled with UndefinedBehaviorSanitizer, then ThreadSanitizer:
# any report fails the test
run stress_ubsan "$T/test_stress_ubsan" 4 500000
run stress_ubsan_16_threads "$T/test_stress_ubsan" 16 60000
run stress_tsan t_tsan 4 100000
run stress_tsan_16_threads t_tsan 16 20000
# waves: 4096 blocks a thread, 15 in 16 freed every 8192 operations, so
# that the process shrinks and mid slabs park while others free into them
run stress_waves_4_threads "$T/test_stress" 4 400000 4096
run stress_waves_16_threads "$T/test_stress" 16 50000 4096
run stress_waves_debug_build "$T/test_stress_debug" 4 200000 4096
run stress_waves_ubsan "$T/test_stress_ubsan" 4 200000 4096
run stress_waves_tsan t_tsan 4 40000 4096
# the same with the spill queue and its drainer thread
run stress_waves_spill env HAKMEM_TINY_BG_SPILL=1 "$T/test_stress" 8 200000 4096
HAKMEM_TINY_BG_SPILL=1 run stress_waves_spill_tsan t_tsan 4 40000 4096
# the fuzzing corpus and the inputs that once failed, replayed against the
# default and the debug build; then a minute of fuzzing (clang's libFuzzer)
run fuzz_corpus_replay "$T/fuzz_replay" tests/fuzz/corpus tests/fuzz/regressions
run fuzz_corpus_replay_debug_build "$T/fuzz_replay_debug" tests/fuzz/corpus tests/fuzz/regressions
run fuzz_60s t_fuzz 60
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
run system_gcc_project t_gcc_project
run system_cxx t_cxx
run system_sqlite3 t_sqlite
run system_perl t_perl
run system_git t_git
[ -s "$tmp/fuzz.summary" ] && cat "$tmp/fuzz.summary"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

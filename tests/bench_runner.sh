#!/usr/bin/env bash
# The benchmark runner's own logic (bench/lib.sh, bench/summarize.awk):
# runstat parsing, the proof of which allocator ran (a run that fell back
# to another allocator is refused), medians and geometric means, and the
# chart's bars.  usage: tests/bench_runner.sh BUILD_DIR
set -u
cd "$(dirname "$0")/.."
. bench/lib.sh
B=$(cd "${1:-build}" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
check() {   # check DESCRIPTION COMMAND...
  local what=$1
  shift
  if "$@"; then :; else echo "FAILED: $what"; fails=$((fails + 1)); fi
}
not() { ! "$@"; }

# runstat's line
echo "1.250 2.500 10240 0" >"$tmp/stat"
read_runstat "$tmp/stat"
check "runstat fields" test "$wall $cpu $maxrss_kb $status" = "1.250 2.500 10240 0"
"$B/bench/runstat" "$tmp/stat2" sh -c 'exit 3'
read_runstat "$tmp/stat2"
check "runstat records the exit status" test "$status" = 3
echo "garbage" >"$tmp/bad"
check "a malformed runstat line is refused" not read_runstat "$tmp/bad"

# the allocator proof, on real runs
"$B/bench/bench_tiny_hot" 1000 >"$tmp/glibc.out" 2>"$tmp/glibc.err"
check "a benchmark without preload is glibc" allocator_proof glibc "$tmp/glibc.out" "$tmp/glibc.err" /nonexistent
check "a run meant for mimalloc that ran glibc is refused" not allocator_proof mimalloc "$tmp/glibc.out" "$tmp/glibc.err" /nonexistent
HAKMEM_STATS=1 LD_PRELOAD=$B/libhakmem.so "$B/bench/bench_tiny_hot" 1000 >"$tmp/h.out" 2>"$tmp/h.err"
check "a hakmem run is hakmem" allocator_proof hakmem "$tmp/h.out" "$tmp/h.err" /nonexistent
check "a variant of hakmem counts as hakmem" allocator_proof hakmem+spill "$tmp/h.out" "$tmp/h.err" /nonexistent
LD_PRELOAD=$B/libhakmem.so "$B/bench/bench_tiny_hot" 1000 >"$tmp/h2.out" 2>"$tmp/h2.err"
check "hakmem without its statistics lines is refused" not allocator_proof hakmem "$tmp/h2.out" "$tmp/h2.err" /nonexistent
# the probe library, for programs that do not name their allocator
HAKMEM_BENCH_PROBE=$tmp/probe1 LD_PRELOAD="$B/bench/libprobe.so" sh -c 'true; /bin/true'
check "the probe names glibc in every process" test "$(sort -u "$tmp/probe1")" = "allocator glibc"
HAKMEM_STATS=1 HAKMEM_BENCH_PROBE=$tmp/probe2 LD_PRELOAD="$B/libhakmem.so $B/bench/libprobe.so" sh -c '/bin/true' 2>"$tmp/p2.err"
check "the probe names hakmem" allocator_proof hakmem /dev/null "$tmp/p2.err" "$tmp/probe2"
printf 'allocator hakmem\nallocator glibc\n' >"$tmp/probe3"
check "one process that fell back is enough to refuse the run" not allocator_proof hakmem /dev/null "$tmp/p2.err" "$tmp/probe3"

# medians, ratios and geometric means: two core benchmarks, one extra
cat >"$tmp/runs.csv" <<'EOF'
bench,suite,allocator,run,time,time_unit,mem_mb,wall_s,cpu_s,maxrss_mb,figures
a,core,hakmem,1,10,ns/op,100,,,,f=1
a,core,mimalloc,1,20,ns/op,50,,,,f=3
a,core,hakmem,2,30,ns/op,100,,,,f=2
a,core,mimalloc,2,40,ns/op,50,,,,f=5
a,core,hakmem,3,20,ns/op,100,,,,f=3
a,core,mimalloc,3,30,ns/op,50,,,,f=4
b,core,hakmem,1,2,s,10,,,,
b,core,mimalloc,1,1,s,40,,,,
x,extra,hakmem,1,1,s,1,,,,
x,extra,mimalloc,1,100,s,100,,,,
EOF
awk -F, -v mode=md -f bench/summarize.awk "$tmp/runs.csv" >"$tmp/md"
# a: hakmem median 20, mimalloc 30 (1.5x), memory 100 vs 50 (0.5x); b: 2 vs 1 (0.5x), 10 vs 40 (4x)
check "medians and ratios" grep -q '^| a | ns/op | 20 | 100.0 | 30 (1.50x) | 50.0 (0.50x) |$' "$tmp/md"
# time: sqrt(20/30 * 2/1) = 1.155; memory: sqrt(100/50 * 10/40) = 0.707; the extra benchmark is left out
check "geometric means over the core benchmarks" grep -q '^| mimalloc | 2 | 1.155 | 0.707 |$' "$tmp/md"
check "worst benchmark against the best peer" grep -q 'Worst core benchmark against its fastest peer: b, hakmem.s time 2.00x' "$tmp/md"
check "figures' medians" grep -q '^| a | f | 2 | 4 |$' "$tmp/md"
awk -F, -v mode=svg -f bench/summarize.awk "$tmp/runs.csv" >"$tmp/svg"
check "one bar per benchmark, allocator and panel" test "$(grep -c '<rect class="bar"' "$tmp/svg")" = 12
check "each benchmark and allocator has its time bar" test "$(grep -o 'data-panel="time" data-bench="[a-z]*" data-allocator="[a-z]*"' "$tmp/svg" | sort -u | wc -l)" = 6
check "the chart is well-formed XML" python3 -c 'import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])' "$tmp/svg"

echo "bench runner: $fails failed"
[ "$fails" = 0 ]

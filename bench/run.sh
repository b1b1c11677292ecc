#!/usr/bin/env bash
# make bench: the fixed suite under hakmem, glibc and each peer allocator
# installed (mimalloc, jemalloc, tcmalloc from Debian's packages),
# interleaved run by run, RUNS runs each (5; BENCH_QUICK=1: 3 runs of
# smaller workloads).  Every run's wall time, user+system time and peak
# resident memory (wait4's rusage, through bench/runstat) go to
# bench/results/latest.csv; medians and ratios to hakmem's to
# bench/results/latest.md (and stdout), and a chart to
# bench/results/latest.svg (partial.* for a selection).  A run that was not served by the allocator it
# was meant for is an error, not a result (bench/lib.sh, allocator_proof).
# usage: bench/run.sh BUILD_DIR
# Environment: ONLY="NAME ..." runs the benchmarks whose names start with
# one of these (make bench ONLY=redis); PEERS=0 leaves the peers out;
# VARIANTS="NAME:VAR=V ..." adds hakmem with options set (for instance
# hakmem+spill:HAKMEM_TINY_BG_SPILL=1).
set -u
cd "$(dirname "$0")/.."
. bench/lib.sh
B=$(cd "${1:-build}" && pwd)
QUICK=${BENCH_QUICK:-0}
if [ "$QUICK" = 1 ]; then RUNS=${RUNS:-3}; else RUNS=${RUNS:-5}; fi
LIBDIR=/usr/lib/$(gcc -dumpmachine 2>/dev/null || echo x86_64-linux-gnu)
out=$B/bench
results=bench/results
mkdir -p "$results"
# the whole suite writes latest.*; a selection (ONLY, VARIANTS, PEERS=0, BENCH_QUICK)
# writes partial.*, so that it never replaces the figures of a full run
base=latest
[ -n "${ONLY:-}${VARIANTS:-}" ] || [ "${PEERS:-1}" = 0 ] || [ "$QUICK" = 1 ] && base=partial
tmp=$(mktemp -d)
csv=$tmp/runs.csv   # copied to $results/$base.csv once the whole run succeeded
redis_pid=
trap '[ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null; rm -rf "$tmp"' EXIT

# q FULL QUICK: a workload size by mode.
q() { if [ "$QUICK" = 1 ]; then echo "$2"; else echo "$1"; fi; }

# name:library[:VAR=VALUE] (glibc has no library)
allocators=("hakmem:$B/libhakmem.so" "glibc:")
for v in ${VARIANTS:-}; do allocators+=("${v%%:*}:$B/libhakmem.so:${v#*:}"); done
missing=()
[ "${PEERS:-1}" = 0 ] || for peer in "mimalloc:libmimalloc.so.2:libmimalloc2.0" "jemalloc:libjemalloc.so.2:libjemalloc2" "tcmalloc:libtcmalloc_minimal.so.4:libtcmalloc-minimal4"; do
  IFS=: read -r name file pkg <<<"$peer"
  if [ -e "$LIBDIR/$file" ]; then allocators+=("$name:$LIBDIR/$file"); else missing+=("$pkg"); fi
done
command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null || missing+=(redis-server)
command -v sqlite3 >/dev/null || missing+=(sqlite3)
[ -x /usr/bin/python3 ] || missing+=(python3)
if [ ${#missing[@]} -gt 0 ]; then
  echo "not installed (their runs are skipped): ${missing[*]}" >&2
  echo "  add them with: sudo apt-get install ${missing[*]}" >&2
fi

# The suite: name|core or extra (extra: shown, not in the geometric means)|kind|command.
# kind bench: our programs (they name the allocator mapped into them);
# prog: Debian's programs (the probe library names it); redis: see run_redis.
benches=(
  "random_mixed_16_1024|core|bench|$out/bench_random_mixed $(q 10000000 2000000) 256 42"
  "random_mixed_ws100k|core|bench|$out/bench_random_mixed $(q 3000000 1000000) 100000 42"
  "random_mixed_8_64|core|bench|$out/bench_random_mixed $(q 10000000 2000000) 256 42 8 64"
  "random_mixed_16_32k|core|bench|$out/bench_random_mixed $(q 3000000 1000000) 2000 42 16 32768"
  "tiny_hot|core|bench|$out/bench_tiny_hot $(q 1000000 300000)"
  "xthread_2_threads|core|bench|$out/bench_xthread 1 $(q 2000000 500000)"
  "mid_large_mt_2_threads|core|bench|$out/bench_mid_large_mt 2 $(q 200000 50000)"
  "larson_2_threads|core|bench|$out/bench_larson 2 $(q 2 1)"
  "fragment|core|bench|$out/bench_fragment $(q 512 128)"
  "thread_churn|core|bench|$out/bench_thread_churn $(q 1000 300) $(q 500 300)"
  "random_mixed_1m|extra|bench|$out/bench_random_mixed 1000000 256 42"
  "live_1m_16B|extra|bench|$out/bench_live 16"
  "live_1m_48B|extra|bench|$out/bench_live 48"
  "live_1m_100B|extra|bench|$out/bench_live 100"
  "python3|core|prog|env PYTHONMALLOC=malloc /usr/bin/python3 bench/workloads/python_dicts.py $(q 2 1)"
  "sqlite3|core|prog|sh -c \"sqlite3 -lookaside 0 0 -cmd '.parameter set @rows $(q 300000 100000)' :memory: < bench/workloads/sqlite_bench.sql\""
  "gcc|core|prog|bench/workloads/gcc_build.sh $(q 99 4)"
  "redis|core|redis|$(q 100000 20000)"
)

selected() {   # selected NAME: ONLY is empty, or one of its words is a prefix of NAME
  [ -z "${ONLY:-}" ] && return 0
  local w
  for w in $ONLY; do [[ $1 == "$w"* ]] && return 0; done
  return 1
}

# run_redis ALLOCATOR LIB OPT REQUESTS: a server under the allocator on a
# loopback port, loaded by redis-benchmark; prints "TIME MEM FIGURES" (TIME:
# microseconds for one request of each kind, MEM: used_memory_rss in MB).
# Debian's redis-server is linked with jemalloc, so "jemalloc" is the
# server as shipped; a preloaded allocator replaces its malloc and free.
run_redis() {
  local aname=$1 lib=$2 opt=$3 n=$4 port preload= try i
  [ "$aname" = jemalloc ] || preload=$lib
  # a port below Linux's ephemeral range (32768 up, where redis-benchmark's
  # own connections linger in TIME_WAIT); another one if it is taken
  for try in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 12000))
    env HAKMEM_STATS=1 ${preload:+LD_PRELOAD=$preload} $opt redis-server --port "$port" --bind 127.0.0.1 \
      --save '' --appendonly no --daemonize no >"$tmp/redis.log" 2>&1 &
    redis_pid=$!
    for i in $(seq 50); do
      redis-cli -p "$port" ping >/dev/null 2>&1 && break
      kill -0 "$redis_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -0 "$redis_pid" 2>/dev/null && break
    wait "$redis_pid" || true
    grep -q 'Address already in use' "$tmp/redis.log" || break
  done
  local want=${aname%%+*}
  [ "$want" = jemalloc ] && want=libjemalloc || want=lib$want
  grep -q "$want" "/proc/$redis_pid/maps" || { echo "redis under $aname: $want not mapped" >&2; return 1; }
  local us=0 rps
  for d in $(q "64 1024" 64); do
    redis-benchmark -p "$port" -n "$n" -q -d "$d" -t set,get,lpush,lrange_100 >"$tmp/rb.out" 2>&1 || return 1
    while read -r rps; do us=$(awk -v u="$us" -v r="$rps" 'BEGIN { print u + 1e6 / r }'); done \
      < <(tr '\r' '\n' <"$tmp/rb.out" | sed -n 's/^[A-Z_0-9]*[^:]*: \([0-9.]*\) requests per second.*/\1/p')
  done
  local rss frag
  rss=$(redis-cli -p "$port" info memory | tr -d '\r' | sed -n 's/^used_memory_rss://p')
  frag=$(redis-cli -p "$port" info memory | tr -d '\r' | sed -n 's/^mem_fragmentation_ratio://p')
  redis-cli -p "$port" shutdown nosave >/dev/null 2>&1
  wait "$redis_pid"
  redis_pid=
  if [[ $aname == hakmem* ]] && ! grep -Eq '^hakmem: allocs [1-9]' "$tmp/redis.log"; then
    echo "redis under $aname: no hakmem statistics (malloc not replaced?)" >&2; return 1
  fi
  awk -v u="$us" -v r="$rss" -v f="$frag" 'BEGIN { printf "%.2f %.1f mem_fragmentation_ratio=%s\n", u, r / 1048576, f }'
}

echo "bench,suite,allocator,run,time,time_unit,mem_mb,wall_s,cpu_s,maxrss_mb,figures" >"$csv"
total=0
for b in "${benches[@]}"; do IFS='|' read -r name _ <<<"$b"; selected "$name" && total=$((total + 1)); done
for run in $(seq 1 "$RUNS"); do
  k=0
  for b in "${benches[@]}"; do
    IFS='|' read -r name suite kind cmd <<<"$b"
    selected "$name" || continue
    k=$((k + 1))
    # the order rotates from run to run, so that no allocator always runs
    # first (after another benchmark's memory was given back) or last
    na=${#allocators[@]}
    for ((ai = 0; ai < na; ai++)); do
      a=${allocators[$(((ai + run + k) % na))]}
      IFS=: read -r aname lib opt <<<"$a"
      echo "[$run/$RUNS] $name ($k of $total) under $aname" >&2
      if [ "$kind" = redis ]; then
        command -v redis-server >/dev/null || continue
        [ "$aname" = glibc ] && continue   # linked with jemalloc: no glibc run
        res=$(run_redis "$aname" "$lib" "$opt" "$cmd") || { echo "error: redis under $aname" >&2; cat "$tmp/redis.log" >&2; exit 1; }
        read -r time mem figures <<<"$res"
        echo "$name,$suite,$aname,$run,$time,us/request set+get+lpush+lrange $(q 64B+1KiB 64B),$mem,,,,$figures" >>"$csv"
        continue
      fi
      [ "$name" = sqlite3 ] && ! command -v sqlite3 >/dev/null && continue
      [ "$name" = python3 ] && [ ! -x /usr/bin/python3 ] && continue
      rm -f "$tmp/stat" "$tmp/probe"
      probe=
      [ "$kind" = prog ] && probe=$out/libprobe.so
      preload="$lib${probe:+ $probe}"
      eval "set -- $cmd"
      "$out/runstat" "$tmp/stat" env HAKMEM_STATS=1 HAKMEM_BENCH_PROBE="$tmp/probe" ${preload:+LD_PRELOAD="$preload"} $opt "$@" >"$tmp/out" 2>"$tmp/err"
      rc=$?
      if [ $rc -ne 0 ] || ! read_runstat "$tmp/stat"; then
        echo "error: $name under $aname: exit $rc" >&2; tail -20 "$tmp/err" >&2; exit 1
      fi
      if ! why=$(allocator_proof "$aname" "$tmp/out" "$tmp/err" "$tmp/probe"); then
        echo "error: $name under $aname: $why" >&2; exit 1
      fi
      rate=$(sed -n 's/^[a-z_]*: \([0-9.]*\) M ops\/s.*/\1/p' "$tmp/out")
      if [ -n "$rate" ]; then time=$(awk -v r="$rate" 'BEGIN { printf "%.3f", 1000 / r }'); unit=ns/op; else time=$wall; unit=s; fi
      figures=$(sed -n 's/^bench_[a-z_]* \([a-z0-9_]*\) \([0-9.-]*\)$/\1=\2/p' "$tmp/out" | tr '\n' ' ')
      ssp=$(sed -n 's/^hakmem: superslabs_peak //p' "$tmp/err" | sort -n | tail -1)
      mapp=$(sed -n 's/^hakmem: bytes_mapped_peak //p' "$tmp/err" | sort -n | tail -1)
      [ -n "$ssp" ] && figures="$figures superslabs_peak=$ssp mapped_peak_mb=$(awk -v b="$mapp" 'BEGIN { printf "%.1f", b / 1048576 }')"
      mem=$(awk -v k="$maxrss_kb" 'BEGIN { printf "%.1f", k / 1024 }')
      echo "$name,$suite,$aname,$run,$time,$unit,$mem,$wall,$cpu,$mem,${figures# }" >>"$csv"
    done
  done
done

{
  echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) cores ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)), $RUNS runs each, interleaved; medians."
  echo "Time: ns per operation for our benchmarks that report a rate, else seconds of wall time (redis: microseconds for one request of each kind);"
  echo "memory: peak resident MB of the process (redis: the server's used_memory_rss).  In brackets: the allocator's figure over hakmem's."
  echo "redis: Debian's server is linked with jemalloc, which is its jemalloc run; the others are preloaded over it (no glibc run)."
  echo
  awk -F, -v mode=md -f bench/summarize.awk "$csv"
} >"$results/$base.md"
awk -F, -v mode=svg -f bench/summarize.awk "$csv" >"$results/$base.svg"
cp "$csv" "$results/$base.csv"
cat "$results/$base.md"
echo "raw runs: $results/$base.csv; chart: $results/$base.svg"

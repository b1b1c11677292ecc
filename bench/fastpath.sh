#!/usr/bin/env bash
# Instructions of one malloc(32)+free pair on the fast path, loop included,
# for hakmem and each peer installed: callgrind's instruction totals (with
# --trace-children=yes, through LD_PRELOAD) for two loop lengths, their
# difference divided by the extra pairs.  Repeatable, unlike timings.
# usage: bench/fastpath.sh [BUILD_DIR]
set -eu
B=$(cd "${1:-build}" && pwd)
LIBDIR=/usr/lib/$(gcc -dumpmachine 2>/dev/null || echo x86_64-linux-gnu)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
N1=100000
N2=300000

total() {   # total LIB N -> instructions of the whole run
  valgrind --tool=callgrind --trace-children=yes --callgrind-out-file="$tmp/cg.%p" \
    env ${1:+LD_PRELOAD=$1} "$B/bench/fastpath" "$2" >/dev/null 2>&1
  local sum=0 f
  for f in "$tmp"/cg.*; do
    sum=$((sum + $(awk '/^summary:/ {print $2}' "$f")))
  done
  rm -f "$tmp"/cg.*
  echo "$sum"
}

for a in "hakmem:$B/libhakmem.so" "glibc:" "mimalloc:$LIBDIR/libmimalloc.so.2" \
         "jemalloc:$LIBDIR/libjemalloc.so.2" "tcmalloc:$LIBDIR/libtcmalloc_minimal.so.4"; do
  name=${a%%:*}
  lib=${a#*:}
  [ -z "$lib" ] || [ -e "$lib" ] || continue
  t1=$(total "$lib" $N1)
  t2=$(total "$lib" $N2)
  awk -v n="$name" -v a="$t1" -v b="$t2" -v d=$((N2 - N1)) 'BEGIN { printf "%-9s %5.1f instructions per malloc(32)+free pair, loop included\n", n, (b - a) / d }'
done

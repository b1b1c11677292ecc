#!/usr/bin/env bash
# Instructions per malloc and per free on the fast path (thread cache hit),
# counted by valgrind --tool=callgrind: repeatable, unlike timings.
# usage: bench/fastpath.sh [BUILD_DIR]
set -eu
B=$(cd "${1:-build}" && pwd)
out=$(mktemp)
trap 'rm -f "$out"' EXIT
LD_PRELOAD=$B/libhakmem.so valgrind --tool=callgrind --callgrind-out-file="$out" "$B/bench/fastpath" 2>/dev/null
# the caller's "=> FILE:FUNCTION (Nx)" lines carry inclusive counts and calls
callgrind_annotate --inclusive=yes "$out" 2>/dev/null | awk '
  /=> .*:(malloc|free) \([0-9,]+x\)/ {
    fn = $0; sub(/.*:/, "", fn); sub(/ .*/, "", fn)
    ir = $1; gsub(",", "", ir); n = $NF; gsub(/[(),x]/, "", n)
    printf "%-6s %.1f instructions per call (%s calls)\n", fn ":", ir / n, n
  }'

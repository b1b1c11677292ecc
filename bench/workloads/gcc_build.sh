#!/bin/sh
# The compiler workload of make bench: gcc -O2 on hakmem's own sources
# (about 3,000 lines of C with its headers), one process per file, objects
# thrown away.  usage: gcc_build.sh [MAX_FILES]
set -e
cd "$(dirname "$0")/../.."
out=$(mktemp -d)
n=0
for f in src/*.c; do
  n=$((n + 1)); [ "$n" -le "${1:-99}" ] || break
  gcc -std=c11 -O2 -D_GNU_SOURCE -pthread -c "$f" -o "$out/$(basename "$f" .c).o"
done
rm -rf "$out"
echo "gcc_build ok"

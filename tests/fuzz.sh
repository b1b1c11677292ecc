#!/usr/bin/env bash
# Fuzzes the hak_ API with libFuzzer (tests/fuzz_hak.c) for a bounded time.
# usage: tests/fuzz.sh BUILD_DIR SECONDS
#
# Needs clang with libFuzzer: on Debian bookworm `apt-get install clang
# libclang-rt-14-dev` (clang pulls clang-14; the runtime package holds
# libFuzzer and the sanitizers).  Builds into BUILD_DIR/fuzz, fuzzes a copy
# of tests/fuzz/corpus (with tests/fuzz/regressions as extra seeds) and ends
# with "fuzz: N executions in S s, no finding" (exit 0), or prints the
# reproducer's path (exit 1); exit 2 when it cannot build.  Replay one
# with BUILD_DIR/fuzz/fuzz_hak FILE; once the bug is fixed, copy it into
# tests/fuzz/regressions/ (make test replays both directories).  HAKMEM_*
# options in the environment apply (HAKMEM_TINY_BG_SPILL=1 fuzzes the
# spill queues' paths).
set -euo pipefail
[ $# -eq 2 ] && [[ $2 =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 BUILD_DIR SECONDS" >&2; exit 2; }
mkdir -p "$1/fuzz"
out=$(cd "$1/fuzz" && pwd)
secs=$2
cd "$(dirname "$0")/.."

# hakmem's sources get the sanitizers too: ASan only instruments hakmem's
# own accesses (its mmap'd regions are never poisoned, so blocks handed out
# stay usable up to malloc_usable_size) and catches its overruns of globals,
# stacks and glibc memory; UBSan is made fatal so that undefined behaviour
# is a finding, not a line in the log.  Coverage of hakmem's code is what
# guides the fuzzer.
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
CFLAGS="-std=c11 -g -O1 -Wall -Wextra -pthread -D_GNU_SOURCE -DHAK_DEBUG=0 -Isrc -Iinclude"
# the Makefile's code-generation flags, so that hakmem is built as shipped
HAKFLAGS="-fvisibility=hidden -ftls-model=initial-exec -fno-builtin-malloc -fno-builtin-free -fno-builtin-calloc -fno-builtin-realloc"

# A clang that links libFuzzer: plain clang first, then clang-14.
cc=
for c in ${CLANG:-} clang clang-14; do
  command -v "$c" >/dev/null 2>&1 || continue
  if echo 'int LLVMFuzzerTestOneInput(const char *d, long n) { (void)d; (void)n; return 0; }' |
     "$c" -x c -fsanitize=fuzzer,address,undefined - -o "$out/probe" >/dev/null 2>&1; then cc=$c; break; fi
done
rm -f "$out/probe"
[ -n "$cc" ] || { echo "fuzz: no clang with libFuzzer found (apt-get install clang libclang-rt-14-dev)" >&2; exit 2; }

mkdir -p "$out/obj"
objs=()
for src in src/*.c; do
  [ "$src" = src/override.c ] && continue   # the exported malloc family: the harness uses hak_ only
  obj=$out/obj/$(basename "$src" .c).o
  "$cc" $CFLAGS $HAKFLAGS $SAN -fsanitize=fuzzer-no-link -c "$src" -o "$obj" || { echo "fuzz: cannot build $src" >&2; exit 2; }
  objs+=("$obj")
done
"$cc" $CFLAGS $SAN -fsanitize=fuzzer tests/fuzz_hak.c "${objs[@]}" -o "$out/fuzz_hak" || { echo "fuzz: cannot build the harness" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/corpus" "$out/artifacts"
cp tests/fuzz/corpus/* "$tmp/corpus/" 2>/dev/null || true
seeds=("$tmp/corpus")
[ -d tests/fuzz/regressions ] && seeds+=(tests/fuzz/regressions)
rc=0
"$out/fuzz_hak" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
  -artifact_prefix="$out/artifacts/" "${seeds[@]}" >"$out/fuzz.log" 2>&1 || rc=$?
if [ $rc -ne 0 ]; then
  tail -n 60 "$out/fuzz.log"
  art=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$out/fuzz.log" | tail -n 1)
  echo "fuzz: finding (exit status $rc), log $out/fuzz.log"
  echo "fuzz: reproducer: ${art:-none written}"
  exit 1
fi
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/fuzz.log")
took=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$out/fuzz.log")
grep -E '^#[0-9]+' "$out/fuzz.log" | tail -n 1 | sed 's/^/fuzz: last status: /' || true
echo "fuzz: ${execs:-?} executions in ${took:-$secs} s, no finding"

# Functions of the benchmark runner (bench/run.sh), sourced by it and by
# its tests (tests/bench_runner.sh).

# read_runstat FILE: sets wall, cpu, maxrss_kb and status from runstat's
# line "wall_s cpu_s maxrss_kb status"; fails if the line is malformed.
read_runstat() {
  local line
  line=$(tail -n 1 "$1" 2>/dev/null) || return 1
  read -r wall cpu maxrss_kb status _ <<<"$line"
  [[ $wall =~ ^[0-9]+(\.[0-9]+)?$ && $cpu =~ ^[0-9]+(\.[0-9]+)?$ && $maxrss_kb =~ ^[0-9]+$ && $status =~ ^[0-9]+$ ]]
}

# allocator_proof EXPECTED STDOUT STDERR PROBE: succeeds when the run was
# served by EXPECTED (hakmem, glibc, mimalloc, ...; a variant such as
# hakmem+spill counts as hakmem).  Evidence: the benchmark's own
# "(allocator: NAME)" line, or the probe library's "allocator NAME" lines
# (one per process: all must agree), and for hakmem its statistics lines.
# On failure it says what it saw.
allocator_proof() {
  local want=${1%%+*} out=$2 err=$3 probe=$4 seen
  if [ -s "$probe" ]; then
    seen=$(sed -n 's/^allocator //p' "$probe" | sort -u | tr '\n' ' ')
  else
    seen=$(sed -n 's/.*(allocator: \(.*\))$/\1/p' "$out" | sort -u | tr '\n' ' ')
  fi
  if [ "$seen" != "$want " ]; then
    echo "expected $want, saw: '${seen% }'"
    return 1
  fi
  if [ "$want" = hakmem ] && ! grep -Eq '^hakmem: superslabs_peak [0-9]+$' "$err"; then
    echo "expected hakmem, but it printed no statistics lines"
    return 1
  fi
}

#!/usr/bin/env bash
# make bench: every benchmark under hakmem, glibc and each peer allocator
# installed (mimalloc, jemalloc, tcmalloc from Debian's packages),
# interleaved run by run, RUNS runs each (default 5); prints medians and
# ratios, and writes every run to BUILD/bench/results.csv.  A benchmark
# reports a rate ("NAME: X M ops/s"), or figures in MiB ("NAME FIGURE X"
# lines, such as resident memory at points of the run), or both; the CSV's
# last column holds the figures as FIGURE=X pairs.
# usage: bench/run.sh BUILD_DIR
# Environment: RUNS (default 5); ONLY="NAME ..." runs only those benchmarks;
# PEERS=0 leaves mimalloc, jemalloc and tcmalloc out; VARIANTS="NAME:VAR=V ..."
# adds hakmem run with options set (e.g. hakmem+spill:HAKMEM_TINY_BG_SPILL=1),
# interleaved with the others.
set -u
cd "$(dirname "$0")/.."
B=$(cd "${1:-build}" && pwd)
RUNS=${RUNS:-5}
LIBDIR=/usr/lib/$(gcc -dumpmachine 2>/dev/null || echo x86_64-linux-gnu)
out=$B/bench
csv=$out/results.csv
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# name:library[:VAR=VALUE] (glibc has no library)
allocators=("hakmem:$B/libhakmem.so" "glibc:")
for v in ${VARIANTS:-}; do allocators+=("${v%%:*}:$B/libhakmem.so:${v#*:}"); done
missing=()
[ "${PEERS:-1}" = 0 ] || for peer in "mimalloc:libmimalloc.so.2:libmimalloc2.0" "jemalloc:libjemalloc.so.2:libjemalloc2" "tcmalloc:libtcmalloc_minimal.so.4:libtcmalloc-minimal4"; do
  IFS=: read -r name file pkg <<<"$peer"
  if [ -e "$LIBDIR/$file" ]; then allocators+=("$name:$LIBDIR/$file"); else missing+=("$pkg"); fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "peers not installed (skipped): ${missing[*]}"
  echo "  add them with: sudo apt-get install ${missing[*]}"
fi

# The suite: name and command line.
benches=(
  "random_mixed_16_1024|$out/bench_random_mixed 10000000 256 42"
  "random_mixed_ws100k|$out/bench_random_mixed 3000000 100000 42"
  "random_mixed_8_64|$out/bench_random_mixed 10000000 256 42 8 64"
  "random_mixed_16_32k|$out/bench_random_mixed 3000000 2000 42 16 32768"
  "random_mixed_1m|$out/bench_random_mixed 1000000 256 42"
  "tiny_hot|$out/bench_tiny_hot 1000000"
  "xthread_2_threads|$out/bench_xthread 1 2000000"
  "live_1m_16B|$out/bench_live 16"
  "live_1m_48B|$out/bench_live 48"
  "live_1m_100B|$out/bench_live 100"
  "mid_large_mt_2_threads|$out/bench_mid_large_mt 2 200000"
  "larson_2_threads|$out/bench_larson 2 2"
  "fragment_512mb|$out/bench_fragment 512"
  "thread_churn_1000x500|$out/bench_thread_churn 1000 500"
)

echo "bench,allocator,run,metric,wall_s,cpu_s,maxrss_kb,superslabs_peak,bytes_mapped_peak,figures" >"$csv"
for run in $(seq 1 "$RUNS"); do
  for b in "${benches[@]}"; do
    name=${b%%|*}
    cmd=${b#*|}
    if [ -n "${ONLY:-}" ] && [[ " $ONLY " != *" $name "* ]]; then continue; fi
    for a in "${allocators[@]}"; do
      IFS=: read -r aname lib opt <<<"$a"
      rm -f "$tmp/stat"
      if [ -n "$lib" ]; then
        "$out/runstat" "$tmp/stat" env HAKMEM_STATS=1 LD_PRELOAD="$lib" $opt $cmd >"$tmp/out" 2>"$tmp/err"
      else
        "$out/runstat" "$tmp/stat" $cmd >"$tmp/out" 2>"$tmp/err"
      fi
      rc=$?
      # Prove which allocator ran: the benchmark names the library mapped
      # into it, and hakmem prints its statistics lines.
      seen=$(sed -n 's/.*(allocator: \(.*\))$/\1/p' "$tmp/out")
      if [ $rc -ne 0 ] || [ "$seen" != "${aname%%+*}" ]; then
        echo "error: $name under $aname: exit $rc, allocator seen: '${seen}'" >&2
        cat "$tmp/err" >&2
        exit 1
      fi
      if [[ $aname == hakmem* ]] && ! grep -q '^hakmem: superslabs_peak ' "$tmp/err"; then
        echo "error: $name under hakmem printed no statistics" >&2
        exit 1
      fi
      metric=$(sed -n 's/^[a-z_]*: \([0-9.]*\) M ops\/s.*/\1/p' "$tmp/out")
      figures=$(sed -n 's/^bench_[a-z_]* \([a-z0-9_]*\) \([0-9.-]*\)$/\1=\2/p' "$tmp/out" | tr '\n' ' ')
      read -r wall cpu rss _ <"$tmp/stat"
      ssp=$(sed -n 's/^hakmem: superslabs_peak //p' "$tmp/err")
      mapp=$(sed -n 's/^hakmem: bytes_mapped_peak //p' "$tmp/err")
      echo "$name,$aname,$run,$metric,$wall,$cpu,$rss,$ssp,$mapp,${figures% }" >>"$csv"
    done
  done
  echo "run $run of $RUNS done"
done

# Medians per benchmark and allocator: rates with ratios to glibc and
# mimalloc, then the figures in MiB with ratios to hakmem's (the lower
# the better for resident memory).
awk -F, 'function median(s,   a, n, i, j, t) { n = split(s, a, " "); for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
                                         return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
  function addfig(b, f, a, v) { if (!((b, f) in seenf)) { seenf[b, f] = 1; fo[b] = fo[b] " " f } fv[b, f, a] = fv[b, f, a] " " v }
  NR > 1 { k = $1 "," $2; if ($4 != "") { m[k] = m[k] " " $4; rated[$1] = 1 } r[k] = r[k] " " $7; if ($8 != "") { sp[$1] = sp[$1] " " $8; mp[$1] = mp[$1] " " $9 }
           if (!($1 in seenb)) { seenb[$1] = 1; bo[++nb] = $1 }
           if (!($2 in seena)) { seena[$2] = 1; ao[++na] = $2 }
           nf = split($10, f, " "); for (i = 1; i <= nf; i++) { split(f[i], kv, "="); addfig($1, kv[1], $2, kv[2]) }
           if (nf) addfig($1, "maxrss_mb", $2, $7 / 1024) }
  END {
    printf "\n%-22s %-10s %12s %10s %10s %12s\n", "benchmark", "allocator", "M ops/s", "vs glibc", "vs mimalloc", "peak RSS MB"
    nr = 0
    for (i = 1; i <= nb; i++) {
      b = bo[i]; if (!(b in rated)) continue; nr++
      g = median(m[b ",glibc"]); mi = (b ",mimalloc") in m ? median(m[b ",mimalloc"]) : 0
      for (j = 1; j <= na; j++) { k = b "," ao[j]; v = median(m[k])
        printf "%-22s %-10s %12.2f %10.2f %10s %12.1f\n", b, ao[j], v, v / g, mi ? sprintf("%.2f", v / mi) : "-", median(r[k]) / 1024 }
      g_h[b] = median(m[b ",hakmem"]) / g; if (mi) m_h[b] = median(m[b ",hakmem"]) / mi
    }
    lg = 0; lm = 0; nm = 0
    for (b in g_h) lg += log(g_h[b]); for (b in m_h) { lm += log(m_h[b]); nm++ }
    printf "\ngeometric mean of hakmem speed: %.2fx glibc", exp(lg / nr)
    if (nm) printf ", %.2fx mimalloc", exp(lm / nm)
    printf " (%d benchmarks, medians of the runs)\n", nr
    nfb = 0
    for (i = 1; i <= nb; i++) {
      b = bo[i]; if (!(b in fo)) continue
      if (!nfb++) {
        printf "\nfigures in MiB (minflt_per_kop: minor page faults per 1000 operations), medians (maxrss_mb: peak RSS of the process); in brackets: the figure over hakmem\n%-22s %-20s", "benchmark", "figure"
        for (j = 1; j <= na; j++) printf " %15s", ao[j]
        printf "\n"
      }
      n = split(fo[b], names, " ")
      for (x = 1; x <= n; x++) {
        h = median(fv[b, names[x], "hakmem"]); printf "%-22s %-20s", b, names[x]
        for (j = 1; j <= na; j++) { v = median(fv[b, names[x], ao[j]])
          if (ao[j] == "hakmem" || h <= 0) printf " %15.1f", v; else printf " %7.1f (%5.2f)", v, v / h }
        printf "\n"
      }
    }
    printf "\nhakmem, medians: SuperSlabs at peak and MiB mapped at peak (all tiers)\n"
    for (i = 1; i <= nb; i++) { b = bo[i]; if (b in sp) printf "%-22s %4d %8.1f\n", b, median(sp[b]), median(mp[b]) / 1048576 }
  }' "$csv"
echo "every run: $csv"

# The suite's summary, from the raw runs (bench/results/latest.csv):
#   awk -F, -v mode=md  -f bench/summarize.awk latest.csv > latest.md
#   awk -F, -v mode=svg -f bench/summarize.awk latest.csv > latest.svg
# Columns: bench,suite,allocator,run,time,time_unit,mem_mb,wall_s,cpu_s,maxrss_mb,figures
# time and mem_mb are "lower is better"; suite "core" benchmarks make the
# geometric means, "extra" ones are shown only.  Medians over the runs;
# ratios are the allocator's over hakmem's (above 1: hakmem is better).

function median(s,   a, n, i, j, t) {
  n = split(s, a, " ")
  for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
  return n % 2 ? a[(n + 1) / 2] + 0 : (a[n / 2] + a[n / 2 + 1]) / 2
}

NR == 1 { next }
{
  b = $1; a = $3
  if (!(b in seen_b)) { seen_b[b] = 1; order_b[++nb] = b; suite[b] = $2; unit[b] = $6 }
  if (!(a in seen_a)) { seen_a[a] = 1; order_a[++na] = a }
  if ($5 != "") t[b, a] = t[b, a] " " $5
  if ($7 != "") m[b, a] = m[b, a] " " $7
  has[b, a] = 1
  nf = split($11, fs, " ")
  for (i = 1; i <= nf; i++) {
    split(fs[i], kv, "=")
    if (!((b, kv[1]) in seen_f)) { seen_f[b, kv[1]] = 1; figs[b] = figs[b] " " kv[1] }
    fv[b, kv[1], a] = fv[b, kv[1], a] " " kv[2]
  }
}

END {
  # columns: hakmem, glibc, then the peers as they first appear
  k = 0
  if ("hakmem" in seen_a) cols[++k] = "hakmem"
  if ("glibc" in seen_a) cols[++k] = "glibc"
  for (j = 1; j <= na; j++) if (order_a[j] != "hakmem" && order_a[j] != "glibc") cols[++k] = order_a[j]
  for (j = 1; j <= na; j++) order_a[j] = cols[j]
  for (i = 1; i <= nb; i++) for (j = 1; j <= na; j++) {
    b = order_b[i]; a = order_a[j]
    if (!has[b, a]) continue
    T[b, a] = median(t[b, a]); M[b, a] = median(m[b, a])
  }
  if (mode == "svg") svg(); else md()
}

function ratio(x, h) { return h > 0 && x > 0 ? x / h : 0 }

function md(   i, j, b, a, h, hm, r, rm, lt, lm, n, best, worst, worst_b, line) {
  printf "| benchmark | unit |"
  for (j = 1; j <= na; j++) printf " %s time | %s MB |", order_a[j], order_a[j]
  printf "\n|---|---|"
  for (j = 1; j <= na; j++) printf "---|---|"
  printf "\n"
  worst = 0
  for (i = 1; i <= nb; i++) {
    b = order_b[i]; h = T[b, "hakmem"]; hm = M[b, "hakmem"]
    printf "| %s%s | %s |", b, (suite[b] == "core" ? "" : " (extra)"), unit[b]
    best = 0
    for (j = 1; j <= na; j++) {
      a = order_a[j]
      if (!has[b, a]) { printf " - | - |"; continue }
      r = ratio(T[b, a], h); rm = ratio(M[b, a], hm)
      if (a == "hakmem") printf " %.4g | %.1f |", T[b, a], M[b, a]
      else printf " %.4g (%.2fx) | %.1f (%.2fx) |", T[b, a], r, M[b, a], rm
      if (a != "hakmem" && suite[b] == "core") {
        if (r > 0) { lt[a] += log(r); n[a]++ }
        if (rm > 0) { lm[a] += log(rm); nm[a]++ }
        if (best == 0 || T[b, a] < best) best = T[b, a]
      }
    }
    printf "\n"
    if (suite[b] == "core" && best > 0 && h / best > worst) { worst = h / best; worst_b = b }
  }
  printf "\nGeometric means over the core benchmarks, hakmem's figure over the peer's (below 1: hakmem is faster, or smaller):\n\n"
  printf "| peer | benchmarks | time | memory |\n|---|---|---|---|\n"
  for (j = 1; j <= na; j++) {
    a = order_a[j]
    if (a == "hakmem" || !n[a]) continue
    printf "| %s | %d | %.3f | %.3f |\n", a, n[a], exp(-lt[a] / n[a]), nm[a] ? exp(-lm[a] / nm[a]) : 0
  }
  if (worst > 0) printf "\nWorst core benchmark against its fastest peer: %s, hakmem's time %.2fx the best peer's.\n", worst_b, worst
  figures_md()
}

# The benchmarks' own figures (resident MB at points of a run, faults per
# 1000 operations, hakmem's SuperSlabs at peak), medians.
function figures_md(   i, j, k, b, a, n, names, first) {
  first = 1
  for (i = 1; i <= nb; i++) {
    b = order_b[i]
    if (!(b in figs)) continue
    if (first) {
      printf "\nFigures reported by the benchmarks, medians:\n\n| benchmark | figure |"
      for (j = 1; j <= na; j++) printf " %s |", order_a[j]
      printf "\n|---|---|"
      for (j = 1; j <= na; j++) printf "---|"
      printf "\n"
      first = 0
    }
    n = split(figs[b], names, " ")
    for (k = 1; k <= n; k++) {
      printf "| %s | %s |", b, names[k]
      for (j = 1; j <= na; j++) {
        a = order_a[j]
        if (fv[b, names[k], a] == "") printf " - |"; else printf " %.4g |", median(fv[b, names[k], a])
      }
      printf "\n"
    }
  }
}

# Two panels of grouped bars (time, memory): per benchmark one bar per
# allocator, its figure over hakmem's on a log scale from 1/8 to 8.
function svg(   W, H, left, top, ph, gap, bw, gw, i, j, k, b, a, v, y, x, panel, name, col, lo, hi, nbars) {
  split("#444444 #1f77b4 #2ca02c #d62728 #9467bd #8c564b #e377c2", col, " ")
  bw = 8; gw = bw * na + 10; left = 60; top = 56; ph = 220; gap = 150
  W = left + gw * nb + 20; if (W < 100 * na + left + 20) W = 100 * na + left + 20; if (W < 760) W = 760
  H = top + 2 * (ph + gap)
  printf "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" font-size=\"11\">\n", W, H
  printf "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
  printf "<text x=\"%d\" y=\"20\" font-size=\"14\">Each allocator's median over hakmem's (log scale; below 1: better than hakmem)</text>\n", left
  for (panel = 0; panel < 2; panel++) {
    y = top + panel * (ph + gap)
    name = panel == 0 ? "time" : "peak memory"
    printf "<text x=\"%d\" y=\"%d\" font-size=\"13\">%s</text>\n", left, y - 6, name
    for (k = -3; k <= 3; k++) {
      v = y + ph / 2 - k * (ph / 6)
      printf "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n", left, W - 20, v, v, (k == 0 ? "black" : "#dddddd")
      printf "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", left - 4, v + 4, (k >= 0 ? 2 ^ k : "1/" 2 ^ -k)
    }
    for (i = 1; i <= nb; i++) {
      b = order_b[i]; x = left + (i - 1) * gw + 5
      for (j = 1; j <= na; j++) {
        a = order_a[j]
        if (!has[b, a]) continue
        v = panel == 0 ? ratio(T[b, a], T[b, "hakmem"]) : ratio(M[b, a], M[b, "hakmem"])
        if (v <= 0) continue
        v = log(v) / log(2); if (v > 3) v = 3; if (v < -3) v = -3
        lo = y + ph / 2; hi = lo - v * (ph / 6)
        printf "<rect class=\"bar\" data-panel=\"%s\" data-bench=\"%s\" data-allocator=\"%s\" x=\"%.1f\" y=\"%.1f\" width=\"%d\" height=\"%.1f\" fill=\"%s\"/>\n",
               name, b, a, x + (j - 1) * bw, (hi < lo ? hi : lo), bw - 1, (hi < lo ? lo - hi : hi - lo) + 0.5, col[(j - 1) % 7 + 1]
      }
      printf "<text transform=\"translate(%.1f,%d) rotate(45)\">%s</text>\n", x + 2, y + ph + 12, b
    }
  }
  for (j = 1; j <= na; j++)
    printf "<rect x=\"%d\" y=\"%d\" width=\"10\" height=\"10\" fill=\"%s\"/><text x=\"%d\" y=\"%d\">%s</text>\n",
           left + (j - 1) * 100, H - 20, col[(j - 1) % 7 + 1], left + (j - 1) * 100 + 14, H - 11, order_a[j]
  printf "</svg>\n"
}

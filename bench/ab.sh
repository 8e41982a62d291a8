#!/usr/bin/env bash
# bench/ab.sh — two Shoal binaries (A = before, B = after) against redis-server, in
# one run: ROUNDS rounds, each running bench/compare.sh once per binary (alternating
# which goes first), so both face the same machine state and the same Redis runs as
# a yardstick. Prints, per workload, the median over rounds of each binary's
# ops/server-CPU-s and p99/p99.9 as ratios to Redis in the same compare.sh run, and
# B/A of those ratios.
#
# Usage: A=/abs/path/shoal-before B=/abs/path/shoal-after bench/ab.sh
#        ROUNDS=3 DURATION=5 WORKLOADS="a b c" A=... B=... bench/ab.sh
# Needs: what compare.sh needs (built shoal-load; run compare.sh once to build it),
# python3 for the summary.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
: "${A:?A=path of the before binary}" "${B:?B=path of the after binary}"
ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-5}"
WORKLOADS="${WORKLOADS:-a b c}"
out="$(mktemp -d)"
for r in $(seq 1 "$ROUNDS"); do
  if (( r % 2 )); then order="A B"; else order="B A"; fi
  for which in $order; do
    bin="${!which}"
    RESULTS_DIR="$out/$which-$r" ROUNDS=1 DURATION="$DURATION" WORKLOADS="$WORKLOADS" \
      SKIP_BUILD=1 SHOAL_BIN="$bin" "$here/compare.sh" >/dev/null
  done
done
python3 - "$out" "$ROUNDS" <<'PY'
import json, glob, os, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
rows = {}  # (which, workload, metric) -> [ratio per round]
for which in ("A", "B"):
    for r in range(1, rounds + 1):
        for path in glob.glob(os.path.join(out, f"{which}-{r}", "*.jsonl")):
            runs = [json.loads(l) for l in open(path) if l.strip()]
            by = {}
            for x in runs:
                by.setdefault(x["workload"], {})[x["server"]] = x
            for w, s in by.items():
                if "shoal" not in s or "redis" not in s:
                    continue
                sh, rd = s["shoal"], s["redis"]
                for m in ("ops_per_server_cpu_s", "p99_ms", "p999_ms"):
                    if rd.get(m):
                        rows.setdefault((which, w, m), []).append(sh[m] / rd[m])
print(f"medians over {rounds} rounds of Shoal/Redis ratios in the same compare.sh run")
print(f"{'workload':8} {'metric':22} {'A (before)':>12} {'B (after)':>12} {'B/A':>7}  spread A | B")
for w in sorted({k[1] for k in rows}):
    for m in ("ops_per_server_cpu_s", "p99_ms", "p999_ms"):
        a, b = rows.get(("A", w, m), []), rows.get(("B", w, m), [])
        if not a or not b:
            continue
        ma, mb = statistics.median(a), statistics.median(b)
        print(f"{w:8} {m:22} {ma:12.3f} {mb:12.3f} {mb/ma:7.3f}  "
              f"{min(a):.2f}-{max(a):.2f} | {min(b):.2f}-{max(b):.2f}")
print(f"raw results: {out}")
PY

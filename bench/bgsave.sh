#!/usr/bin/env bash
# bench/bgsave.sh — what a background save costs the clients, Shoal vs redis-server.
#
# For ROUNDS rounds, alternating which server goes first, on a fresh server each time
# (pinned to CPU 1; shoal-load on CPU 0, as bench/compare.sh):
#   1. prefill KEYS keys of VALUE bytes (shoal-load --prefill);
#   2. start a SET-only load (shoal-load --ratio 1:0 over the same keys) with
#      --marks: BEFORE seconds in window "before", then BGSAVE and window "save"
#      until INFO persistence says the save is over, then AFTER seconds in "after";
#   3. sample memory every 100 ms: VmRSS of the server plus its fork()ed children
#      (Redis), which counts shared pages twice, and "physical": the server's VmRSS
#      plus the children's private pages (what copy-on-write duplicated).
# Prints per server the medians over the rounds of: RSS and physical before the save and
# their peaks during it, the save's duration, and the load's ops/s, p50/p99/p99.9 in
# each window. Raw per-run lines go to bench/results/bgsave-<stamp>.jsonl.
#
# Usage:  bench/bgsave.sh                       (about 2 minutes per run)
#         ROUNDS=1 KEYS=100000 bench/bgsave.sh  (quick check)
#
# Environment (defaults in brackets): ROUNDS [3], KEYS [1000000], VALUE [1024],
#   BEFORE [5] and AFTER [3] seconds, PIPELINE [1], CONNECTIONS [50], RATE [0]
#   (requests/s of the load; 0 = as fast as the server answers, i.e. saturated),
#   SHOAL_PORT [16379], REDIS_PORT [16380], SHOAL_ARGS [""], REDIS_SERVER
#   [redis-server], PIN [1], SKIP_BUILD [0], SERVERS ["shoal redis"],
#   SAMPLE [1] (0: no memory sampling during the save, to see what sampling costs).

set -euo pipefail

ROUNDS=${ROUNDS:-3}
KEYS=${KEYS:-1000000}
VALUE=${VALUE:-1024}
BEFORE=${BEFORE:-5}
AFTER=${AFTER:-3}
PIPELINE=${PIPELINE:-1}
CONNECTIONS=${CONNECTIONS:-50}
RATE=${RATE:-0}
SHOAL_PORT=${SHOAL_PORT:-16379}
REDIS_PORT=${REDIS_PORT:-16380}
SHOAL_ARGS=${SHOAL_ARGS:-}
REDIS_SERVER=${REDIS_SERVER:-redis-server}
PIN=${PIN:-1}
SKIP_BUILD=${SKIP_BUILD:-0}
SERVERS=${SERVERS:-"shoal redis"}
SAMPLE=${SAMPLE:-1}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
LOAD=$TARGET/release/shoal-load
SHOAL_BIN=${SHOAL_BIN:-$TARGET/release/shoal}
RESULTS_DIR=${RESULTS_DIR:-$ROOT/bench/results}
STAMP=$(date +%Y%m%d-%H%M%S)
RAW=$RESULTS_DIR/bgsave-$STAMP.jsonl

die() { echo "bgsave.sh: $*" >&2; exit 1; }

command -v "$REDIS_SERVER" >/dev/null || die "redis-server not found (apt-get install -y redis-server)"
command -v redis-cli >/dev/null || die "redis-cli not found (apt-get install -y redis-tools)"
PIN_SERVER=() PIN_LOAD=()
if [[ $PIN == 1 ]] && command -v taskset >/dev/null && [[ $(nproc) -ge 2 ]]; then
    PIN_SERVER=(taskset -c 1) PIN_LOAD=(taskset -c 0)
fi
if [[ $SKIP_BUILD != 1 ]]; then
    (cd "$ROOT" && cargo build --release -p shoal-bench -p shoal-server) || die "build failed"
fi
mkdir -p "$RESULTS_DIR"

WORKDIR=$(mktemp -d "${TMPDIR:-/tmp}/shoal-bgsave.XXXXXX")
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
cleanup() {
    stop_server
    rm -rf "$WORKDIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_server() {
    local name=$1
    rm -rf "$WORKDIR/data" && mkdir -p "$WORKDIR/data"
    if [[ $name == redis ]]; then
        launch_server redis "$REDIS_PORT" "$REDIS_SERVER" --port "$REDIS_PORT" \
            --bind 127.0.0.1 --save '' --appendonly no --protected-mode no \
            --dir "$WORKDIR/data"
    else
        # shellcheck disable=SC2086 # SHOAL_ARGS is a list of flags on purpose
        launch_server shoal "$SHOAL_PORT" "$SHOAL_BIN" --port "$SHOAL_PORT" \
            --bind 127.0.0.1 --save '' --dir "$WORKDIR/data" --capacity "$KEYS" $SHOAL_ARGS
    fi
}

info_field() {
    redis-cli -p "$SERVER_PORT" INFO persistence 2>/dev/null | tr -d '\r' |
        awk -F: -v f="$1" '$1 == f { print $2 }'
}

# mem_kib: "RSS PHYS" in KiB. RSS: VmRSS of the server plus its children (a fork()ed
# saver), which counts pages they share twice. PHYS: the server's VmRSS plus each
# child's private pages (smaps_rollup Private_*: what copy-on-write duplicated), the
# physical memory both use. Only children's page tables are walked (reading the
# server's smaps would stall it under its mmap lock).
mem_kib() {
    local kids k rss phys r p
    rss=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$SERVER_PID/status" 2>/dev/null || echo 0)
    phys=$rss
    kids=$(cat "/proc/$SERVER_PID/task/"*/children 2>/dev/null || true)
    for k in $kids; do
        r=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$k/status" 2>/dev/null || echo 0)
        p=$(awk '$1 ~ /^Private_(Clean|Dirty):$/ { s += $2 } END { print s + 0 }' \
            "/proc/$k/smaps_rollup" 2>/dev/null || echo 0)
        rss=$((rss + ${r:-0})) phys=$((phys + ${p:-0}))
    done
    echo "$rss $phys"
}

# one_run SERVER ROUND: appends one JSON line to $RAW.
one_run() {
    local s=$1 r=$2 marks=$WORKDIR/marks json before_rss before_pss peak_rss peak_pss
    local t0 t1 m
    start_server "$s"
    "${PIN_LOAD[@]}" "$LOAD" --port "$SERVER_PORT" --prefill --keyspace "$KEYS" \
        --value-size "$VALUE" --ratio 1:0 --requests 1 --json >/dev/null 2>>"$WORKDIR/load.err" ||
        die "prefill failed: $(tail -n 2 "$WORKDIR/load.err")"
    echo before >"$marks"
    timeout 900 "${PIN_LOAD[@]}" "$LOAD" --port "$SERVER_PORT" --keyspace "$KEYS" \
        --value-size "$VALUE" --ratio 1:0 --connections "$CONNECTIONS" \
        --pipeline "$PIPELINE" --rate "$RATE" --duration 800 --marks "$marks" --server-pid "$SERVER_PID" \
        --json >"$WORKDIR/load.json" 2>>"$WORKDIR/load.err" &
    local load=$!
    sleep "$BEFORE"
    read -r before_rss before_pss < <(mem_kib)
    peak_rss=$before_rss peak_pss=$before_pss
    echo save >"$marks"
    t0=$(date +%s.%N)
    [[ $(redis-cli -p "$SERVER_PORT" BGSAVE) == "Background saving started" ]] ||
        die "$s: BGSAVE did not start"
    sleep 0.05
    local i=0
    while [[ $(info_field rdb_bgsave_in_progress) == 1 ]]; do
        i=$((i + 1))
        if [[ $SAMPLE == 1 ]]; then
            read -r m_rss m_pss < <(mem_kib)
            ((m_rss > peak_rss)) && peak_rss=$m_rss
            ((m_pss > peak_pss)) && peak_pss=$m_pss
        fi
        sleep 0.1
    done
    t1=$(date +%s.%N)
    echo after >"$marks"
    [[ $(info_field rdb_last_bgsave_status) == ok ]] || die "$s: BGSAVE failed"
    sleep "$AFTER"
    echo stop >"$marks"
    wait "$load" || die "$s: load failed: $(tail -n 2 "$WORKDIR/load.err")"
    json=$(cat "$WORKDIR/load.json")
    stop_server
    m=$(printf '{"server":"%s","round":%s,"rss_before_kib":%s,"rss_peak_kib":%s,"phys_before_kib":%s,"phys_peak_kib":%s,"save_s":%.3f,"load":%s}' \
        "$s" "$r" "$before_rss" "$peak_rss" "$before_pss" "$peak_pss" \
        "$(echo "$t1 - $t0" | bc)" "$json")
    echo "$m" >>"$RAW"
    echo "bgsave.sh: round $r $s: save $(echo "$t1 - $t0" | bc | cut -c1-5) s, RSS $((before_rss / 1024)) -> $((peak_rss / 1024)) MiB, physical $((before_pss / 1024)) -> $((peak_pss / 1024)) MiB" >&2
}

echo "bgsave.sh: $KEYS keys x $VALUE B, SET load P$PIPELINE x $CONNECTIONS conns, rate $RATE/s, $ROUNDS rounds; raw: $RAW" >&2
for r in $(seq "$ROUNDS"); do
    order=$SERVERS
    ((r % 2 == 0)) && order=$(echo "$SERVERS" | tr ' ' '\n' | tac | tr '\n' ' ')
    for s in $order; do one_run "$s" "$r"; done
done

# Medians per server.
python3 - "$RAW" <<'EOF'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
def med(xs): return statistics.median(xs) if xs else float("nan")
print(f"{'server':7} {'RSS MiB before->peak':>22} {'phys MiB before->peak':>22} {'save s':>7}  window: ops/s p50 p99 p99.9 (ms)")
for s in dict.fromkeys(r["server"] for r in runs):
    rs = [r for r in runs if r["server"] == s]
    mb = lambda k: med([r[k] for r in rs]) / 1024
    line = f"{s:7} {mb('rss_before_kib'):>10.0f} -> {mb('rss_peak_kib'):<9.0f} {mb('phys_before_kib'):>10.0f} -> {mb('phys_peak_kib'):<9.0f} {med([r['save_s'] for r in rs]):>7.2f}"
    print(line)
    for w in ("before", "save", "after"):
        ws = [x for r in rs for x in r["load"]["windows"] if x["label"] == w]
        if ws:
            print(f"{'':50}  {w:6} p50 {med([x['p50_ms'] for x in ws]):.3f}  p99 {med([x['p99_ms'] for x in ws]):.3f}  p99.9 {med([x['p999_ms'] for x in ws]):.3f}  max {med([x['max_ms'] for x in ws]):.1f}  ({med([x['ops'] for x in ws]):.0f} ops)")
EOF

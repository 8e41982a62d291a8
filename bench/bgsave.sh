#!/usr/bin/env bash
# bench/bgsave.sh — what a background save costs the clients, Shoal vs redis-server.
#
# For ROUNDS rounds, alternating which server goes first, on a fresh server each time
# (pinned to CPU 1; shoal-load on CPU 0, as bench/compare.sh):
#   1. prefill KEYS keys of VALUE bytes (shoal-load --prefill);
#   2. run a SET-only load (shoal-load --ratio 1:0 over the same keys) with
#      --bgsave-at: BEFORE seconds in window "before", then shoal-load sends BGSAVE,
#      window "save" until INFO persistence says the save is over, then AFTER seconds
#      in "after". shoal-load itself polls INFO and samples memory every 50 ms: VmRSS
#      of the server plus its fork()ed children (Redis), which counts shared pages
#      twice, and "physical": the server's VmRSS plus the children's private pages
#      (what copy-on-write duplicated). No other process runs during the run (a
#      polling script's redis-cli/awk processes cost the load generator milliseconds).
# Prints per server the medians over the rounds of: RSS and physical before the save and
# their peaks during it, the save's duration, and the load's ops/s, p50/p99/p99.9 in
# each window. Raw per-run lines go to bench/results/bgsave-<stamp>.jsonl.
#
# Usage:  bench/bgsave.sh                       (about 2 minutes per run)
#         ROUNDS=1 KEYS=100000 bench/bgsave.sh  (quick check)
#
# Environment (defaults in brackets): ROUNDS [3], KEYS [1000000], VALUE [1024],
#   BEFORE [5] and AFTER [3] seconds, SETTLE [10] seconds between prefill and load, PIPELINE [1], CONNECTIONS [50], RATE [0]
#   (requests/s of the load; 0 = as fast as the server answers, i.e. saturated),
#   SHOAL_PORT [16379], REDIS_PORT [16380], SHOAL_ARGS [""], REDIS_SERVER
#   [redis-server], PIN [1], SKIP_BUILD [0], SERVERS ["shoal redis"] (add
#   "shoal-control" or "redis-control" for control runs: the same windows with no
#   BGSAVE, the "save" window lasting CONTROL_SECS [3]: the machine's noise),

set -euo pipefail

ROUNDS=${ROUNDS:-3}
KEYS=${KEYS:-1000000}
VALUE=${VALUE:-1024}
BEFORE=${BEFORE:-5}
AFTER=${AFTER:-3}
SETTLE=${SETTLE:-10}
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
CONTROL_SECS=${CONTROL_SECS:-3}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
die() { echo "bgsave.sh: $*" >&2; exit 1; }
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
RAW=$RESULTS_DIR/bgsave-$STAMP.jsonl

require_redis
pin_cpus bgsave.sh
if [[ $SKIP_BUILD != 1 ]]; then
    (cd "$ROOT" && cargo build --release -p shoal-bench -p shoal-server) || die "build failed"
fi
mkdir -p "$RESULTS_DIR"

WORKDIR=$(mktemp -d "${TMPDIR:-/tmp}/shoal-bgsave.XXXXXX")
cleanup() {
    stop_server
    rm -rf "$WORKDIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_server() {
    local name=${1%-control}
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

# one_run SERVER ROUND: appends one JSON line to $RAW.
one_run() {
    local s=$1 r=$2 json
    start_server "$s"
    "${PIN_LOAD[@]}" "$LOAD" --port "$SERVER_PORT" --prefill --keyspace "$KEYS" \
        --value-size "$VALUE" --ratio 1:0 --requests 1 --json >/dev/null 2>>"$WORKDIR/load.err" ||
        die "prefill failed: $(tail -n 2 "$WORKDIR/load.err")"
    # This VM's latency is disturbed for seconds after a large allocation, whichever the
    # server: let it settle.
    sleep "$SETTLE"
    # shoal-load starts the BGSAVE, follows it and samples memory itself: nothing else
    # runs on either core meanwhile.
    local control=()
    [[ $s == *-control ]] && control=(--bgsave-control "$CONTROL_SECS")
    json=$(timeout 900 "${PIN_LOAD[@]}" "$LOAD" --port "$SERVER_PORT" --keyspace "$KEYS" \
        --value-size "$VALUE" --ratio 1:0 --connections "$CONNECTIONS" \
        --pipeline "$PIPELINE" --rate "$RATE" --duration 800 --bgsave-at "$BEFORE" \
        --after "$AFTER" "${control[@]}" --server-pid "$SERVER_PID" --json 2>>"$WORKDIR/load.err") ||
        die "$s: load failed: $(tail -n 2 "$WORKDIR/load.err")"
    stop_server
    echo "{\"server\":\"$s\",\"round\":$r,\"load\":$json}" >>"$RAW"
    python3 - "$s" "$r" "$json" <<'EOF' >&2
import json, sys
s, r, d = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
w = {x["label"]: x for x in d["windows"]}
if d["bgsave_status"] not in ("ok", "control"):
    sys.exit(f"bgsave.sh: {s}: BGSAVE status {d['bgsave_status']}")
print(f"bgsave.sh: round {r} {s}: save {d['bgsave_s']:.2f} s, RSS {w['before']['rss_last_kib'] // 1024} -> {w['save']['rss_peak_kib'] // 1024} MiB, physical {w['before']['phys_last_kib'] // 1024} -> {w['save']['phys_peak_kib'] // 1024} MiB, p99 {w['before']['p99_ms']:.2f} -> {w['save']['p99_ms']:.2f} ms")
EOF
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
def win(r, label): return next(x for x in r["load"]["windows"] if x["label"] == label)
print(f"{'server':7} {'RSS MiB before->peak':>22} {'phys MiB before->peak':>22} {'save s':>7}  window: ops/s p50 p99 p99.9 (ms)")
for s in dict.fromkeys(r["server"] for r in runs):
    rs = [r for r in runs if r["server"] == s]
    mb = lambda w, k: med([win(r, w)[k] for r in rs]) / 1024
    line = f"{s:7} {mb('before', 'rss_last_kib'):>10.0f} -> {mb('save', 'rss_peak_kib'):<9.0f} {mb('before', 'phys_last_kib'):>10.0f} -> {mb('save', 'phys_peak_kib'):<9.0f} {med([r['load']['bgsave_s'] for r in rs]):>7.2f}"
    print(line)
    for w in ("before", "save", "after"):
        ws = [win(r, w) for r in rs]
        print(f"{'':50}  {w:6} p50 {med([x['p50_ms'] for x in ws]):.3f}  p99 {med([x['p99_ms'] for x in ws]):.3f}  p99.9 {med([x['p999_ms'] for x in ws]):.3f}  max {med([x['max_ms'] for x in ws]):.1f}  ({med([x['ops'] for x in ws]):.0f} ops)")
EOF

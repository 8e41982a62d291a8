#!/usr/bin/env bash
# bench/fanout.sh — pub/sub fan-out, Shoal against redis-server in the same run: one
# publisher (PUBLISH pipelined), SUBSCRIBERS subscribers of one channel, 32-byte
# messages; the figure compared is messages delivered per server CPU-second
# (bench/src/bin/fanout.rs). Servers alternate first; medians of ROUNDS rounds.
#
#   bench/fanout.sh                      # build, then 3 rounds of 5 s
#   ROUNDS=5 SUBSCRIBERS=50 bench/fanout.sh
#
# Environment: ROUNDS [3], DURATION [5], SUBSCRIBERS [50], PIPELINE [16],
# SHOAL_PORT [16381], REDIS_PORT [16382], PIN [1] (server on CPU 1, load on CPU 0),
# SKIP_BUILD [0], REDIS_SERVER [redis-server]. Servers run in a scratch directory.
set -euo pipefail

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
SUBSCRIBERS=${SUBSCRIBERS:-50}
PIPELINE=${PIPELINE:-16}
SHOAL_PORT=${SHOAL_PORT:-16381}
REDIS_PORT=${REDIS_PORT:-16382}
REDIS_SERVER=${REDIS_SERVER:-redis-server}
PIN=${PIN:-1}
SKIP_BUILD=${SKIP_BUILD:-0}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
die() { echo "fanout.sh: $*" >&2; exit 1; }
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
FANOUT=$TARGET/release/fanout

require_redis
pin_cpus fanout.sh
if [[ $SKIP_BUILD != 1 ]]; then
    (cd "$ROOT" && cargo build --release -p shoal-server -p shoal-bench) >&2
fi
[[ -x $SHOAL_BIN && -x $FANOUT ]] || die "missing $SHOAL_BIN or $FANOUT (cargo build --release)"

WORKDIR=$(mktemp -d)
trap 'stop_server; rm -rf "$WORKDIR"' EXIT

# run SERVER: prints delivered messages per server CPU-second of one run.
run() {
    case $1 in
        shoal) launch_server shoal "$SHOAL_PORT" "$SHOAL_BIN" --port "$SHOAL_PORT" --bind 127.0.0.1 --save "" ;;
        redis) launch_server redis "$REDIS_PORT" "$REDIS_SERVER" --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no ;;
    esac
    local json
    json=$(timeout $((DURATION + 60)) "${PIN_LOAD[@]}" "$FANOUT" --port "$SERVER_PORT" \
        --server-pid "$SERVER_PID" --subscribers "$SUBSCRIBERS" --pipeline "$PIPELINE" \
        --duration "$DURATION" --json) || json='{}'
    stop_server
    echo "$1 $json" >>"$WORKDIR/raw.jsonl"
    sed -n 's/.*"delivered_per_cpu_second":\([0-9]*\).*/\1/p' <<<"$json"
}

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }

shoal=() redis=()
for r in $(seq "$ROUNDS"); do
    if ((r % 2)); then order=(shoal redis); else order=(redis shoal); fi
    for s in "${order[@]}"; do
        v=$(run "$s")
        [[ -n $v ]] || die "$s run $r failed: $(tail -n 1 "$WORKDIR/raw.jsonl")"
        if [[ $s == shoal ]]; then shoal+=("$v"); else redis+=("$v"); fi
    done
done
ms=$(printf '%s\n' "${shoal[@]}" | median)
mr=$(printf '%s\n' "${redis[@]}" | median)
echo "fan-out: 1 publisher (pipeline $PIPELINE), $SUBSCRIBERS subscribers, 32 B messages, ${DURATION} s x $ROUNDS rounds, $PINNED"
echo "messages delivered per server CPU-second (median): shoal $ms, redis $mr, shoal/redis $(awk -v a="$ms" -v b="$mr" 'BEGIN { printf "%.2f", a / b }')"
echo "per round: shoal ${shoal[*]}; redis ${redis[*]}"

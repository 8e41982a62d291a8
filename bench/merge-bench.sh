#!/usr/bin/env bash
# bench/merge-bench.sh — HMERGE on Shoal against the same merge on redis-server 7.0.
#
# Builds `shoal` and `merge_bench` in release, starts a fresh Shoal and a fresh
# redis-server (no persistence) in a scratch directory, each pinned to CPU 1, runs
# merge_bench pinned to CPU 0, and kills both servers on exit, however it exits.
# merge_bench merges hash b (FIELDS fields) into hash a (FIELDS fields), fields
# disjoint and half overlapping, for every strategy, with: one HMERGE on Shoal; an
# EVAL script on Redis (HGETALL + chunked HMGET/HSET, or one HSETNX/HINCRBY call per
# field); and a client-side HGETALL + pipelined writes on Redis. It prints the median
# wall time of the merge and the server's peak extra RSS. See bench/README.md.
#
# Usage:  bench/merge-bench.sh                       (1,000,000 fields: ~10 minutes)
#         FIELDS=100000 REPS=1 bench/merge-bench.sh
#
# Environment (defaults in brackets):
#   FIELDS [1000000]   fields per hash
#   REPS [3]           runs per measurement (median reported)
#   STRATEGIES ["replace,keep,sum,min,max"]
#   LAYOUTS ["disjoint,half"]
#   APPROACHES ["shoal,lua,lua-calls,client"]
#   SHOAL_PORT [16390], REDIS_PORT [16391]   must be free
#   REDIS_SERVER [redis-server]
#   PIN [1]            0: do not pin with taskset
#   SKIP_BUILD [0]     1: use the binaries already built

set -euo pipefail

FIELDS=${FIELDS:-1000000}
REPS=${REPS:-3}
STRATEGIES=${STRATEGIES:-replace,keep,sum,min,max}
LAYOUTS=${LAYOUTS:-disjoint,half}
APPROACHES=${APPROACHES:-shoal,lua,lua-calls,client}
SHOAL_PORT=${SHOAL_PORT:-16390}
REDIS_PORT=${REDIS_PORT:-16391}
REDIS_SERVER=${REDIS_SERVER:-redis-server}
PIN=${PIN:-1}
SKIP_BUILD=${SKIP_BUILD:-0}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}

if [[ "$SKIP_BUILD" != 1 ]]; then
    (cd "$ROOT" && cargo build --release -p shoal-server -p shoal-bench --bin shoal --bin merge_bench)
fi

# Servers on CPU 1, the client on CPU 0 (prefixes, so that `$!` is the server itself:
# taskset execs it).
PIN0=()
PIN1=()
if [[ "$PIN" == 1 ]] && command -v taskset >/dev/null && [[ $(nproc) -ge 2 ]]; then
    PIN0=(taskset -c 0)
    PIN1=(taskset -c 1)
fi

SCRATCH=$(mktemp -d)
SHOAL_PID=""
REDIS_PID=""
cleanup() {
    [[ -n "$SHOAL_PID" ]] && kill "$SHOAL_PID" 2>/dev/null || true
    [[ -n "$REDIS_PID" ]] && kill "$REDIS_PID" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$SCRATCH"
}
trap cleanup EXIT

cd "$SCRATCH"
"${PIN1[@]}" "$TARGET/release/shoal" --port "$SHOAL_PORT" --bind 127.0.0.1 --loglevel warning &
SHOAL_PID=$!
"${PIN1[@]}" "$REDIS_SERVER" --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$SCRATCH" --loglevel warning &
REDIS_PID=$!

for port in "$SHOAL_PORT" "$REDIS_PORT"; do
    for _ in $(seq 100); do
        redis-cli -p "$port" PING >/dev/null 2>&1 && break
        sleep 0.1
    done
    redis-cli -p "$port" PING >/dev/null || { echo "server on port $port did not start" >&2; exit 2; }
done
echo "redis: $("$REDIS_SERVER" --version)"

"${PIN0[@]}" timeout 3600 "$TARGET/release/merge_bench" \
    --shoal-port "$SHOAL_PORT" --shoal-pid "$SHOAL_PID" \
    --redis-port "$REDIS_PORT" --redis-pid "$REDIS_PID" \
    --fields "$FIELDS" --reps "$REPS" \
    --strategies "$STRATEGIES" --layouts "$LAYOUTS" --approaches "$APPROACHES"

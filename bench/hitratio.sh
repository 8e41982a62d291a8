#!/usr/bin/env bash
# bench/hitratio.sh — hit ratios of Shoal's and Redis's eviction policies on the same
# request sequences at the same maxmemory. `hitratio` replays cache-aside traffic (GET,
# then SET on a miss) for three patterns: zipf (Zipf 0.99 over KEYS keys, about ten
# times what fits), scan (the same with a pass over every key every SCAN_EVERY
# requests; only the Zipf requests are scored) and loop (LOOP_LEN keys in order, again
# and again: a little more than fits). Each server starts empty for each run.
#
#   cargo build --release -p shoal-server -p shoal-bench && bench/hitratio.sh
#
# Environment: MAXMEMORY [8mb], KEYS [400000], REQUESTS [2000000], WARMUP [400000],
# SCAN_EVERY [400000], LOOP_LEN [48000], VALUE_SIZE [100], PATTERNS ["zipf scan
# loop"], SHOAL_POLICIES ["allkeys-lru allkeys-lfu allkeys-random allkeys-tinylfu"],
# REDIS_POLICIES ["allkeys-lru allkeys-lfu allkeys-random"], SHOAL_PORT [16395],
# REDIS_PORT [16396], REDIS_SERVER [redis-server].
set -euo pipefail

MAXMEMORY=${MAXMEMORY:-8mb}
KEYS=${KEYS:-400000}
REQUESTS=${REQUESTS:-2000000}
WARMUP=${WARMUP:-400000}
SCAN_EVERY=${SCAN_EVERY:-400000}
LOOP_LEN=${LOOP_LEN:-48000}
VALUE_SIZE=${VALUE_SIZE:-100}
PATTERNS=${PATTERNS:-"zipf scan loop"}
SHOAL_POLICIES=${SHOAL_POLICIES:-"allkeys-lru allkeys-lfu allkeys-random allkeys-tinylfu"}
REDIS_POLICIES=${REDIS_POLICIES:-"allkeys-lru allkeys-lfu allkeys-random"}
SHOAL_PORT=${SHOAL_PORT:-16395}
REDIS_PORT=${REDIS_PORT:-16396}
REDIS_SERVER=${REDIS_SERVER:-redis-server}
PIN=0
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
die() { echo "hitratio.sh: $*" >&2; exit 1; }
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
require_redis
REPLAY=$TARGET/release/hitratio
[[ -x $REPLAY && -x $SHOAL_BIN ]] || die "build first: cargo build --release -p shoal-server -p shoal-bench"
pin_cpus hitratio.sh

WORKDIR=$(mktemp -d)
trap 'stop_server; rm -rf "$WORKDIR"' EXIT

run() { # NAME PORT POLICY PATTERN COMMAND...
    local name=$1 port=$2 policy=$3 pattern=$4
    shift 4
    launch_server "$name" "$port" "$@"
    local out keys
    out=$("$REPLAY" --port "$port" --pattern "$pattern" --keys "$KEYS" --requests "$REQUESTS" \
        --warmup "$WARMUP" --scan-every "$SCAN_EVERY" --loop-len "$LOOP_LEN" \
        --value-size "$VALUE_SIZE" --json)
    keys=$(redis-cli -p "$port" DBSIZE)
    stop_server
    local ratio
    ratio=$(sed 's/.*"hit_ratio":\([0-9.]*\).*/\1/' <<<"$out")
    printf '%-5s %-6s %-16s hit ratio %s  (%s keys held at the end)\n' "$pattern" "$name" "$policy" "$ratio" "$keys"
}

echo "# hitratio.sh: maxmemory $MAXMEMORY, $KEYS keys, values $VALUE_SIZE B, $REQUESTS requests ($WARMUP warm-up)"
for pattern in $PATTERNS; do
    for policy in $SHOAL_POLICIES; do
        run shoal "$SHOAL_PORT" "$policy" "$pattern" "$SHOAL_BIN" --config "" --port "$SHOAL_PORT" \
            --maxmemory "$MAXMEMORY" --maxmemory-policy "$policy"
    done
    for policy in $REDIS_POLICIES; do
        run redis "$REDIS_PORT" "$policy" "$pattern" "$REDIS_SERVER" --port "$REDIS_PORT" --save "" \
            --maxmemory "$MAXMEMORY" --maxmemory-policy "$policy"
    done
done

#!/usr/bin/env bash
# bench/maxmemory.sh — does the server keep within maxmemory under a sustained SET
# load? Shoal and redis-server in the same run, each with maxmemory LIMIT and policy
# POLICY, loaded by shoal-load (SET only, values 32 B to 4 KB uniformly mixed, keys
# drawn from a keyspace about KEYFACTOR times what fits) for DURATION seconds, while
# INFO memory and the process's RSS are read every 50 ms. Reports the peak of
# used_memory against maxmemory, the peak RSS and its margin over maxmemory, the keys
# evicted and the throughput.
#
#   cargo build --release -p shoal-server -p shoal-bench && bench/maxmemory.sh
#
# Environment: LIMITS ["100mb 1gb"], POLICY [allkeys-lru], DURATION [20],
# KEYFACTOR [4], CONNECTIONS [50], PIPELINE [8], PIN [1], SHOAL_PORT [16393],
# REDIS_PORT [16394], REDIS_SERVER [redis-server].
set -euo pipefail

LIMITS=${LIMITS:-"100mb 1gb"}
POLICY=${POLICY:-allkeys-lru}
DURATION=${DURATION:-20}
KEYFACTOR=${KEYFACTOR:-4}
CONNECTIONS=${CONNECTIONS:-50}
PIPELINE=${PIPELINE:-8}
PIN=${PIN:-1}
SHOAL_PORT=${SHOAL_PORT:-16393}
REDIS_PORT=${REDIS_PORT:-16394}
REDIS_SERVER=${REDIS_SERVER:-redis-server}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
die() { echo "maxmemory.sh: $*" >&2; exit 1; }
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
require_redis
[[ -x $LOAD && -x $SHOAL_BIN ]] || die "build first: cargo build --release -p shoal-server -p shoal-bench"
pin_cpus maxmemory.sh

WORKDIR=$(mktemp -d)
trap 'stop_server; rm -rf "$WORKDIR"' EXIT

bytes() { # 100mb / 1gb -> bytes
    local v=${1,,}
    case $v in
        *gb) echo $((${v%gb} << 30)) ;;
        *mb) echo $((${v%mb} << 20)) ;;
        *kb) echo $((${v%kb} << 10)) ;;
        *) echo "$v" ;;
    esac
}

# sample PORT PID OUT: writes "used rss" lines to OUT every 50 ms until killed.
sample() {
    while true; do
        local used rss
        used=$(redis-cli -p "$1" info memory 2>/dev/null | tr -d '\r' | awk -F: '$1 == "used_memory" { print $2 }')
        rss=$(awk '/^VmRSS:/ { print $2 * 1024 }' "/proc/$2/status" 2>/dev/null || echo 0)
        [[ -n $used ]] && echo "$used $rss" >>"$3"
        sleep 0.05
    done
}

run() { # NAME PORT LIMIT COMMAND...
    local name=$1 port=$2 limit=$3
    shift 3
    local max
    max=$(bytes "$limit")
    # Mean value ~2 KB: KEYFACTOR times the keys that fit.
    local keyspace=$((max / 2100 * KEYFACTOR))
    launch_server "$name" "$port" "$@"
    local samples=$WORKDIR/$name-$limit.samples
    : >"$samples"
    sample "$port" "$SERVER_PID" "$samples" &
    local sampler=$!
    local json
    json=$("${PIN_LOAD[@]}" "$LOAD" -p "$port" --ratio 1:0 --data-size-range 32-4096 \
        --keyspace "$keyspace" -c "$CONNECTIONS" -P "$PIPELINE" -d "$DURATION" \
        --server-pid "$SERVER_PID" --json 2>/dev/null)
    kill "$sampler" 2>/dev/null || true
    wait "$sampler" 2>/dev/null || true
    local evicted
    evicted=$(redis-cli -p "$port" info stats | tr -d '\r' | awk -F: '$1 == "evicted_keys" { print $2 }')
    stop_server
    awk -v name="$name" -v limit="$limit" -v max="$max" -v evicted="$evicted" -v json="$json" '
        { if ($1 > pu) pu = $1; if ($2 > pr) pr = $2; n++ }
        END {
            match(json, /"ops_per_sec":[0-9.]+/); ops = substr(json, RSTART + 14, RLENGTH - 14)
            match(json, /"ops_per_server_cpu_s":[0-9.]+/); cpu = substr(json, RSTART + 23, RLENGTH - 23)
            printf "%-6s %-6s samples=%d peak_used=%.1fMB (%.3f of maxmemory) peak_rss=%.1fMB (maxmemory+%.1fMB, %.3f) evicted=%s ops/s=%s ops/cpu-s=%s\n",
                name, limit, n, pu / 1048576, pu / max, pr / 1048576, (pr - max) / 1048576, pr / max, evicted, ops, cpu
        }' "$samples"
}

echo "# maxmemory.sh: policy $POLICY, values 32-4096 B, ${DURATION}s, $CONNECTIONS connections, pipeline $PIPELINE, $PINNED"
for limit in $LIMITS; do
    run shoal "$SHOAL_PORT" "$limit" "$SHOAL_BIN" --config "" --port "$SHOAL_PORT" \
        --maxmemory "$limit" --maxmemory-policy "$POLICY"
    run redis "$REDIS_PORT" "$limit" "$REDIS_SERVER" --port "$REDIS_PORT" --save "" \
        --maxmemory "$limit" --maxmemory-policy "$POLICY"
done

#!/usr/bin/env bash
# bench/collection-memory.sh — bytes per element of big collections, Shoal against
# redis-server in the same run: N elements into one list ("member:1".."member:N"),
# one list of the integers 1..N, one set of the same strings, one set of the
# integers 1..N; each measured as the change of INFO used_memory over an empty
# server, divided by N.
#
#   cargo build --release -p shoal-server -p shoal-bench && bench/collection-memory.sh
#
# Environment: N [1000000], SHOAL_PORT [16391], REDIS_PORT [16392],
# REDIS_SERVER [redis-server].
set -euo pipefail

N=${N:-1000000}
SHOAL_PORT=${SHOAL_PORT:-16391}
REDIS_PORT=${REDIS_PORT:-16392}
REDIS_SERVER=${REDIS_SERVER:-redis-server}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
LOAD=$TARGET/release/shoal-load
SHOAL=$TARGET/release/shoal
[[ -x $LOAD && -x $SHOAL ]] || { echo "build first: cargo build --release -p shoal-server -p shoal-bench" >&2; exit 1; }

WORKDIR=$(mktemp -d)
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true; rm -rf "$WORKDIR"' EXIT

used_memory() { redis-cli -p "$1" info memory | tr -d '\r' | awk -F: '$1 == "used_memory" { print $2 }'; }

wait_ready() {
    for _ in $(seq 100); do
        [[ $(redis-cli -p "$1" PING 2>/dev/null) == PONG ]] && return 0
        sleep 0.1
    done
    echo "server on port $1 did not start" >&2
    exit 1
}

measure() { # PORT NAME
    local port=$1 name=$2 command prefix before after
    for command in "RPUSH list __key__" "RPUSH intlist __key__" "SADD strings __key__" \
        "SADD integers __key__"; do
        redis-cli -p "$port" FLUSHALL >/dev/null
        if [[ $command == *int* ]]; then prefix=""; else prefix="member:"; fi
        before=$(used_memory "$port")
        "$LOAD" --port "$port" --command "$command" --requests "$N" --key-pattern seq \
            --keyspace "$N" --key-prefix "$prefix" --pipeline 64 --connections 4 >/dev/null 2>&1
        after=$(used_memory "$port")
        printf '%-6s %-22s %6.1f bytes/element\n' "$name" "$command" \
            "$(awk -v a="$before" -v b="$after" -v n="$N" 'BEGIN { print (b - a) / n }')"
    done
}

(cd "$WORKDIR" && exec "$SHOAL" --port "$SHOAL_PORT" --bind 127.0.0.1 --save "") >/dev/null 2>&1 &
PIDS+=($!)
(cd "$WORKDIR" && exec "$REDIS_SERVER" --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no) >/dev/null 2>&1 &
PIDS+=($!)
wait_ready "$SHOAL_PORT"
wait_ready "$REDIS_PORT"
echo "$N elements per collection, INFO used_memory delta / N"
measure "$SHOAL_PORT" shoal
measure "$REDIS_PORT" redis

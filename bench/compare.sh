#!/usr/bin/env bash
# bench/compare.sh — compare Shoal with redis-server on this machine, in one run.
#
# What it does (the method of /BENCHMARKING.md, see bench/README.md):
#   1. builds `shoal` and `shoal-load` in release;
#   2. for ROUNDS rounds, alternating which server goes first, runs each workload
#      against a fresh Shoal and a fresh redis-server, the server pinned to CPU 1
#      (`taskset -c 1`) and shoal-load to CPU 0 (`taskset -c 0`);
#        a    SET:GET 1:10, pipeline 1    } 50 connections, 32-byte values,
#        b    SET:GET 1:10, pipeline 16   } 100,000 keys memtier-<n> prefilled,
#        c    SET only,     pipeline 16   } DURATION seconds measured
#        mem  fresh server, 1,000,000 SETs of 32-byte values to memtier-1..1000000
#             (sequential); bytes/key from the VmRSS delta and the INFO used_memory
#             delta
#   3. prints, per workload, the medians over the rounds of ops/s, ops per server
#      CPU-second, p50/p99/p99.9 latency (mem: bytes/key), and the Shoal/Redis ratio,
#      and writes them, with every run's raw JSON, to files it names at the start.
#
# Usage:  bench/compare.sh                    (from anywhere; about 4 minutes)
#         DURATION=5 ROUNDS=5 WORKLOADS="a b" bench/compare.sh
#
# Environment (defaults in brackets):
#   ROUNDS [3]            rounds; each runs every workload on both servers
#   DURATION [10]         seconds measured per a/b/c run
#   WORKLOADS ["a b c mem"]  (also: tx, MULTI/SET/INCR/EXEC transactions; l1 l16 s1
#                         s16 z1 z16, list/set/zset write+read pairs at pipeline 1, 16;
#                         e1 e16, EVALSHA of a script doing INCR + EXPIRE on one key,
#                         SCRIPT LOADed with redis-cli before each run)
#   SHOAL_PORT [16379], REDIS_PORT [16380]   must be free
#   SHOAL_BIN [$CARGO_TARGET_DIR or <repo>/target, then /release/shoal]
#   SHOAL_ARGS [""]       extra flags for shoal (e.g. "--capacity 1000000"); shoal is
#                         started as: shoal --port P --bind 127.0.0.1 $SHOAL_ARGS
#   REDIS_SERVER [redis-server]
#   RESULTS_DIR [<repo>/bench/results]
#   PIN [1]               0: do not pin with taskset
#   SKIP_BUILD [0]        1: use the binaries already built
#   SELFTEST [0]          1: run redis-server in Shoal's slot too (checks this script
#                         and shoal-load; ratios should come out near 1.0)
#
# Servers run in a scratch directory (no dump files land in the repo) and are killed
# when the script exits, however it exits. Every load run is bounded by `timeout`.

set -euo pipefail

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
WORKLOADS=${WORKLOADS:-"a b c mem"}
SHOAL_PORT=${SHOAL_PORT:-16379}
REDIS_PORT=${REDIS_PORT:-16380}
SHOAL_ARGS=${SHOAL_ARGS:-}
REDIS_SERVER=${REDIS_SERVER:-redis-server}
PIN=${PIN:-1}
SKIP_BUILD=${SKIP_BUILD:-0}
SELFTEST=${SELFTEST:-0}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
die() { echo "compare.sh: $*" >&2; exit 1; }
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
REPORT=$RESULTS_DIR/compare-$STAMP.txt
RAW=$RESULTS_DIR/compare-$STAMP.jsonl

# Common load flags: 50 connections, 32-byte values, 100,000 keys, prefilled.
ABC_FLAGS=(--connections 50 --value-size 32 --keyspace 100000 --key-prefix memtier- --prefill)
MEM_KEYS=1000000
# Workloads e1/e16: a small script, as rate limiters and counters run it.
EVAL_SCRIPT="local n = redis.call('INCR', KEYS[1]) redis.call('EXPIRE', KEYS[1], 60) return n"
EVAL_SHA=$(printf '%s' "$EVAL_SCRIPT" | sha1sum | cut -d' ' -f1)

# ---------------------------------------------------------------- preconditions
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer"
[[ $DURATION =~ ^[1-9][0-9]*$ ]] || die "DURATION must be a positive integer (seconds)"
for w in $WORKLOADS; do
    case $w in a | b | c | tx | l1 | l16 | s1 | s16 | z1 | z16 | e1 | e16 | mem) ;; *) die "unknown workload '$w' (a, b, c, tx, l1, l16, s1, s16, z1, z16, e1, e16, mem)" ;; esac
done
require_redis
pin_cpus compare.sh

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in "$SHOAL_PORT" "$REDIS_PORT"; do
    port_busy "$p" && die "port $p is in use (set SHOAL_PORT / REDIS_PORT)"
done

# ---------------------------------------------------------------- build
if [[ $SKIP_BUILD != 1 ]]; then
    pkgs=(-p shoal-bench)
    [[ $SELFTEST == 1 ]] || pkgs+=(-p shoal-server)
    echo "compare.sh: cargo build --release ${pkgs[*]}" >&2
    (cd "$ROOT" && cargo build --release "${pkgs[@]}") || die "build failed"
fi
[[ -x $LOAD ]] || die "$LOAD not built"
[[ $SELFTEST == 1 || -x $SHOAL_BIN ]] || die "$SHOAL_BIN not built"

# ---------------------------------------------------------------- servers
WORKDIR=$(mktemp -d "${TMPDIR:-/tmp}/shoal-compare.XXXXXX")
VALS=$WORKDIR/values.tsv # workload server round metric value
: >"$VALS"

cleanup() {
    stop_server
    rm -rf "$WORKDIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_server shoal|redis: starts a fresh server, sets SERVER_PID and SERVER_PORT.
start_server() {
    local name=$1
    if [[ $name == redis || $SELFTEST == 1 ]]; then
        local port=$REDIS_PORT
        [[ $name == redis ]] || port=$SHOAL_PORT
        launch_server "$name" "$port" "$REDIS_SERVER" --port "$port" --bind 127.0.0.1 \
            --save '' --appendonly no --protected-mode no --dir "$WORKDIR"
    else
        # shellcheck disable=SC2086 # SHOAL_ARGS is a list of flags on purpose
        launch_server "$name" "$SHOAL_PORT" "$SHOAL_BIN" --port "$SHOAL_PORT" \
            --bind 127.0.0.1 $SHOAL_ARGS
    fi
}

# ---------------------------------------------------------------- helpers
# jget KEY JSON: a scalar field of shoal-load's flat JSON line.
jget() { sed -n "s/.*\"$1\":\"\{0,1\}\([^,\"}]*\).*/\1/p" <<<"$2"; }

record() { printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" >>"$VALS"; }

used_memory() {
    redis-cli -p "$SERVER_PORT" INFO memory 2>/dev/null | tr -d '\r' |
        awk -F: '$1 == "used_memory" { print $2 }'
}

rss_kib() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$SERVER_PID/status"; }

FAILURES=0
WARNINGS=()

# run_abc WORKLOAD SERVER ROUND
run_abc() {
    local w=$1 s=$2 r=$3 flags json
    case $w in
        a) flags=(--ratio 1:10 --pipeline 1) ;;
        b) flags=(--ratio 1:10 --pipeline 16) ;;
        c) flags=(--ratio 1:0 --pipeline 16) ;;
        # One transaction = 4 requests (MULTI, SET, INCR, EXEC): ops/s counts requests.
        tx) flags=(--command "MULTI; SET __key__ __data__; INCR tx:counter; EXEC" --pipeline 1) ;;
        # Data types: a write then a read per pair, at pipeline 1 and 16.
        l1 | l16) flags=(--command "LPUSH list:1 __data__; RPOP list:1" --pipeline "${w#l}") ;;
        s1 | s16) flags=(--command "SADD set:1 __key__; SISMEMBER set:1 __key__" --pipeline "${w#s}") ;;
        z1 | z16) flags=(--command "ZADD zset:1 1 __key__; ZRANGE zset:1 0 9" --pipeline "${w#z}") ;;
        e1 | e16) flags=(--command "EVALSHA $EVAL_SHA 1 __key__" --pipeline "${w#e}") ;;
    esac
    start_server "$s"
    if [[ $w == e* ]]; then
        local sha
        sha=$(redis-cli -p "$SERVER_PORT" SCRIPT LOAD "$EVAL_SCRIPT" 2>&1)
        [[ $sha == "$EVAL_SHA" ]] || WARNINGS+=("round $r $w $s: SCRIPT LOAD answered '$sha'")
    fi
    # The scripts INCR their keys: fresh counters, not the prefilled values.
    local common=("${ABC_FLAGS[@]}")
    [[ $w == e* ]] && common=(--connections 50 --value-size 32 --keyspace 100000 --key-prefix ctr-)
    json=$(timeout $((DURATION + 120)) "${PIN_LOAD[@]}" "$LOAD" --port "$SERVER_PORT" \
        --server-pid "$SERVER_PID" --json --duration "$DURATION" "${common[@]}" \
        "${flags[@]}" 2>>"$WORKDIR/load.err") || true
    stop_server
    if [[ $json != "{"* ]]; then
        FAILURES=$((FAILURES + 1))
        WARNINGS+=("round $r $w $s: shoal-load failed: $(tail -n 1 "$WORKDIR/load.err")")
        return
    fi
    echo "{\"round\":$r,\"workload\":\"$w\",\"server\":\"$s\",${json#\{}" >>"$RAW"
    for m in ops_per_sec ops_per_server_cpu_s p50_ms p99_ms p999_ms; do
        record "$w" "$s" "$r" "$m" "$(jget "$m" "$json")"
    done
    local errs
    local e1 e2 e3
    e1=$(jget errors "$json") e2=$(jget conn_errors "$json") e3=$(jget unanswered "$json")
    errs=$((${e1:-0} + ${e2:-0} + ${e3:-0}))
    record "$w" "$s" "$r" errors "$errs"
    if ((errs > 0)); then
        WARNINGS+=("round $r $w $s: $errs errors ($(jget first_error "$json")$(jget first_conn_error "$json"))")
    fi
    printf '  round %s %-4s %-6s %10.0f ops/s %10s ops/CPU-s  p99 %s ms\n' "$r" "$w" "$s" \
        "$(jget ops_per_sec "$json")" "$(jget ops_per_server_cpu_s "$json" | cut -d. -f1)" \
        "$(jget p99_ms "$json")" >&2
}

# run_mem SERVER ROUND
run_mem() {
    local s=$1 r=$2 json rss0 rss1 um0 um1 keys
    start_server "$s"
    rss0=$(rss_kib)
    um0=$(used_memory)
    json=$(timeout 400 "${PIN_LOAD[@]}" "$LOAD" --port "$SERVER_PORT" --json \
        --connections 50 --pipeline 16 --ratio 1:0 --key-pattern seq --key-prefix memtier- \
        --keyspace "$MEM_KEYS" --requests "$MEM_KEYS" --value-size 32 --duration 300 \
        2>>"$WORKDIR/load.err") || true
    sleep 1 # let the server finish incremental work (e.g. Redis's rehashing)
    rss1=$(rss_kib)
    um1=$(used_memory)
    keys=$(redis-cli -p "$SERVER_PORT" DBSIZE 2>/dev/null || echo "?")
    stop_server
    if [[ $json != "{"* ]]; then
        FAILURES=$((FAILURES + 1))
        WARNINGS+=("round $r mem $s: shoal-load failed: $(tail -n 1 "$WORKDIR/load.err")")
        return
    fi
    [[ $keys == "$MEM_KEYS" ]] || WARNINGS+=("round $r mem $s: DBSIZE is $keys, expected $MEM_KEYS")
    if [[ $(jget errors "$json") != 0 || $(jget conn_errors "$json") != 0 ]]; then
        WARNINGS+=("round $r mem $s: errors during the SETs ($(jget first_error "$json")$(jget first_conn_error "$json"))")
    fi
    local b_rss b_um="null"
    b_rss=$(awk -v a="$rss0" -v b="$rss1" -v n="$MEM_KEYS" 'BEGIN { printf "%.1f", (b - a) * 1024 / n }')
    if [[ -n $um0 && -n $um1 ]]; then
        b_um=$(awk -v a="$um0" -v b="$um1" -v n="$MEM_KEYS" 'BEGIN { printf "%.1f", (b - a) / n }')
    fi
    echo "{\"round\":$r,\"workload\":\"mem\",\"server\":\"$s\",\"rss_kib_before\":$rss0,\"rss_kib_after\":$rss1,\"used_memory_before\":${um0:-null},\"used_memory_after\":${um1:-null},\"dbsize\":\"$keys\",\"bytes_per_key_rss\":$b_rss,\"bytes_per_key_used_memory\":$b_um,\"load\":$json}" >>"$RAW"
    record mem "$s" "$r" bytes_per_key_rss "$b_rss"
    record mem "$s" "$r" bytes_per_key_used_memory "$b_um"
    record mem "$s" "$r" rss_after_mib "$(awk -v b="$rss1" 'BEGIN { printf "%.1f", b / 1024 }')"
    printf '  round %s mem  %-6s %8s bytes/key (RSS)  %8s bytes/key (used_memory)\n' \
        "$r" "$s" "$b_rss" "$b_um" >&2
}

# median WORKLOAD SERVER METRIC
median() {
    awk -v w="$1" -v s="$2" -v m="$3" -F'\t' \
        '$1 == w && $2 == s && $4 == m && $5 ~ /^-?[0-9.]+([eE][-+]?[0-9]+)?$/ { print $5 }' "$VALS" |
        sort -g |
        awk '{ v[NR] = $1 } END {
            if (NR == 0) print "n/a"
            else if (NR % 2) print v[(NR + 1) / 2]
            else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN {
        if (a ~ /^[-0-9.eE+]+$/ && b ~ /^[-0-9.eE+]+$/ && b + 0 != 0) printf "%.2f", a / b
        else printf "n/a" }'
}

# round_ratios WORKLOAD METRIC: "min-max" of the per-round Shoal/Redis ratios.
round_ratios() {
    awk -v w="$1" -v m="$2" -F'\t' '$1 == w && $4 == m && $5 ~ /^[0-9.]+$/ { v[$3 "," $2] = $5; r[$3] = 1 }
        END {
            n = 0
            for (k in r) if ((k ",shoal") in v && (k ",redis") in v && v[k ",redis"] > 0) {
                x = v[k ",shoal"] / v[k ",redis"]
                if (n == 0 || x < lo) lo = x
                if (n == 0 || x > hi) hi = x
                n++
            }
            if (n) printf "%.2f-%.2f", lo, hi; else printf "n/a" }' "$VALS"
}

fmt() { # NUMBER [int]: a number for humans
    awk -v x="$1" -v asint="${2:-}" 'BEGIN {
        if (x !~ /^[-0-9.eE+]+$/) print x
        else if (asint != "" || x >= 1000) printf "%.0f", x
        else if (x >= 10) printf "%.1f", x
        else printf "%.3f", x }'
}

row() { # LABEL WORKLOAD METRIC [ranges|int]
    local sh re int=""
    sh=$(median "$2" shoal "$3")
    re=$(median "$2" redis "$3")
    [[ ${4:-} == int ]] && int=1
    printf '%-22s %12s %12s %12s' "$1" "$(fmt "$sh" $int)" "$(fmt "$re" $int)" "$(ratio "$sh" "$re")"
    if [[ ${4:-} == ranges ]]; then printf '   (per round %s)' "$(round_ratios "$2" "$3")"; fi
    printf '\n'
}

describe() {
    case $1 in
        a) echo "SET:GET 1:10, pipeline 1, 50 connections, 32 B values, 100,000 keys prefilled, ${DURATION} s" ;;
        b) echo "SET:GET 1:10, pipeline 16, 50 connections, 32 B values, 100,000 keys prefilled, ${DURATION} s" ;;
        c) echo "SET only, pipeline 16, 50 connections, 32 B values, 100,000 keys prefilled, ${DURATION} s" ;;
        tx) echo "MULTI; SET; INCR; EXEC at pipeline 1 (4 requests per transaction), 50 connections, 32 B values, ${DURATION} s" ;;
        l1 | l16) echo "LPUSH list:1 value; RPOP list:1 (one list), pipeline ${1#l}, 50 connections, ${DURATION} s" ;;
        s1 | s16) echo "SADD set:1 member; SISMEMBER set:1 member, pipeline ${1#s}, 50 connections, 100,000 members, ${DURATION} s" ;;
        z1 | z16) echo "ZADD zset:1 1 member; ZRANGE zset:1 0 9, pipeline ${1#z}, 50 connections, 100,000 members, ${DURATION} s" ;;
        e1 | e16) echo "EVALSHA of \"$EVAL_SCRIPT\" on 100,000 counters (not prefilled), pipeline ${1#e}, 50 connections, ${DURATION} s" ;;
        mem) echo "fresh server, 1,000,000 SETs of 32 B values to memtier-1..1000000, pipeline 16" ;;
    esac
}

# ---------------------------------------------------------------- run
mkdir -p "$RESULTS_DIR"
: >"$RAW"
SHOAL_LABEL=shoal
[[ $SELFTEST == 1 ]] && SHOAL_LABEL="shoal*"
{
    echo "Shoal vs Redis, bench/compare.sh, $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD -- 2>/dev/null || echo ' (+ uncommitted changes)')," \
        "$("$REDIS_SERVER" --version | awk '{ print $1, $2, $3 }'), $(nproc) CPUs, $(uname -r)"
    echo "ROUNDS=$ROUNDS DURATION=$DURATION WORKLOADS=\"$WORKLOADS\", $PINNED, servers alternate first"
    if [[ $SELFTEST == 1 ]]; then
        echo "shoal*: SELFTEST, redis-server runs in Shoal's slot"
    else
        echo "shoal: $SHOAL_BIN --port $SHOAL_PORT --bind 127.0.0.1 $SHOAL_ARGS"
    fi
    echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (the machine is shared: compare ratios, not absolute numbers)"
} >"$WORKDIR/head.txt"
cat "$WORKDIR/head.txt" >&2
echo "compare.sh: report -> $REPORT, raw runs -> $RAW" >&2

for r in $(seq "$ROUNDS"); do
    if ((r % 2)); then order=(shoal redis); else order=(redis shoal); fi
    echo "round $r/$ROUNDS (${order[*]})" >&2
    for w in $WORKLOADS; do
        for s in "${order[@]}"; do
            if [[ $w == mem ]]; then run_mem "$s" "$r"; else run_abc "$w" "$s" "$r"; fi
        done
    done
done

{
    cat "$WORKDIR/head.txt"
    for w in $WORKLOADS; do
        echo
        echo "workload $w: $(describe "$w"); medians of $ROUNDS rounds"
        printf '%-22s %12s %12s %12s\n' metric "$SHOAL_LABEL" redis "shoal/redis"
        if [[ $w == mem ]]; then
            row "bytes/key (RSS)" mem bytes_per_key_rss ranges
            row "bytes/key (used_mem)" mem bytes_per_key_used_memory ranges
            row "RSS after (MiB)" mem rss_after_mib
        else
            row "ops/s" "$w" ops_per_sec ranges
            row "ops/server-CPU-s" "$w" ops_per_server_cpu_s ranges
            row "p50 ms" "$w" p50_ms
            row "p99 ms" "$w" p99_ms
            row "p99.9 ms" "$w" p999_ms
            row "errors (median)" "$w" errors int
        fi
    done
    echo
    echo "Higher is better for ops/s and ops/server-CPU-s; lower is better for latency and bytes/key."
    echo "ops/s is bounded by shoal-load's single core; ops/server-CPU-s is the figure goals use."
    [[ $SELFTEST == 1 ]] && echo "* SELFTEST: redis-server ran in Shoal's slot; ratios show the method's noise."
    if ((${#WARNINGS[@]})); then
        echo
        echo "warnings:"
        printf '  %s\n' "${WARNINGS[@]}"
    fi
} >"$REPORT"
rm -f "$WORKDIR/head.txt"

echo >&2
cat "$REPORT"
echo
echo "compare.sh: report written to $REPORT; raw runs to $RAW"
((FAILURES == 0)) || die "$FAILURES run(s) failed"

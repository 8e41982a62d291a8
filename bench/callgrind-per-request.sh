#!/usr/bin/env bash
# bench/callgrind-per-request.sh — instructions one request costs the whole server
# (connection loop, parser, dispatch, handler, reply, syscall wrappers), counted by
# valgrind's callgrind: the server runs twice under callgrind, once serving N1 and
# once N2 requests from one redis-benchmark connection (pipeline 1), and the cost of
# one request is (I(N2) - I(N1)) / (N2 - N1), so start-up and shutdown cancel out.
#
# Usage: [PIPELINE=16] bench/callgrind-per-request.sh /abs/path/shoal [get|set|ping_mbulk|evalsha] ...
# `evalsha`: EVALSHA of the e1/e16 script of compare.sh (INCR + EXPIRE on one key),
# SCRIPT LOADed first.
# Needs: valgrind, redis-benchmark, redis-cli, python3 (to pick a free port).
set -euo pipefail
bin="${1:?path of the shoal binary}"; shift
cmds=("${@:-get set}")
N1="${N1:-2000}"; N2="${N2:-12000}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
total() { # cmd n -> instructions of a whole server run serving n requests
  local cmd="$1" n="$2" out="$work/cg.$1.$2"
  # A port nobody listens on (a fresh one per run: the last run may still linger).
  local PORT
  PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  (cd "$work" && valgrind --tool=callgrind --callgrind-out-file="$out" \
      "$bin" --port "$PORT" --bind 127.0.0.1 --save "" >/dev/null 2>&1) &
  local vg=$!
  local up=0
  for _ in $(seq 1 300); do
    if redis-cli -p "$PORT" PING >/dev/null 2>&1; then up=1; break; fi
    sleep 0.1
  done
  if (( ! up )); then echo "server did not start" >&2; kill "$vg" 2>/dev/null; exit 1; fi
  if [[ $cmd == evalsha ]]; then
    local script="local n = redis.call('INCR', KEYS[1]) redis.call('EXPIRE', KEYS[1], 60) return n"
    local sha
    sha=$(redis-cli -p "$PORT" SCRIPT LOAD "$script")
    redis-benchmark -p "$PORT" -c 1 -P "${PIPELINE:-1}" -n "$n" -q EVALSHA "$sha" 1 counter >/dev/null
  else
    redis-benchmark -p "$PORT" -c 1 -P "${PIPELINE:-1}" -n "$n" -t "$cmd" -q >/dev/null
  fi
  local served
  local name="${cmd%_*}"  # ping_mbulk is PING
  served=$(redis-cli -p "$PORT" INFO commandstats | tr -d '\r' | awk -F'[=:,]' -v c="cmdstat_$name" '$1 == c {print $3}')
  if (( ${served:-0} < n )); then  # (PING also counts the start-up probe)
    echo "served ${served:-0} of $n $cmd" >&2
    redis-cli -p "$PORT" SHUTDOWN NOSAVE >/dev/null 2>&1 || true
    kill "$vg" 2>/dev/null
    exit 1
  fi
  redis-cli -p "$PORT" SHUTDOWN NOSAVE >/dev/null 2>&1 || true
  wait "$vg" || true
  callgrind_annotate "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ && !done {gsub(",","",$1); print $1; done = 1}'
}
for cmd in ${cmds[@]}; do
  i1=$(total "$cmd" "$N1"); i2=$(total "$cmd" "$N2")
  echo "$cmd: $(( (i2 - i1) / (N2 - N1) )) instructions per request (I($N1)=$i1, I($N2)=$i2)"
done

# bench/lib.sh — what the bench scripts share (sourced, not run): paths, the tool
# checks, CPU pinning and the server lifecycle.
#
# The sourcing script sets `ROOT` (the repository) and `PIN` and defines `die MESSAGE`
# before sourcing; it sets `WORKDIR` (a scratch directory) before `launch_server`, and
# its traps call `stop_server`. Sourcing sets `TARGET`, `LOAD`, `SHOAL_BIN`,
# `RESULTS_DIR` (each overridable from the environment where it was before) and
# `STAMP`. The server functions use and set `SERVER_PID` and `SERVER_PORT`.

TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
LOAD=$TARGET/release/shoal-load
SHOAL_BIN=${SHOAL_BIN:-$TARGET/release/shoal}
RESULTS_DIR=${RESULTS_DIR:-$ROOT/bench/results}
STAMP=$(date +%Y%m%d-%H%M%S)

# require_redis: dies unless redis-server ($REDIS_SERVER) and redis-cli are installed.
require_redis() {
    command -v "$REDIS_SERVER" >/dev/null ||
        die "redis-server not found; install it with: apt-get install -y redis-server"
    command -v redis-cli >/dev/null ||
        die "redis-cli not found; install it with: apt-get install -y redis-tools"
}

# pin_cpus NAME: with PIN=1, sets PIN_SERVER=(taskset -c 1) and PIN_LOAD=(taskset -c 0)
# (warning as NAME when taskset or a second CPU is missing); PINNED describes it.
pin_cpus() {
    PIN_SERVER=() PIN_LOAD=() PINNED="not pinned"
    [[ $PIN == 1 ]] || return 0
    if command -v taskset >/dev/null && [[ $(nproc) -ge 2 ]]; then
        PIN_SERVER=(taskset -c 1) PIN_LOAD=(taskset -c 0)
        PINNED="pinned: server on CPU 1, shoal-load on CPU 0"
    else
        echo "$1: taskset missing or fewer than 2 CPUs: not pinning" >&2
    fi
}

SERVER_PID="" SERVER_PORT=""

# alive PID: the process exists and is not a zombie.
alive() {
    local st
    st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
    [[ -n $st && $st != Z ]]
}

# stop_server: SIGTERM, up to 5 s to exit, then SIGKILL.
stop_server() {
    [[ -n $SERVER_PID ]] || return 0
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 50); do
        alive "$SERVER_PID" || break
        sleep 0.1
    done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}

# launch_server NAME PORT COMMAND...: runs COMMAND (pinned with PIN_SERVER) in WORKDIR,
# logging to WORKDIR/NAME.log, and waits up to 10 s for it to answer PING on PORT.
# Sets SERVER_PID and SERVER_PORT; dies, showing the log, if it exits or stays silent.
launch_server() {
    local name=$1
    SERVER_PORT=$2
    shift 2
    # The subshell execs taskset, which execs the server: $! is the server's PID.
    (cd "$WORKDIR" && exec "${PIN_SERVER[@]}" "$@") >"$WORKDIR/$name.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 100); do
        if ! alive "$SERVER_PID"; then
            tail -n 20 "$WORKDIR/$name.log" >&2
            SERVER_PID=""
            die "$name exited at start: $*"
        fi
        [[ $(redis-cli -p "$SERVER_PORT" PING 2>/dev/null) == PONG ]] && return 0
        sleep 0.1
    done
    tail -n 20 "$WORKDIR/$name.log" >&2
    die "$name did not answer PING within 10 s: $*"
}

# bench/lib.sh — server lifecycle shared by the bench scripts (sourced, not run).
#
# The sourcing script defines `die MESSAGE`, `WORKDIR` (a scratch directory) and
# `PIN_SERVER` (an array, e.g. `(taskset -c 1)` or empty), and sets up its traps to call
# `stop_server`. These functions use and set `SERVER_PID` and `SERVER_PORT`.

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

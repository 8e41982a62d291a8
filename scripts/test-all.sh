#!/usr/bin/env bash
# Runs every check and test of the workspace on a fresh machine that has only the Rust
# toolchain: installs redis-tools (redis-cli, for the CLI tests), redis-server,
# iproute2 (ss, to read a listener's backlog) and util-linux (prlimit) when missing,
# then formatting, lints, and all tests. Nothing is skipped silently: a missing
# tool that cannot be installed is a failure.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v redis-cli >/dev/null 2>&1 || need_apt+=(redis-tools)
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
command -v ss >/dev/null 2>&1 || need_apt+=(iproute2)
command -v prlimit >/dev/null 2>&1 || need_apt+=(util-linux)
if ((${#need_apt[@]})); then
    echo "==> installing ${need_apt[*]}"
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
for tool in redis-cli redis-server ss prlimit; do
    command -v "$tool" >/dev/null || { echo "$tool is required and could not be installed" >&2; exit 1; }
done

echo "==> cargo fmt --check"
cargo fmt --all -- --check
echo "==> cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
echo "==> cargo test"
cargo test --workspace --all-targets
cargo test --workspace --doc

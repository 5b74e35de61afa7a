#!/usr/bin/env bash
# Runs one load test the way the README's figures were measured: a release server
# pinned to core 0, the load generator pinned to core 1, then the server's peak RSS.
#
#   loadgen/pinned.sh [server flags...] -- <scenario> [loadgen flags...]
#   loadgen/pinned.sh -- fanout --clients 1000 --senders 10 --max --duration 10s
#   loadgen/pinned.sh --max-clients 19500 --max-queue 0 -- idle --clients 19000
set -euo pipefail
cd "$(dirname "$0")/.."
server_flags=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do server_flags+=("$1"); shift; done
[ $# -gt 0 ] || { echo "usage: $0 [server flags] -- <scenario> [loadgen flags]" >&2; exit 2; }
shift
ulimit -Sn "$(ulimit -Hn)"
cargo build --release --workspace --quiet
log=$(mktemp)
# Each run gets a fresh database of its own (the server's default keeps parley.db in
# the working directory), unless the flags name one.
data=$(mktemp -d)
case " ${server_flags[*]} " in *" --data "*) ;; *) server_flags+=(--data "$data/chat.db") ;; esac
taskset -c 0 target/release/parley-server --listen 127.0.0.1:0 "${server_flags[@]}" 2>"$log" &
server=$!
trap 'kill -TERM $server 2>/dev/null || true; rm -f "$log"; rm -rf "$data"' EXIT
addr=""
for _ in $(seq 100); do
  addr=$(sed -n 's/.*listening on \([0-9.:]*\).*/\1/p' "$log")
  [ -n "$addr" ] && break
  sleep 0.1
done
[ -n "$addr" ] || { cat "$log" >&2; exit 1; }
status=0
taskset -c 1 target/release/parley-loadgen "$@" --addr "$addr" --server-pid "$server" || status=$?
grep -E '^VmHWM' "/proc/$server/status" | sed 's/^/server peak RSS: /'
exit $status

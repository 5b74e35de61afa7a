#!/usr/bin/env bash
# Runs one load test the way the README's figures were measured: a release server
# pinned to core 0 (all its threads: loop, store, password hashing), the load generator
# pinned to core 1, then the server's peak RSS and how long its loop's turns took.
#
#   loadgen/pinned.sh [server flags...] -- <scenario> [loadgen flags...]
#   loadgen/pinned.sh -- fanout --clients 1000 --senders 10 --max --duration 10s
#   loadgen/pinned.sh --max-clients 19500 --max-queue 0 -- idle --clients 19000
#
# Every simulated client comes from 127.0.0.1, so the server is started with
# --trusted 127.0.0.0/8: the abuse limits (50 connections per address by default) are
# lifted for the load test. PINNED_TRUSTED replaces that list; the abuse scenario's
# attackers come from 127.0.0.2 and up, and must not be trusted:
#   PINNED_TRUSTED=127.0.0.1/32 loadgen/pinned.sh -- abuse --attack flood
#
# PINNED_SERVER_CPUS and PINNED_LOADGEN_CPUS (taskset lists, default 0 and 1) move
# them, e.g. to give a server with two password hashing threads both cores:
#   PINNED_SERVER_CPUS=0,1 loadgen/pinned.sh --hash-workers 2 -- login-storm --hash-workers 2
#
# PINNED_TLS=1 measures over TLS: `parley-loadgen make-cert` makes a fresh CA and server
# certificate in the run's temporary directory, the server gets a TLS listener with it
# on a port of its choosing, and the loadgen connects there with --tls --ca:
#   PINNED_TLS=1 loadgen/pinned.sh -- join-storm --clients 10000
#   PINNED_TLS=1 loadgen/pinned.sh -- idle --clients 5000
#
# PINNED_CONTROL=1 (abuse only) starts a second server on the server's CPUs that nobody
# attacks and points the abuse scenario's witness at it: a control that measures what
# the attack costs the machine rather than the server under attack:
#   PINNED_CONTROL=1 PINNED_TRUSTED=127.0.0.1/32 loadgen/pinned.sh -- abuse --attack non-readers
#
# PINNED_PROTOCOL=irc measures over the IRC gateway: the server gets an IRC listener
# on a port of its choosing and the loadgen speaks IRC there; PINNED_PROTOCOL=mixed
# puts every other client on it and the rest on the parley listener, in one room:
#   PINNED_PROTOCOL=irc loadgen/pinned.sh -- fanout --clients 1000 --senders 10 --max
set -euo pipefail
server_cpus=${PINNED_SERVER_CPUS:-0}
loadgen_cpus=${PINNED_LOADGEN_CPUS:-1}
trusted=${PINNED_TRUSTED:-127.0.0.0/8}
tls=${PINNED_TLS:-0}
protocol=${PINNED_PROTOCOL:-parley}
control=${PINNED_CONTROL:-0}
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
trap 'rm -f "$log"; rm -rf "$data"' EXIT
case " ${server_flags[*]} " in *" --data "*) ;; *) server_flags+=(--data "$data/chat.db") ;; esac
tls_flags=()
if [ "$tls" = 1 ]; then
  target/release/parley-loadgen make-cert "$data/certs" >/dev/null
  server_flags+=(--tls-listen 127.0.0.1:0 --tls-cert "$data/certs/cert.pem" --tls-key "$data/certs/key.pem")
  tls_flags=(--tls --ca "$data/certs/ca.pem")
fi
[ "$protocol" = parley ] || server_flags+=(--irc-listen 127.0.0.1:0)
# Prints the plain listener's address once the server logging to $1 reports it.
listening_on() {
  local found=""
  for _ in $(seq 100); do
    found=$(sed -n 's/.*listening on \([0-9.:]*\).*/\1/p' "$1")
    [ -n "$found" ] && break
    sleep 0.1
  done
  [ -n "$found" ] || { cat "$1" >&2; return 1; }
  echo "$found"
}
echo "pinned.sh: server on CPUs $server_cpus, loadgen on CPUs $loadgen_cpus" >&2
taskset -c "$server_cpus" target/release/parley-server --listen 127.0.0.1:0 --trusted "$trusted" "${server_flags[@]}" 2>"$log" &
server=$!
trap 'kill -TERM $server 2>/dev/null || true; rm -f "$log"; rm -rf "$data"' EXIT
addr=$(listening_on "$log")
if [ "$tls" = 1 ]; then
  # The TLS listener is reported before the plain one, so it is in the log by now.
  addr=$(sed -n 's/.*listening for TLS on \([0-9.:]*\).*/\1/p' "$log")
  [ -n "$addr" ] || { cat "$log" >&2; exit 1; }
fi
# The IRC listener is reported before the plain one too.
irc=$(sed -n 's/.*listening for IRC on \([0-9.:]*\).*/\1/p' "$log")
case $protocol in
  parley) protocol_flags=(--addr "$addr") ;;
  irc) protocol_flags=(--protocol irc --addr "$irc") ;;
  mixed) protocol_flags=(--protocol mixed --addr "$addr" --irc-addr "$irc") ;;
  *) echo "PINNED_PROTOCOL must be parley, irc or mixed" >&2; exit 2 ;;
esac
control_flags=()
if [ "$control" = 1 ]; then
  control_log="$data/control.log"
  taskset -c "$server_cpus" target/release/parley-server --listen 127.0.0.1:0 --trusted "$trusted" --data "$data/control.db" 2>"$control_log" &
  control_server=$!
  trap 'kill -TERM $server $control_server 2>/dev/null || true; rm -f "$log"; rm -rf "$data"' EXIT
  control_flags=(--witness-addr "$(listening_on "$control_log")")
fi
status=0
taskset -c "$loadgen_cpus" target/release/parley-loadgen "$@" "${protocol_flags[@]}" --server-pid "$server" "${tls_flags[@]}" "${control_flags[@]}" || status=$?
grep -E '^VmHWM' "/proc/$server/status" | sed 's/^/server peak RSS: /'
# The server logs how long its loop's turns took when it stops.
kill -TERM "$server" && wait "$server" || true
sed -n 's/.*shutdown complete[^;]*; \(.*\)/server: \1/p' "$log"
exit $status

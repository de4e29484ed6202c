#!/bin/sh
# test-leader-example.sh: examples/leader as three real processes on
# loopback, driven through their stdin and read from their stdout: a leader
# is elected and everyone follows it; killed (-9), another is elected; end of
# input makes the rest leave and exit 0.
# Speaks TAP; arguments from run-test.sh (--tap -k) are ignored.
set -u
builddir=$(cd "${GOSSIP_TEST_BUILDDIR:?}/.." && pwd)
exe="$builddir/examples/leader/gossip-leader-example"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gossip-leader.XXXXXX")
pids=""
cleanup () {
  for p in $pids; do kill -9 "$p" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
n=0
ok () { n=$((n + 1)); echo "ok $n - $1"; }
fail () {
  n=$((n + 1)); echo "not ok $n - $1"
  for f in "$tmp"/*.log; do echo "# == $f"; sed 's/^/# /' "$f"; done
  exit 1
}
opts="--port 0 --heartbeat-ms 200 --leader-timeout-ms 1000 --check-ms 200"

# start NAME FD [PEERS]: runs a node reading from a fifo held open on FD.
start () {
  mkfifo "$tmp/$1.in"
  # shellcheck disable=SC2086
  "$exe" $opts --node-id "$1" --state-file "$tmp/$1.state" ${3:+--peers "$3"} \
    <"$tmp/$1.in" >"$tmp/$1.log" 2>&1 &
  eval "pid_$1=$!"
  pids="$pids $!"
  eval "exec $2>\"$tmp/$1.in\""
}

# wait_for SECONDS COMMAND...: polls COMMAND every 0.1 s until it succeeds.
wait_for () {
  tries=$(($1 * 10)); shift
  while [ "$tries" -gt 0 ]; do
    "$@" && return 0
    sleep 0.1; tries=$((tries - 1))
  done
  return 1
}

leader_among () {
  for node in "$@"; do
    if grep -q "^I am the leader (term" "$tmp/$node.log"; then echo "$node"; return 0; fi
  done
  return 1
}
all_follow () { # LEADER NODE...: every NODE printed "leader: LEADER term"
  leader=$1; shift
  for node in "$@"; do grep -q "^leader: $leader term" "$tmp/$node.log" || return 1; done
}
gone () { ! kill -0 "$1" 2>/dev/null; }

echo "1..3"
[ -x "$exe" ] || { echo "Bail out! $exe not built"; exit 1; }
start a 3
wait_for 20 grep -q "listening on" "$tmp/a.log" || fail "node a started"
addr=$(sed -n 's/^node a listening on //p' "$tmp/a.log")
start b 4 "$addr"
start c 5 "$addr"

wait_for 30 leader_among a b c >/dev/null || fail "a leader is elected"
first=$(leader_among a b c)
wait_for 10 all_follow "$first" a b c || fail "every node follows $first"
ok "$first is elected and followed by all"

eval "kill -9 \$pid_$first"
rest=$(echo a b c | tr ' ' '\n' | grep -v "^$first$" | tr '\n' ' ')
# shellcheck disable=SC2086
wait_for 30 leader_among $rest >/dev/null || fail "a new leader after $first was killed"
# shellcheck disable=SC2086
second=$(leader_among $rest)
# shellcheck disable=SC2086
wait_for 10 all_follow "$second" $rest || fail "the others follow $second"
grep -q "^I am the leader (term [2-9]" "$tmp/$second.log" || fail "$second leads a later term"
ok "$second is elected after $first was killed"

exec 3>&- 4>&- 5>&-
status=0
for node in $rest; do
  eval "pid=\$pid_$node"
  wait_for 20 gone "$pid" || fail "$node exits at end of input"
  wait "$pid" || status=$?
done
[ "$status" -eq 0 ] || fail "nodes exit with status 0 (got $status)"
ok "end of input: the nodes leave and exit 0"

#!/bin/sh
# test-dns-netns.sh: names, AAAA and SRV records from a real DNS server.
#
# As root: creates a network namespace with only its loopback up, points
# its resolv.conf (which `ip netns exec` bind-mounts over /etc/resolv.conf)
# at a dnsmasq running inside it, and runs tests/dns-join there (see
# dns-join.c for the zone and what it checks).  Everything it starts is
# stopped by PID, and the namespace deleted, on every way out.
#
# Speaks TAP (dns-join's GTest output).  Without root, `ip` or dnsmasq
# (Debian: dnsmasq-base) it skips: "1..0 # SKIP why" under the test driver
# (--tap, as tests/run-test.sh passes), exit status 77 when run by hand.
set -u
tap=0
for arg in "$@"; do
  [ "$arg" = "--tap" ] && tap=1
done
skip () {
  if [ "$tap" = 1 ]; then
    echo "1..0 # SKIP $1"
    exit 0
  fi
  echo "test-dns-netns: skipped: $1" >&2
  exit 77
}

DNSMASQ=${DNSMASQ:-/usr/sbin/dnsmasq}
domain=gossip.test
port=7946
[ "$(id -u)" = 0 ] || skip "needs root for a network namespace"
command -v ip >/dev/null 2>&1 || skip "ip (iproute2) is not installed"
[ -x "$DNSMASQ" ] || skip "$DNSMASQ (dnsmasq-base) is not installed"
command -v timeout >/dev/null 2>&1 || skip "timeout (coreutils) is not installed"
prog="${GOSSIP_TEST_BUILDDIR:-$(dirname "$0")}/dns-join"
[ -x "$prog" ] || { echo "Bail out! $prog is not built (make check builds it)"; exit 1; }

ns="gossip-dns-$$"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gossip-dns.XXXXXX")
dns_pid=""
cleanup () {
  if [ -n "$dns_pid" ]; then
    kill "$dns_pid" 2>/dev/null
    wait "$dns_pid" 2>/dev/null
  fi
  ip netns delete "$ns" 2>/dev/null
  rm -rf "/etc/netns/$ns" "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

ip netns add "$ns" 2>"$tmp/netns.err" || skip "cannot create a network namespace: $(cat "$tmp/netns.err")"
ip netns exec "$ns" ip link set lo up || { echo "Bail out! cannot bring lo up in $ns"; exit 1; }
mkdir -p "/etc/netns/$ns"
echo "nameserver 127.0.0.1" >"/etc/netns/$ns/resolv.conf"
echo "options timeout:1 attempts:2" >>"/etc/netns/$ns/resolv.conf"

# The zone of dns-join.c.
ip netns exec "$ns" "$DNSMASQ" --no-daemon --no-resolv --no-hosts --no-poll --pid-file= \
  --listen-address=127.0.0.1 --bind-interfaces --port=53 --local=/$domain/ \
  --log-facility="$tmp/dnsmasq.log" --log-queries \
  --host-record=n1.$domain,127.0.0.1 --host-record=n2.$domain,127.0.0.2 \
  --host-record=n3.$domain,127.0.0.3 --host-record=n4.$domain,127.0.0.4 \
  --host-record=n5.$domain,127.0.0.5 \
  --host-record=all.$domain,127.0.0.1 --host-record=all.$domain,127.0.0.2 \
  --host-record=all.$domain,127.0.0.3 \
  --host-record=v6.$domain,::1 --host-record=dual.$domain,127.0.0.9,::1 \
  --srv-host=_gossip._tcp.$domain,n2.$domain,$port,10,5 \
  --srv-host=_gossip._tcp.$domain,n3.$domain,$port,10,50 \
  --srv-host=_gossip._tcp.$domain,n4.$domain,$port,20,0 \
  --srv-host=_gossip._tcp.$domain,n1.$domain,$port,30,0 \
  >"$tmp/dnsmasq.out" 2>&1 &
dns_pid=$!

# Ready once it answers (5 s at most).
ready=0
for _ in $(seq 50); do
  if ip netns exec "$ns" getent hosts "n1.$domain" >/dev/null 2>&1; then
    ready=1
    break
  fi
  kill -0 "$dns_pid" 2>/dev/null || break
  sleep 0.1
done
if [ "$ready" != 1 ]; then
  echo "Bail out! dnsmasq did not answer in $ns"
  sed 's/^/# /' "$tmp/dnsmasq.out" "$tmp/dnsmasq.log" 2>/dev/null
  exit 1
fi

timeout -k 5 50 ip netns exec "$ns" "$prog" --port "$port" --tap
status=$?
if [ "$status" != 0 ]; then
  echo "# dns-join exited with status $status; dnsmasq's log:"
  sed 's/^/# /' "$tmp/dnsmasq.log" 2>/dev/null | tail -40
fi
exit "$status"

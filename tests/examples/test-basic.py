#!/usr/bin/env python3
"""test-basic.py: examples/basic as three real processes.

Over TCP/UDP, over WebSocket and across both: three nodes join in a chain
(n2 through n1, n3 through n2), every node's `peers` lists all three alive
and `members` gives the same digest everywhere; the shared commands answer;
and the nodes leave by `quit`, end of input and SIGINT, each exiting 0 and
seen as "left" by those still running.  Also --config with options on top
of it, a join that fails, and a node started before its peer joining it
once the peer is up (--peers are retried as seeds).
"""

import os
import re
import signal
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Suite, ensure, free_port, start_cluster  # noqa: E402

suite = Suite("basic")


def socket_address(port):
    return "127.0.0.1:%d" % port


def ws_address(port):
    return "ws://127.0.0.1:%d/gossip" % port


def check_membership(nodes):
    for n in nodes:
        table = n.peers(3, 3)
        for m in nodes:
            ensure(table.get(m.name, (None, None))[:2] == (m.address, "alive"),
                   "%s: %s is %r, expected %s alive" % (n.name, m.name, table.get(m.name),
                                                         m.address))
    digests = set()
    for n in nodes:
        digests.add(n.poll("members", r"^members: 3 alive, 0 suspect, 0 dead, 0 left; "
                                      r"digest (\S+)$").group(1))
    ensure(len(digests) == 1, "membership digests differ: %r" % digests)


def leave_three_ways(nodes):
    n1, n2, n3 = nodes
    n3.send("quit")
    n3.expect(r"^leaving \(quit\)$")
    n3.expect(r"^left$")
    ensure(n3.wait_exit() == 0, "n3 did not exit 0 after quit")
    for n in (n1, n2):
        ensure(n.peers(3, 2)["n3"][1] == "left", "%s does not show n3 left" % n.name)
    n2.close_stdin()
    n2.expect(r"^leaving \(end of input\)$")
    ensure(n2.wait_exit() == 0, "n2 did not exit 0 at end of input")
    n1.signal(signal.SIGINT)
    n1.expect(r"^leaving \(signal\)$")
    ensure(n1.wait_exit() == 0, "n1 did not exit 0 on SIGINT")


@suite.test
def three_nodes_over_tcp_udp(s):
    nodes = start_cluster(s, chain=True)
    check_membership(nodes)
    leave_three_ways(nodes)


@suite.test
def three_nodes_over_websocket(s):
    nodes = start_cluster(s, web=True, chain=True)
    check_membership(nodes)
    leave_three_ways(nodes)


@suite.test
def socket_and_websocket_nodes_meet_through_a_node_with_both(s):
    hub_port, hub_web = free_port(), free_port()
    hub = s.node("hub", "--port", hub_port, "--web-port", hub_web, "--node-id", "hub")
    hub.expect(r"^node hub listening on %s,%s$" % (re.escape(socket_address(hub_port)),
                                                    re.escape(ws_address(hub_web))))
    tcp = s.node("tcp", "--port", free_port(), "--node-id", "tcp", "--peers",
                 socket_address(hub_port))
    web = s.node("web", "--web-port", free_port(), "--node-id", "web", "--peers",
                 ws_address(hub_web))
    for n in (tcp, web):
        n.expect(r"^joined 1$")
    for n in (hub, tcp, web):
        table = n.peers(3, 3)
        ensure(sorted(table) == ["hub", "tcp", "web"], "%s sees %r" % (n.name, table))


@suite.test
def shared_commands(s):
    p1, p2 = free_port(), free_port()
    n1 = s.node("n1", "--port", p1, "--node-id", "n1")
    n1.expect(r"^node n1 listening on ")
    n2 = s.node("n2", "--port", p2, "--node-id", "n2", "--peers", socket_address(p1))
    n2.expect(r"^joined 1$")
    n1.command("whoami", r"^whoami: n1 127\.0\.0\.1:%d$" % p1)
    n2.command("set-meta zone eu west 1", r"^ok: zone=eu west 1$")
    n2.command("set-meta rack r7", r"^ok: rack=r7$")
    n2.command("show-meta n2", r"^meta n2 rack=r7 zone=eu west 1$")
    n1.poll("get-meta n2 zone", r"^meta n2 zone=eu west 1$")
    n1.poll("show-meta n2", r"^meta n2 rack=r7 zone=eu west 1$")
    ensure(n1.peers(2, 2)["n2"][2] == "rack=r7 zone=eu west 1", "n1's peers lacks n2's metadata")
    n1.command("show-meta n1", r"^meta n1 \(none\)$")
    n1.command("get-meta n2 nothing", r"^error: n2 has no nothing$")
    n1.command("get-meta nobody zone", r"^error: no node nobody$")
    n1.command("get-meta n2", r"^usage: get-meta NODE KEY$")
    n1.command("frobnicate", r'^error: unknown command "frobnicate" \(try help\)$')
    lines = n1.command("help", r"^  members ")
    for name in ("help", "peers", "whoami", "set-meta KEY VALUE", "get-meta NODE KEY",
                 "show-meta NODE", "quit"):
        ensure(any(l.startswith("  %s " % name) for l in lines), "help lacks %s" % name)
    n2.command("set-meta  bad", r"^usage: set-meta KEY VALUE$")


@suite.test
def config_file_then_options(s):
    port, dead = free_port(), free_port()
    with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
        f.write("[cluster]\nnode_id=from-config\nbind_address=127.0.0.1:%d\n" % port)
        f.write("[health]\nprofile=local\nleave_timeout=300ms\n")
        conf = f.name
    try:
        n = s.node("cfg", "--config", conf, "--peers", socket_address(dead))
        n.expect(r"^node from-config listening on 127\.0\.0\.1:%d$" % port)
        n.expect(r"^join failed: .+")
        n.send("quit")
        ensure(n.wait_exit() == 0, "did not exit 0")
        n = s.node("cfg2", "--config", conf, "--node-id", "override", "--port", free_port())
        n.expect(r"^node override listening on 127\.0\.0\.1:(?!%d$)\d+$" % port)
        n.signal(signal.SIGTERM)
        ensure(n.wait_exit() == 0, "did not exit 0 on SIGTERM")
        bad = s.node("bad", "--config", "/nonexistent/gossip.conf")
        ensure(bad.wait_exit() == 2, "a missing config file is not an error")
    finally:
        os.unlink(conf)


@suite.test
def peers_retried_while_alone(s):
    """--peers are the node's seeds: started before its peer, it joins once
    the peer is up."""
    port = free_port()
    with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
        f.write("[health]\nprofile=local\nreconnect_interval=300ms\nleave_timeout=300ms\n")
        conf = f.name
    try:
        early = s.node("early", "--config", conf, "--node-id", "early", "--port", free_port(),
                       "--peers", socket_address(port))
        early.expect(r"^join failed: .+")
        late = s.node("late", "--config", conf, "--node-id", "late", "--port", port)
        late.expect(r"^node late listening on ")
        ensure(early.peers(2, 2)["late"][1] == "alive", "early did not join late")
        ensure(late.peers(2, 2)["early"][1] == "alive", "late does not see early")
        for n in (early, late):
            n.send("quit")
            ensure(n.wait_exit() == 0, "%s did not exit 0" % n.name)
    finally:
        os.unlink(conf)


if __name__ == "__main__":
    suite.run()

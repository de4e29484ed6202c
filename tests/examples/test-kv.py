#!/usr/bin/env python3
"""test-kv.py: examples/kv as real processes.

Three nodes over TCP/UDP: a set on one node is printed by the others and
read back by `get` everywhere; a delete too; `keys` lists what is left.
Then a node is killed (kill -9) while keys change, and restarted with the
same ID: the full sync brings it the new values and the deletes.  A node
stopped (SIGSTOP) long enough to be declared dead misses writes and
deletes; once it runs again the sync repairs its stale entries.  Last, the
same over WebSocket.
"""

import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Suite, ensure, start_cluster  # noqa: E402

suite = Suite("kv", time_limit=180)


def get_everywhere(nodes, key, want):
    """`get KEY` prints @want ("KEY = VALUE" or "KEY not found") on each node."""
    for n in nodes:
        n.poll("get %s" % key, r"^%s$" % re.escape(want))


def keys_of(node):
    """`keys`: the listed keys (without lines printed meanwhile by syncs) and the count."""
    lines = node.command("keys", r"^\(\d+ keys\)$")
    listed = [l for l in lines[:-1] if not l.startswith("kv: ")]
    return listed, int(re.match(r"^\((\d+) keys\)$", lines[-1]).group(1))


def expect_keys(node, want):
    got = keys_of(node)
    ensure(got == (want, len(want)), "%s: keys %r, expected %r" % (node.name, got, want))


def write(node, command, answer, others, printed):
    """Runs @command on @node, which prints @answer; each of @others prints @printed."""
    node.command(command, r"^%s$" % re.escape(answer))
    for n in others:
        n.expect(r"^%s$" % re.escape(printed))


@suite.test
def set_get_delete(s):
    n1, n2, n3 = start_cluster(s, converge=True)

    write(n1, "set colour blue", "ok: colour = blue", (n2, n3), "kv: colour = blue (from n1)")
    get_everywhere((n1, n2, n3), "colour", "colour = blue")

    write(n3, "set shape a round circle", "ok: shape = a round circle", (n1, n2),
          "kv: shape = a round circle (from n3)")
    write(n2, "set colour red", "ok: colour = red", (n1, n3), "kv: colour = red (from n2)")
    get_everywhere((n1, n2, n3), "colour", "colour = red")

    write(n2, "delete colour", "ok: colour deleted", (n1, n3), "kv: colour deleted (from n2)")
    get_everywhere((n1, n2, n3), "colour", "colour not found")
    for n in (n1, n2, n3):
        expect_keys(n, ["shape"])

    n1.command("get nothing", r"^nothing not found$")
    n1.command("set onlykey", r"^usage: set KEY VALUE$")

    # A clean exit (sanitizer builds would report leaks on stderr).
    n2.send("quit")
    ensure(n2.wait_exit() == 0, "n2 did not exit 0")
    n3.close_stdin()
    ensure(n3.wait_exit() == 0, "n3 did not exit 0")


def restart(s, old, peer):
    """Starts a new process with @old's ID and port, joining @peer."""
    n = s.node(old.name, "--port", old.address.split(":")[1], "--node-id", old.name,
               "--peers", peer.address)
    n.address = old.address
    n.expect(r"^node %s listening on " % old.name)
    n.expect(r"^joined 1$")
    return n


@suite.test
def killed_node_catches_up_after_restart(s):
    n1, n2, n3 = start_cluster(s, converge=True)
    n1.command("set a 1", r"^ok: a = 1$")
    n2.command("set b 2", r"^ok: b = 2$")
    n1.command("set c 3", r"^ok: c = 3$")
    for key, value in (("a", "1"), ("b", "2"), ("c", "3")):
        get_everywhere((n1, n2, n3), key, "%s = %s" % (key, value))

    n3.kill()
    n1.command("set a one", r"^ok: a = one$")
    n2.expect(r"^kv: a = one \(from n1\)$")
    n2.command("delete b", r"^ok: b deleted$")
    n2.command("set d 4", r"^ok: d = 4$")
    n1.expect_all([r"^kv: b deleted \(from n2\)$", r"^kv: d = 4 \(from n2\)$"])

    n3 = restart(s, n3, n1)
    n3.rewind()
    n3.expect(r"^kv: synced with n[12] \(sent \d+, received \d+, applied \d+\)$")
    get_everywhere((n3,), "a", "a = one")
    get_everywhere((n3,), "b", "b not found")
    get_everywhere((n3,), "c", "c = 3")
    get_everywhere((n3,), "d", "d = 4")
    n3.rewind()
    n3.expect(r"^kv: b deleted \(from n2\)$")
    expect_keys(n3, ["a", "c", "d"])

    # It writes again as the same node, and everyone sees it.
    n3.command("set e 5", r"^ok: e = 5$")
    get_everywhere((n1, n2), "e", "e = 5")


@suite.test
def stopped_node_repaired_when_back(s):
    n1, n2, n3 = start_cluster(s, converge=True)
    n1.command("set a old", r"^ok: a = old$")
    n1.command("set b old", r"^ok: b = old$")
    get_everywhere((n3,), "b", "b = old")

    # n3 freezes (as if cut off) until the others declare it dead, so their
    # broadcasts no longer go to it.
    n3.signal(signal.SIGSTOP)
    wait_state(n1, "n3", "dead")
    wait_state(n2, "n3", "dead")
    n2.command("set a new", r"^ok: a = new$")
    n2.command("delete b", r"^ok: b deleted$")
    n1.expect(r"^kv: b deleted \(from n2\)$")

    # Back: n3 refutes its death, the others see it alive again and sync.
    n1.command("get a", r"^a = new$")
    n3.signal(signal.SIGCONT)
    n1.expect(r"^kv: synced with n3 ", timeout=30)
    get_everywhere((n3,), "a", "a = new")
    get_everywhere((n3,), "b", "b not found")


def wait_state(node, peer, state, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        table = node.peers(3, 2, timeout=timeout)
        if table[peer][1] == state:
            return
        ensure(time.monotonic() < deadline, "%s never saw %s %s" % (node.name, peer, state))
        time.sleep(0.3)


@suite.test
def over_websocket(s):
    n1, n2, n3 = start_cluster(s, web=True, converge=True)
    n2.command("set greeting hello web", r"^ok: greeting = hello web$")
    get_everywhere((n1, n3), "greeting", "greeting = hello web")
    n3.command("delete greeting", r"^ok: greeting deleted$")
    get_everywhere((n1, n2), "greeting", "greeting not found")


if __name__ == "__main__":
    suite.run()

#!/usr/bin/env python3
"""test-usermessages.py: examples/usermessages as real processes.

Three nodes over TCP/UDP: a broadcast is printed once by each other node; a
message sent to one node is printed by it and not by the third; a question
is answered in capitals by the node asked; asking an unknown node, or one
that has left, prints an error.  Then a broadcast over WebSocket.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Suite, ensure, start_cluster  # noqa: E402

suite = Suite("usermessages")


@suite.test
def broadcast_send_and_ask(s):
    n1, n2, n3 = start_cluster(s, web=False, converge=True)

    n1.command("broadcast hello, everyone", r"^ok: broadcast sent$")
    for n in (n2, n3):
        n.expect(r"^broadcast from n1: hello, everyone$")

    n2.command("send n3 just for you", r"^ok: sent to n3$")
    n3.expect(r"^message from n2: just for you$")

    n1.send("ask n2 what time is it?")
    n2.expect(r"^question from n1: what time is it\?$")
    n1.expect(r"^reply from n2: WHAT TIME IS IT\? \(answered by n2\)$")

    n3.command("ask nobody hi", r"^error: no node nobody$")
    n3.command("send n1", r"^usage: send NODE TEXT$")

    # Each broadcast was printed once: n1 its own none, the others one each.
    n3.command("broadcast last", r"^ok: broadcast sent$")
    for n in (n1, n2):
        n.expect(r"^broadcast from n3: last$")
    time.sleep(0.5)
    for n in (n1, n2, n3):
        with n.cond:
            got = [l for l in n.lines if l.startswith("broadcast from")]
        want = {"n1": ["broadcast from n3: last"],
                "n2": ["broadcast from n1: hello, everyone", "broadcast from n3: last"],
                "n3": ["broadcast from n1: hello, everyone"]}[n.name]
        ensure(got == want, "%s printed %r, expected %r" % (n.name, got, want))
    for n in (n1, n2):
        ensure(not any(l.startswith("message from") for l in n.lines),
               "%s printed a message sent to n3" % n.name)

    n2.send("quit")
    ensure(n2.wait_exit() == 0, "n2 did not exit 0")
    n1.peers(3, 2)
    n1.command("ask n2 are you there?", r"^error: ")


@suite.test
def broadcast_and_ask_over_websocket(s):
    n1, n2, n3 = start_cluster(s, web=True, converge=True)
    n3.command("broadcast over the web", r"^ok: broadcast sent$")
    for n in (n1, n2):
        n.expect(r"^broadcast from n3: over the web$")
    n2.send("ask n1 ping")
    n2.expect(r"^reply from n1: PING \(answered by n1\)$")


if __name__ == "__main__":
    suite.run()

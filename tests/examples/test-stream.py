#!/usr/bin/env python3
"""test-stream.py: examples/stream as real processes.

Three nodes over TCP/UDP, then over WebSocket: a stream's message is printed
by the node it was opened to and its echo by the opener; two streams at once
in opposite directions; a message longer than one read; a stream to an
unknown node, or to one that has left, prints an error.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Suite, ensure, free_port  # noqa: E402

suite = Suite("stream")


def start_three(s, web):
    ports = [free_port() for _ in range(3)]
    option = "--web-port" if web else "--port"
    first = ("ws://127.0.0.1:%d/gossip" if web else "127.0.0.1:%d") % ports[0]
    nodes = []
    for i, port in enumerate(ports):
        args = [option, port, "--node-id", "n%d" % (i + 1)]
        if i:
            args += ["--peers", first]
        n = s.node("n%d" % (i + 1), *args)
        n.expect(r"^node n%d listening on " % (i + 1))
        if i:
            n.expect(r"^joined 1$")
        nodes.append(n)
    for n in nodes:
        n.peers(3, 3)
    return nodes


def echoes(s, web):
    n1, n2, n3 = start_three(s, web)

    n1.send("stream n2 hello over a stream")
    n2.expect(r"^stream from n1: hello over a stream$")
    n1.expect(r"^echo from n2: hello over a stream$")

    n2.send("stream n3 one way")
    n3.send("stream n2 the other way")
    n2.expect_all([r"^stream from n3: the other way$", r"^echo from n3: one way$"])
    n3.expect_all([r"^stream from n2: one way$", r"^echo from n2: the other way$"])

    long = "".join("%05d " % i for i in range(2000))  # 12000 bytes: several reads
    n3.send("stream n1 " + long)
    n1.expect(r"^stream from n3: (\d{5} ){1999}01999$", timeout=20)
    n3.expect(r"^echo from n1: (\d{5} ){1999}01999$", timeout=20)

    n1.command("stream nobody hi", r"^error: no node nobody$")
    n1.command("stream n2", r"^usage: stream NODE MESSAGE$")
    n2.send("quit")
    ensure(n2.wait_exit() == 0, "n2 did not exit 0")
    n1.peers(3, 2)
    n1.command("stream n2 are you there?", r"^error: stream to n2: ")


@suite.test
def echo_over_tcp(s):
    echoes(s, web=False)


@suite.test
def echo_over_websocket(s):
    echoes(s, web=True)


if __name__ == "__main__":
    suite.run()

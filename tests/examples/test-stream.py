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
from harness import Suite, ensure, start_cluster  # noqa: E402

suite = Suite("stream")


def echoes(s, web):
    n1, n2, n3 = start_cluster(s, web=web, converge=True)

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

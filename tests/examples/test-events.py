#!/usr/bin/env python3
"""test-events.py: examples/events as real processes.

Three nodes (the `local` timing profile, from a --config file): each prints
the others becoming alive; a metadata change on one is printed by all three;
one killed with SIGKILL is printed as suspect, then dead, by the other two;
a node that quits is printed as left.
"""

import os
import signal
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Suite, ensure, start_cluster  # noqa: E402

suite = Suite("events")


@suite.test
def joins_metadata_leave_and_death(s):
    with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
        f.write("[health]\nprofile=local\n")
        conf = f.name
    try:
        n1, n2, n3 = start_cluster(s, extra=["--config", conf])
        for n in (n1, n2, n3):
            others = [m.name for m in (n1, n2, n3) if m is not n]
            n.rewind()
            n.expect_all([r"^event: %s alive \(was unknown\)$" % o for o in others])

        n2.send("set-meta zone eu-west")
        for n in (n1, n2, n3):
            n.expect(r"^event: n2 metadata zone=eu-west$")
        n2.expect(r"^ok: zone=eu-west$")  # the local node's event comes first
        n2.send("set-meta rack 7")
        for n in (n1, n2, n3):
            n.expect(r"^event: n2 metadata rack=7 zone=eu-west$")

        n2.signal(signal.SIGKILL)
        n2.wait_exit()
        for n in (n1, n3):
            n.expect(r"^event: n2 suspect \(was alive\)$")
            n.expect(r"^event: n2 dead \(was suspect\)$")

        n3.send("quit")
        ensure(n3.wait_exit() == 0, "n3 did not exit 0")
        n1.expect(r"^event: n3 left \(was alive\)$")
        n1.close_stdin()
        ensure(n1.wait_exit() == 0, "n1 did not exit 0")
    finally:
        os.unlink(conf)


if __name__ == "__main__":
    suite.run()

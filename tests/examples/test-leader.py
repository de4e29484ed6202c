#!/usr/bin/env python3
"""test-leader.py: examples/leader as real processes.

Three nodes with short election timings: one prints "I am the leader
(term N)" and all three print "leader: LEADER term N".  The leader is killed
(kill -9): another is elected in a later term and both survivors follow it.
End of input makes them leave and exit 0.  Then the same election over
WebSocket.
"""

import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Failure, Suite, ensure, start_cluster  # noqa: E402

suite = Suite("leader", time_limit=150)
TIMINGS = ["--heartbeat-ms", "200", "--leader-timeout-ms", "1000", "--check-ms", "200"]


def leader_among(nodes, min_term=1, timeout=30):
    """The node that printed "I am the leader (term N)" with N >= @min_term, and N."""
    deadline = time.monotonic() + timeout
    while True:
        for n in nodes:
            with n.cond:
                for line in n.lines:
                    m = re.match(r"^I am the leader \(term (\d+)\)$", line)
                    if m and int(m.group(1)) >= min_term:
                        return n, int(m.group(1))
        if time.monotonic() >= deadline:
            raise Failure("no leader of term >= %d within %d s\n%s" % (
                min_term, timeout, "\n".join(n.tail() for n in nodes)))
        time.sleep(0.1)


def elect(nodes, min_term=1):
    leader, term = leader_among(nodes, min_term)
    for n in nodes:
        n.rewind()
        n.expect(r"^leader: %s term %d$" % (leader.name, term))
    return leader, term


@suite.test
def elected_and_reelected_when_killed(s):
    nodes = start_cluster(s, extra=TIMINGS)
    first, term = elect(nodes)
    lines = first.command("leader", r"^term \d+, ")
    ensure(re.match(r"^term %d, leader %s \(this node\), 3 live nodes, quorum 2 of 3$"
                    % (term, first.name), lines[-1]), "leader printed %r" % lines[-1])

    first.kill()
    rest = [n for n in nodes if n is not first]
    second, term2 = elect(rest, term + 1)
    ensure(second is not first and term2 > term, "no new leader in a later term")

    for n in rest:
        n.close_stdin()
    for n in rest:
        ensure(n.wait_exit() == 0, "%s did not exit 0" % n.name)


@suite.test
def elected_over_websocket(s):
    nodes = start_cluster(s, web=True, extra=TIMINGS)
    leader, term = elect(nodes)
    leader.send("quit")
    leader.expect(r"^stepped down \(term %d\)$" % term)
    ensure(leader.wait_exit() == 0, "the leader did not exit 0")
    elect([n for n in nodes if n is not leader], term + 1)


if __name__ == "__main__":
    suite.run()

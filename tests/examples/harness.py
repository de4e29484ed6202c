"""harness.py: drive the example programs as real processes.

A Node is one example program on loopback: lines go to its stdin, what it
prints on stdout is collected by a reader thread, and tests wait for lines
matching a regular expression, always with a deadline.  A Suite runs test
functions, speaks TAP (tests/run-test.sh passes --tap) and kills every
process it started, by PID, after each test whether it passed or not.

Programs are found under the build tree: $GOSSIP_EXAMPLES_BUILDDIR, else the
parent of $GOSSIP_TEST_BUILDDIR (set by `make check`), else the current
directory.  Plugins come from $GOSSIP_PLUGIN_PATH, else BUILDDIR/plugins.
"""

import atexit
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

DEFAULT_TIMEOUT = 15.0


def builddir():
    if os.environ.get("GOSSIP_EXAMPLES_BUILDDIR"):
        return os.environ["GOSSIP_EXAMPLES_BUILDDIR"]
    if os.environ.get("GOSSIP_TEST_BUILDDIR"):
        return os.path.dirname(os.path.abspath(os.environ["GOSSIP_TEST_BUILDDIR"]))
    return os.getcwd()


def program(example):
    return os.path.join(builddir(), "examples", example, "gossip-" + example)


_used_ports = set()


def free_port():
    """A port free for both TCP and UDP on 127.0.0.1, not handed out before."""
    for _ in range(100):
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            tcp.bind(("127.0.0.1", 0))
            port = tcp.getsockname()[1]
            udp.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            tcp.close()
            udp.close()
        if port not in _used_ports:
            _used_ports.add(port)
            return port
    raise Failure("no free port on 127.0.0.1")


class Failure(Exception):
    pass


class Node:
    """One example program, its stdin, its stdout lines."""

    def __init__(self, example, name, args):
        self.name = name
        self.lines = []
        self.cursor = 0  # expect() looks at lines from here on
        self.eof = False
        self.cond = threading.Condition()
        self.stderr = tempfile.TemporaryFile(mode="w+")
        env = dict(os.environ)
        env.setdefault("GOSSIP_PLUGIN_PATH", os.path.join(builddir(), "plugins"))
        path = program(example)
        if not os.access(path, os.X_OK):
            raise Failure("%s is not built (run make first)" % path)
        self.argv = [path] + list(args)
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.stderr, env=env, text=True, bufsize=1)
        self.pid = self.proc.pid
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            with self.cond:
                self.lines.append(line.rstrip("\n"))
                self.cond.notify_all()
        with self.cond:
            self.eof = True
            self.cond.notify_all()

    def rewind(self):
        """Makes expect() look at everything printed so far again."""
        with self.cond:
            self.cursor = 0

    def send(self, line):
        try:
            self.proc.stdin.write(line + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError) as e:
            raise Failure("%s: cannot send %r: %s" % (self.name, line, e))

    def close_stdin(self):
        if not self.proc.stdin.closed:
            self.proc.stdin.close()

    def signal(self, sig):
        if self.proc.poll() is None:
            os.kill(self.pid, sig)

    def _find(self, regex, start):
        for i in range(start, len(self.lines)):
            m = regex.search(self.lines[i])
            if m:
                return i, m
        return None, None

    def expect(self, pattern, timeout=DEFAULT_TIMEOUT):
        """Waits for a line matching @pattern after the cursor; moves the cursor past it."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                i, m = self._find(regex, self.cursor)
                if m:
                    self.cursor = i + 1
                    return m
                left = deadline - time.monotonic()
                if left <= 0 or self.eof:
                    raise Failure("%s: no line matching %r within %.0f s%s\n%s" % (
                        self.name, pattern, timeout, " (output ended)" if self.eof else "",
                        self.tail()))
                self.cond.wait(left)

    def expect_all(self, patterns, timeout=DEFAULT_TIMEOUT):
        """Waits until every pattern matches some line after the cursor, in any order."""
        regexes = [re.compile(p) for p in patterns]
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                found = [self._find(r, self.cursor)[0] for r in regexes]
                if None not in found:
                    self.cursor = max(found) + 1
                    return
                left = deadline - time.monotonic()
                if left <= 0 or self.eof:
                    missing = [p for p, f in zip(patterns, found) if f is None]
                    raise Failure("%s: no lines matching %r within %.0f s\n%s" % (
                        self.name, missing, timeout, self.tail()))
                self.cond.wait(left)

    def command(self, line, end_pattern, timeout=DEFAULT_TIMEOUT):
        """Sends @line, waits for its last line; returns the lines it printed."""
        with self.cond:
            start = len(self.lines)
            self.cursor = start
        self.send(line)
        self.expect(end_pattern, timeout)
        with self.cond:
            return self.lines[start:self.cursor]

    def poll(self, line, pattern, timeout=DEFAULT_TIMEOUT, interval=0.3):
        """Sends @line every @interval until a line matching @pattern follows."""
        deadline = time.monotonic() + timeout
        while True:
            self.send(line)
            try:
                return self.expect(pattern, interval)
            except Failure:
                if time.monotonic() >= deadline or self.eof:
                    raise Failure("%s: %r never printed %r within %.0f s\n%s" % (
                        self.name, line, pattern, timeout, self.tail()))

    def peers(self, want_nodes, want_alive, timeout=DEFAULT_TIMEOUT):
        """Polls `peers` until the footer counts match; returns {id: (address, state, meta)}."""
        footer = r"^peers: %d nodes, %d alive$" % (want_nodes, want_alive)
        deadline = time.monotonic() + timeout
        while True:
            lines = self.command("peers", r"^peers: \d+ nodes, \d+ alive$",
                                 max(1.0, deadline - time.monotonic()))
            if re.match(footer, lines[-1]):
                table = {}
                for row in lines:
                    m = re.match(r"^member (\S+) +(\S+) +(\S+) *(.*)$", row)
                    if m:
                        table[m.group(1)] = (m.group(2), m.group(3), m.group(4))
                return table
            if time.monotonic() >= deadline:
                raise Failure("%s: peers never showed %r\n%s" % (self.name, footer, self.tail()))
            time.sleep(0.3)

    def wait_exit(self, timeout=DEFAULT_TIMEOUT):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise Failure("%s: still running after %.0f s\n%s" % (self.name, timeout,
                                                                  self.tail()))

    def kill(self):
        if self.proc.poll() is None:
            os.kill(self.pid, signal.SIGKILL)
            self.proc.wait(5)
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except OSError:
                pass
        self.reader.join(5)

    def stderr_problems(self):
        """Lines of stderr that show a bug: GLib criticals, sanitizer reports."""
        self.stderr.flush()
        self.stderr.seek(0)
        return [l for l in self.stderr.read().splitlines()
                if re.search(r"CRITICAL|AddressSanitizer|LeakSanitizer|runtime error:", l)]

    def tail(self, n=25):
        self.stderr.flush()
        self.stderr.seek(0)
        err = self.stderr.read().splitlines()[-n:]
        return "  %s stdout:\n%s\n  %s stderr:\n%s" % (
            self.name, "\n".join("    " + l for l in self.lines[-n:]), self.name,
            "\n".join("    " + l for l in err))


class Suite:
    """Test functions taking the suite; TAP on stdout; processes killed after each."""

    def __init__(self, example, time_limit=90):
        self.example = example
        self.tests = []
        self.nodes = []
        self.time_limit = time_limit
        atexit.register(self.kill_all)

    def test(self, fn):
        self.tests.append(fn)
        return fn

    def node(self, name, *args):
        n = Node(self.example, name, [str(a) for a in args])
        self.nodes.append(n)
        return n

    def kill_all(self):
        for n in self.nodes:
            n.kill()
        self.nodes = []

    def _alarm(self, signum, frame):
        raise Failure("the whole test took more than %d s" % self.time_limit)

    def run(self):
        failed = 0
        print("1..%d" % len(self.tests), flush=True)
        signal.signal(signal.SIGALRM, self._alarm)
        signal.alarm(self.time_limit)
        for i, fn in enumerate(self.tests, 1):
            started = time.monotonic()
            try:
                fn(self)
                for n in self.nodes:
                    problems = n.stderr_problems()
                    if problems:
                        raise Failure("%s's stderr:\n%s" % (n.name, "\n".join(problems[:20])))
                print("ok %d - %s (%.1f s)" % (i, fn.__name__, time.monotonic() - started),
                      flush=True)
            except Exception as e:  # noqa: BLE001 -- every failure is reported as TAP
                failed += 1
                print("not ok %d - %s" % (i, fn.__name__))
                detail = str(e) if isinstance(e, Failure) else traceback.format_exc()
                for line in detail.splitlines():
                    print("# " + line)
                sys.stdout.flush()
            finally:
                self.kill_all()
        signal.alarm(0)
        sys.exit(1 if failed else 0)


def start_cluster(suite, count=3, web=False, extra=(), chain=False, converge=False):
    """Nodes n1..nCOUNT on free ports, TCP/UDP or (@web) WebSocket, each joining
    n1 (@chain: the node before it), with @extra options; sets node.address.
    With @converge, returns once every node's `peers` lists all alive."""
    nodes = []
    for i in range(count):
        port = free_port()
        name = "n%d" % (i + 1)
        address = ("ws://127.0.0.1:%d/gossip" if web else "127.0.0.1:%d") % port
        args = list(extra) + ["--web-port" if web else "--port", port, "--node-id", name]
        if nodes:
            args += ["--peers", (nodes[-1] if chain else nodes[0]).address]
        n = suite.node(name, *args)
        n.address = address
        n.expect(r"^node %s listening on %s$" % (name, re.escape(address)))
        if nodes:
            n.expect(r"^joined 1$")
        nodes.append(n)
    for n in nodes if converge else ():
        n.peers(count, count)
    return nodes


def ensure(condition, message):
    if not condition:
        raise Failure(message)

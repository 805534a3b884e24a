"""Shared harness for the end-to-end tests: a real Wharf broker per test.

Each test gets its own temporary data directory and a broker listening on a
port the kernel picked (``--kafka-listen 127.0.0.1:0``; the broker logs the
real port). A broker can be stopped cleanly (SIGTERM), killed (SIGKILL) and
started again on the same data directory and port, which is what the
durability tests need. The broker's log lives in the temporary directory and
is printed only when a test fails, so a passing run stays quiet.

The broker binary comes from $WHARF_BIN (set by tests/e2e/CMakeLists.txt),
falling back to build/wharf for running a file by hand.
"""

import ctypes
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WHARF_BIN = os.environ.get("WHARF_BIN", os.path.join(REPO_ROOT, "build", "wharf"))

# Generous: the suite runs two test files at once on two shared cores, so a
# slow start must not look like a broken one.
START_TIMEOUT_S = 30
STOP_TIMEOUT_S = 30

_PORT_LINE = re.compile(r"kafka listening on \S+ \(port (\d+)\)")
_libc = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG = 1


def die_with_parent():
    """preexec_fn for children: SIGKILL them if this process dies.

    When ctest kills a test that ran past its TIMEOUT, its brokers (and
    member processes) must not live on holding ports and temp dirs.
    """
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def wait_until(predicate, timeout_s, what, interval_s=0.05):
    """Polls predicate until it returns something truthy and returns that.

    Raises AssertionError naming `what` when the deadline passes, so a test
    that waits for a condition fails with a sentence, not a hang.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        time.sleep(interval_s)


class Broker:
    """One wharf process over one data directory.

    The data directory and the log survive stop()/kill()/start() so a test
    can restart the broker on the same data; the port chosen by the first
    start() is reused by later ones so clients can reconnect to the same
    bootstrap address. close() stops the process and removes the directory.
    """

    def __init__(self, root, extra_args=()):
        self.root = root
        self.data_dir = os.path.join(root, "data")
        self.log_path = os.path.join(root, "wharf.log")
        self.extra_args = list(extra_args)
        self.port = 0
        self.proc = None
        self.starts = 0
        self._saved_log = ""

    @property
    def bootstrap(self):
        return f"127.0.0.1:{self.port}"

    def start(self):
        assert self.proc is None, "broker already running"
        self.starts += 1
        # Append: after a restart the log shows every life of the broker.
        log = open(self.log_path, "ab")
        log.write(f"===== wharf start #{self.starts} =====\n".encode())
        log.flush()
        offset = log.tell()
        args = [WHARF_BIN, "serve", "--data-dir", self.data_dir,
                "--kafka-listen", f"127.0.0.1:{self.port}",
                # AMQP on a kernel-chosen port: 5672 may be taken by another broker or test.
                "--amqp-listen", "127.0.0.1:0", "--stomp-listen", "127.0.0.1:0", "--stomp-ws-listen", "127.0.0.1:0",
                "--shards", "2"] + self.extra_args
        self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     preexec_fn=die_with_parent)
        log.close()

        def listening_port():
            if self.proc.poll() is not None:
                raise AssertionError(f"wharf exited with {self.proc.returncode} during start-up")
            with open(self.log_path, "rb") as f:
                f.seek(offset)
                m = _PORT_LINE.search(f.read().decode(errors="replace"))
            return int(m.group(1)) if m else None

        port = wait_until(listening_port, START_TIMEOUT_S, "wharf to log its port")
        assert self.port in (0, port), f"restarted on port {port}, expected {self.port}"
        self.port = port
        wait_until(self._accepts, START_TIMEOUT_S, f"wharf to accept connections on {self.bootstrap}")
        return self

    def _accepts(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        """SIGTERM and wait; returns the exit code (0 is a clean shutdown)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            code = "hung on SIGTERM, killed"
        self.proc = None
        return code

    def kill(self):
        """SIGKILL: the broker gets no chance to flush or close anything."""
        if self.proc is None:
            return
        self.proc.kill()
        self.proc.wait()
        self.proc = None

    def restart(self, hard=False):
        """Stops (SIGTERM, or SIGKILL when hard) and starts on the same data dir and port."""
        if hard:
            self.kill()
        else:
            code = self.stop()
            assert code == 0, f"wharf did not stop cleanly on SIGTERM: exit {code}"
        return self.start()

    def log(self):
        if os.path.exists(self.log_path):
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        return self._saved_log

    def close(self):
        if self.proc is not None:
            self.kill()
        self._saved_log = self.log()
        shutil.rmtree(self.root, ignore_errors=True)


class BrokerTestCase(unittest.TestCase):
    """Starts a fresh broker before each test and checks it afterwards.

    Subclasses may set BROKER_ARGS (extra `wharf serve` flags). After each
    test the broker must still be running (a crash is a failure even if the
    clients did not notice) and must stop cleanly on SIGTERM.
    """

    BROKER_ARGS = ()

    def setUp(self):
        root = tempfile.mkdtemp(prefix="wharf-e2e-")
        self.broker = Broker(root, self.BROKER_ARGS)
        self.addCleanup(self.broker.close)
        self.broker.start()

    def tearDown(self):
        if self.broker.proc is None:
            return  # the test stopped or killed it on purpose and did not restart
        self.assertTrue(self.broker.running(), f"wharf died during the test: exit {self.broker.proc.returncode}")
        code = self.broker.stop()
        self.assertEqual(code, 0, "wharf did not stop cleanly on SIGTERM")

    def unique(self, prefix):
        """A topic or group name no other test in this process uses."""
        BrokerTestCase._counter = getattr(BrokerTestCase, "_counter", 0) + 1
        return f"{prefix}-{os.getpid()}-{BrokerTestCase._counter}"


class _LogOnFailureResult(unittest.TextTestResult):
    """Prints the broker's log under a failing test's report."""

    def _dump(self, test):
        broker = getattr(test, "broker", None)
        if broker is not None:
            self.stream.writeln(f"----- wharf log for {test.id()} -----")
            self.stream.writeln(broker.log())
            self.stream.writeln("----- end of wharf log -----")
            self.stream.flush()

    def addError(self, test, err):
        super().addError(test, err)
        self._dump(test)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._dump(test)

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            self._dump(test)


def main():
    """unittest.main with the broker log printed for each failure."""
    if not os.access(WHARF_BIN, os.X_OK):
        sys.exit(f"wharf binary not found at {WHARF_BIN}; build it or set WHARF_BIN")
    runner = unittest.TextTestRunner(resultclass=_LogOnFailureResult, verbosity=2, stream=sys.stdout)
    unittest.main(testRunner=runner)

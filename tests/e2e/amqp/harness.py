"""Test harness for the AMQP end-to-end tests.

Starts a private Wharf broker (binary from $WHARF_BIN) with its own temporary
data directory on kernel-chosen ports, learns the AMQP port from the
"amqp listening on ... (port N)" log line (binding port 0 in the broker avoids
racing for a free port), and stops it with SIGTERM. The broker's output is
printed when a test ends, so ctest --output-on-failure shows it next to the
failure.

Run with Debian's /usr/bin/python3, which has python3-pika.
"""

import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

try:
    import pika  # noqa: F401  (imported here so a missing client fails loudly)
except ImportError as e:  # pragma: no cover
    raise SystemExit(f"python3-pika is not installed (apt-get install python3-pika; scripts/deps.sh test): {e}")

READY_TIMEOUT_S = 15
STOP_TIMEOUT_S = 15


def wharf_bin():
    b = os.environ.get("WHARF_BIN")
    if not b:
        raise SystemExit("WHARF_BIN is not set: point it at build/wharf (ctest does this)")
    if not os.path.exists(b):
        raise SystemExit(f"WHARF_BIN={b} does not exist; build the wharf target")
    return b


class Broker:
    def __init__(self, *extra_args):
        self.extra_args = list(extra_args)
        self.data_dir = tempfile.mkdtemp(prefix="wharf-amqp-e2e-")
        self.lines = []
        self.port = None
        self.proc = None
        self._drainer = None
        self._lock = threading.Lock()

    def start(self):
        args = [wharf_bin(), "serve", "--data-dir", self.data_dir, "--kafka-listen", "127.0.0.1:0",
                "--amqp-listen", "127.0.0.1:0", "--shards", "2", *self.extra_args]
        self.lines.append("$ " + " ".join(args))
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self._drainer = threading.Thread(target=self._drain, daemon=True)
        self._drainer.start()
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            with self._lock:
                for line in self.lines:
                    m = re.search(r"amqp listening on \S+ \(port (\d+)\)", line)
                    if m:
                        self.port = int(m.group(1))
                        return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        raise RuntimeError("broker did not report its AMQP port:\n" + self.output())

    def _drain(self):
        for line in self.proc.stdout:
            with self._lock:
                self.lines.append(line.rstrip("\n"))

    def wait_for(self, text, timeout=5.0):
        """True once `text` appears in the broker's output (read by another thread)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.output():
                return True
            time.sleep(0.02)
        return False

    def output(self):
        with self._lock:
            return "\n".join(self.lines)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self._drainer.join(5)  # the last lines are in once stdout hit EOF
        shutil.rmtree(self.data_dir, ignore_errors=True)
        return self.proc.returncode if self.proc else None

    def params(self, **kw):
        kw.setdefault("host", "127.0.0.1")
        kw.setdefault("port", self.port)
        kw.setdefault("connection_attempts", 1)
        kw.setdefault("blocked_connection_timeout", None)
        return pika.ConnectionParameters(**kw)


class BrokerTest(unittest.TestCase):
    """Each test gets its own broker; its log is printed after the test."""

    broker_args = ()

    def setUp(self):
        self.broker = Broker(*self.broker_args).start()

    def tearDown(self):
        code = self.broker.stop()
        print(f"--- broker output ({self.id()}) ---\n{self.broker.output()}\n--- end ---", file=sys.stdout)
        self.assertEqual(code, 0, "broker did not stop cleanly on SIGTERM")
        self.assertIn("stopped cleanly", self.broker.output())


# ---- a raw AMQP client, for what pika will not do (garbage, going silent) ----

FRAME_END = b"\xce"


def frame(ftype, channel, payload):
    return struct.pack(">BHI", ftype, channel, len(payload)) + payload + FRAME_END


def shortstr(s):
    b = s.encode()
    return struct.pack(">B", len(b)) + b


def longstr(b):
    return struct.pack(">I", len(b)) + b


def method(channel, class_id, method_id, args=b""):
    return frame(1, channel, struct.pack(">HH", class_id, method_id) + args)


def read_frame(sock, timeout=5.0):
    """Returns (type, channel, payload), or None when the socket closed."""
    sock.settimeout(timeout)
    head = _read_exactly(sock, 7)
    if head is None:
        return None
    ftype, channel, size = struct.unpack(">BHI", head)
    rest = _read_exactly(sock, size + 1)
    if rest is None:
        return None
    assert rest[-1:] == FRAME_END, "bad frame end from the broker"
    return ftype, channel, rest[:-1]


def _read_exactly(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def method_ids(payload):
    return struct.unpack(">HH", payload[:4])


def raw_handshake(port, heartbeat):
    """Connects as guest and opens vhost "/" with the given heartbeat."""
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"AMQP\x00\x00\x09\x01")
    f = read_frame(s)
    assert f and method_ids(f[2]) == (10, 10), f  # connection.start
    start_ok = longstr(b"") + shortstr("PLAIN") + longstr(b"\x00guest\x00guest") + shortstr("en_US")
    s.sendall(method(0, 10, 11, start_ok))
    f = read_frame(s)
    assert f and method_ids(f[2]) == (10, 30), f  # connection.tune
    s.sendall(method(0, 10, 31, struct.pack(">HIH", 0, 0, heartbeat)))
    s.sendall(method(0, 10, 40, shortstr("/") + shortstr("") + b"\x00"))
    f = read_frame(s)
    assert f and method_ids(f[2]) == (10, 41), f  # connection.open-ok
    return s

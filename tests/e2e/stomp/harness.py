"""Test harness for the STOMP end-to-end tests.

The broker side is ../amqp/harness.py's Broker and BrokerTest (a private
wharf on kernel-chosen ports; Broker.stomp_port is its STOMP listener). It is
loaded under the name `amqp_harness` because this file is also `harness`.

Clients: Debian's python3-stomp (stomp.py 8.0) where it can express the test,
and RawStomp, a small socket client, for framing edge cases stomp.py will not
produce. Nothing here measures time: tests wait for a condition up to a
deadline (wait_until) and assert on what arrived.

Run with Debian's /usr/bin/python3 (python3-stomp, python3-pika).
"""

import importlib.util
import os
import socket
import sys
import threading
import time

try:
    import stomp
    import stomp.exception
except ImportError as e:  # pragma: no cover
    raise SystemExit(f"python3-stomp is not installed (apt-get install python3-stomp): {e}")

_AMQP_HARNESS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "amqp", "harness.py")
_spec = importlib.util.spec_from_file_location("amqp_harness", _AMQP_HARNESS)
amqp_harness = importlib.util.module_from_spec(_spec)
sys.modules["amqp_harness"] = amqp_harness
_spec.loader.exec_module(amqp_harness)

Broker = amqp_harness.Broker
uniq = amqp_harness.uniq
add_vhost = amqp_harness.add_vhost
add_user = amqp_harness.add_user

# How long a test waits for something that should happen: generous, as the
# machine may be loaded; a pass never waits this long.
WAIT_S = 10.0
# How long a test waits to be fairly sure something does NOT happen.
QUIET_S = 0.5


def wait_until(cond, timeout=WAIT_S, interval=0.01):
    """Polls cond() until it is truthy (returned) or the deadline passes (its last value returned)."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)


class Collector(stomp.ConnectionListener):
    """Records everything a stomp.py connection receives, for tests to wait on."""

    def __init__(self):
        self.lock = threading.Lock()
        self.messages = []   # stomp.utils.Frame, in arrival order
        self.errors = []
        self.receipts = []   # receipt-id values
        self.heartbeats = 0
        self.connected = None
        self.disconnected = False
        self.heartbeat_timeout = False

    def on_connected(self, frame):
        with self.lock:
            self.connected = frame

    def on_message(self, frame):
        with self.lock:
            self.messages.append(frame)

    def on_error(self, frame):
        with self.lock:
            self.errors.append(frame)

    def on_receipt(self, frame):
        with self.lock:
            self.receipts.append(frame.headers.get("receipt-id"))

    def on_heartbeat(self):
        with self.lock:
            self.heartbeats += 1

    def on_disconnected(self):
        with self.lock:
            self.disconnected = True

    def on_heartbeat_timeout(self):
        with self.lock:
            self.heartbeat_timeout = True

    def bodies(self):
        with self.lock:
            return [m.body for m in self.messages]

    def wait_messages(self, n, timeout=WAIT_S):
        """The first n messages (fewer if they did not come in time: the caller's assert says so)."""
        wait_until(lambda: len(self.messages) >= n, timeout)
        with self.lock:
            return list(self.messages)

    def wait_receipt(self, rid, timeout=WAIT_S):
        return wait_until(lambda: rid in self.receipts, timeout)

    def wait_error(self, timeout=WAIT_S):
        wait_until(lambda: self.errors, timeout)
        with self.lock:
            return self.errors[0] if self.errors else None

    def take(self):
        """Messages so far, and forgets them."""
        with self.lock:
            got, self.messages = self.messages, []
            return got


_CONNECTIONS = {"1.0": stomp.Connection10, "1.1": stomp.Connection11, "1.2": stomp.Connection12}


class StompTest(amqp_harness.BrokerTest):
    """BrokerTest with stomp.py and raw-socket STOMP clients closed after each test."""

    def setUp(self):
        self._stomp = []
        self._raw = []
        super().setUp()

    def tearDown(self):
        for c in self._stomp:
            try:
                if c.is_connected():
                    c.disconnect()
            except Exception:
                pass  # a test that broke a connection on purpose
        for r in self._raw:
            r.close()
        super().tearDown()

    def stomp(self, version="1.2", login="guest", passcode="guest", heartbeats=(0, 0), headers=None,
              wait=True, auto_decode=True):
        """A connected stomp.py connection and its Collector."""
        cls = _CONNECTIONS[version]
        kw = {"heartbeats": heartbeats} if version != "1.0" else {}
        headers = dict(headers or {})
        if "host" in headers:
            # stomp.py overwrites a host header with its vhost setting.
            kw["vhost"] = headers.pop("host")
        conn = cls([(self.broker.host, self.broker.stomp_port)], auto_decode=auto_decode, **kw)
        listener = Collector()
        conn.set_listener("collector", listener)
        self._stomp.append(conn)
        conn.connect(login, passcode, wait=wait, headers=headers)
        return conn, listener

    def raw(self, connect=None, version="1.2", host="/"):
        """A RawStomp; with connect=True it has sent CONNECT and read CONNECTED."""
        r = RawStomp(self.broker.host, self.broker.stomp_port)
        self._raw.append(r)
        r.escaped = version != "1.0"
        if connect:
            r.send_frame("CONNECT", [("accept-version", version), ("host", host), ("login", "guest"),
                                     ("passcode", "guest")])
            f = r.read_frame()
            self.assertIsNotNone(f, "no answer to CONNECT")
            self.assertEqual(f.command, "CONNECTED", f)
        return r

    def bye(self, conn, listener):
        """DISCONNECT with a receipt, waited for: the broker has ended the connection's
        subscriptions (unacked messages are back in their queues) and stored what it sent."""
        rid = uniq("bye")
        conn.disconnect(receipt=rid)
        self.assertTrue(listener.wait_receipt(rid), "no RECEIPT for DISCONNECT")

    def send_receipted(self, conn, listener, destination, body, **headers):
        """SEND with a receipt, waited for: the broker has taken the message."""
        rid = uniq("r")
        conn.send(destination, body, headers=headers, receipt=rid)
        self.assertTrue(listener.wait_receipt(rid), f"no RECEIPT for SEND to {destination}")

    def subscribe_receipted(self, conn, listener, destination, sub_id, ack="auto", **headers):
        """SUBSCRIBE and wait for its receipt, so the subscription is in place before anything is sent."""
        rid = uniq("r")
        conn.subscribe(destination, sub_id, ack=ack, headers=dict(headers, receipt=rid))
        self.assertTrue(listener.wait_receipt(rid), f"no RECEIPT for SUBSCRIBE to {destination}")


# ---- a raw STOMP client, for framing the libraries will not produce ----

class RawFrame:
    def __init__(self, command, headers, body):
        self.command = command
        self.headers = headers  # [(name, value)] as on the wire, in order (escapes undone per version)
        self.body = body        # bytes

    def header(self, name):
        for n, v in self.headers:
            if n == name:
                return v
        return None

    def __repr__(self):
        return f"RawFrame({self.command!r}, {self.headers!r}, {self.body[:200]!r})"


_UNESCAPE = {"n": "\n", "r": "\r", "c": ":", "\\": "\\"}


def unescape(s):
    out, i = [], 0
    while i < len(s):
        if s[i] == "\\" and i + 1 < len(s):
            out.append(_UNESCAPE.get(s[i + 1], "\\" + s[i + 1]))
            i += 2
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def escape(s):
    return s.replace("\\", "\\\\").replace("\r", "\\r").replace("\n", "\\n").replace(":", "\\c")


class RawStomp:
    """A STOMP client over a plain socket: writes bytes as given, parses what comes back."""

    def __init__(self, host, port):
        self.sock = socket.create_connection((host, port))
        self.buf = b""
        self.eof = False
        self.heartbeats = 0  # EOLs seen between frames
        self.escaped = True  # 1.1/1.2 header escaping on received frames (set False for 1.0)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data):
        self.sock.sendall(data)

    def send_frame(self, command, headers=(), body=b"", content_length=None):
        """Frame with headers as given (not escaped); content_length=True adds the right one."""
        if isinstance(body, str):
            body = body.encode()
        lines = [command] + [f"{n}:{v}" for n, v in headers]
        if content_length:
            lines.append(f"content-length:{len(body)}")
        self.send(("\n".join(lines) + "\n\n").encode() + body + b"\x00")

    def _fill(self, deadline):
        if self.eof:
            return False
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            return False
        except OSError:
            chunk = b""
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def read_frame(self, timeout=WAIT_S):
        """The next frame, or None when the socket closed or the deadline passed (self.eof tells which)."""
        deadline = time.monotonic() + timeout
        while True:
            # Heart-beats: EOLs before a frame.
            while self.buf[:1] in (b"\n", b"\r"):
                if self.buf[:2] == b"\r\n":
                    self.buf = self.buf[2:]
                elif self.buf[:1] == b"\r":
                    break
                else:
                    self.buf = self.buf[1:]
                self.heartbeats += 1
            end = self.buf.find(b"\n\n")
            crlf = self.buf.find(b"\r\n\r\n")
            if end >= 0 or crlf >= 0:
                f = self._parse(deadline)
                if f is not None:
                    return f
            if not self._fill(deadline):
                return None

    def _parse(self, deadline):
        head_end = self.buf.find(b"\n\n")
        sep = 2
        c = self.buf.find(b"\r\n\r\n")
        if c >= 0 and (head_end < 0 or c < head_end):
            head_end, sep = c, 4
        head = self.buf[:head_end].decode().replace("\r\n", "\n").split("\n")
        command, headers = head[0], []
        for line in head[1:]:
            n, _, v = line.partition(":")
            if self.escaped:
                n, v = unescape(n), unescape(v)
            headers.append((n, v))
        start = head_end + sep
        length = next((int(v) for n, v in headers if n == "content-length"), None)
        if length is not None:
            while len(self.buf) < start + length + 1:
                if not self._fill(deadline):
                    return None
            body = self.buf[start:start + length]
            assert self.buf[start + length:start + length + 1] == b"\x00", "frame not NUL-terminated"
            self.buf = self.buf[start + length + 1:]
        else:
            while self.buf.find(b"\x00", start) < 0:
                if not self._fill(deadline):
                    return None
            nul = self.buf.find(b"\x00", start)
            body = self.buf[start:nul]
            self.buf = self.buf[nul + 1:]
        return RawFrame(command, headers, body)

    def wait_closed(self, timeout=WAIT_S):
        """True once the server closed the socket (frames still arriving are read and dropped)."""
        deadline = time.monotonic() + timeout
        while not self.eof and time.monotonic() < deadline:
            self.buf = b""
            self._fill(deadline)
        return self.eof

"""Test harness for the AMQP end-to-end tests.

Starts a private Wharf broker (binary from $WHARF_BIN) with its own temporary
data directory on kernel-chosen ports, learns the AMQP port from the
"amqp listening on ... (port N)" log line (binding port 0 in the broker avoids
racing for a free port), and stops it with SIGTERM. The broker's output is
printed when a test ends, so ctest --output-on-failure shows it next to the
failure.

External mode: with WHARF_E2E_AMQP_URL=host:port the tests run against a broker
that is already running there (a real RabbitMQ, to check that the assertions
describe RabbitMQ's behaviour) and no wharf is started. Tests that need to
restart or kill the broker, read its log or run its CLI call
require_own_broker() and are skipped in that mode. Names come from uniq(), so
runs against one long-lived broker do not see each other's queues, and what a
test declared is deleted afterwards. Users and vhosts are made with
$WHARF_E2E_RABBITMQCTL (e.g. "rabbitmqctl -n rabbit@host") in that mode.

Run with Debian's /usr/bin/python3, which has python3-pika.
"""

import ctypes
import itertools
import os
import re
import shlex
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
import uuid

try:
    import pika  # noqa: F401  (imported here so a missing client fails loudly)
    import pika.exceptions
except ImportError as e:  # pragma: no cover
    raise SystemExit(f"python3-pika is not installed (apt-get install python3-pika; scripts/deps.sh test): {e}")

READY_TIMEOUT_S = 15
STOP_TIMEOUT_S = 15

EXTERNAL = os.environ.get("WHARF_E2E_AMQP_URL", "").strip()

_libc = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG = 1


def _die_with_parent():
    """preexec_fn: SIGKILL the broker if the test process dies (ctest TIMEOUT),
    so no wharf outlives its test holding ports and temp dirs."""
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def wharf_bin():
    b = os.environ.get("WHARF_BIN")
    if not b:
        raise SystemExit("WHARF_BIN is not set: point it at build/wharf (ctest does this)")
    if not os.path.exists(b):
        raise SystemExit(f"WHARF_BIN={b} does not exist; build the wharf target")
    return b


def external_address():
    """(host, port) from WHARF_E2E_AMQP_URL=host:port (an amqp:// prefix is tolerated)."""
    addr = EXTERNAL
    if "://" in addr:
        addr = addr.split("://", 1)[1]
    addr = addr.rsplit("@", 1)[-1].split("/", 1)[0]
    host, _, port = addr.rpartition(":")
    if not host or not port.isdigit():
        raise SystemExit(f"WHARF_E2E_AMQP_URL={EXTERNAL!r}: expected host:port")
    return host, int(port)


_names = itertools.count(1)


def uniq(prefix):
    """A name no other test (in this run or an earlier one on an external broker) uses."""
    return f"e2e.{prefix}.{os.getpid()}.{next(_names)}.{uuid.uuid4().hex[:6]}"


def wharf_only(why):
    """Decorator for tests of Wharf specifics (its log, product name, signals,
    or where it is deliberately stricter than RabbitMQ): skipped in external mode."""
    return unittest.skipIf(bool(EXTERNAL), f"Wharf-specific ({why}); WHARF_E2E_AMQP_URL points at another broker")


class Broker:
    """One broker: a private wharf over its own data directory, or the external one.

    The data directory outlives kill9()/restart() so a restarted wharf sees what
    the killed one stored; stop() removes it.
    """

    def __init__(self, *extra_args):
        self.external = bool(EXTERNAL)
        self.extra_args = list(extra_args)
        self.data_dir = None if self.external else tempfile.mkdtemp(prefix="wharf-amqp-e2e-")
        self.host = "127.0.0.1"
        self.lines = []
        self.port = None
        self.stomp_port = None  # STOMP over TCP
        self.ws_port = None     # STOMP over WebSocket (None when off)
        self.proc = None
        self._drainer = None
        self._lock = threading.Lock()

    def start(self):
        if self.external:
            self.host, self.port = external_address()
            return self
        args = [wharf_bin(), "serve", "--data-dir", self.data_dir, "--kafka-listen", "127.0.0.1:0",
                "--amqp-listen", "127.0.0.1:0", "--stomp-listen", "127.0.0.1:0", "--stomp-ws-listen", "127.0.0.1:0", "--shards", "2", *self.extra_args]
        with self._lock:
            self.lines.append("$ " + " ".join(args))
            first_line = len(self.lines)  # a restart must not read the previous run's port
        self.port = None
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     preexec_fn=_die_with_parent)
        self._drainer = threading.Thread(target=self._drain, args=(self.proc,), daemon=True)
        self._drainer.start()
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            with self._lock:
                ports = {}
                for line in self.lines[first_line:]:
                    m = re.search(r"(amqp|stomp|stomp websocket) listening on \S+ \(port (\d+)\)", line)
                    if m:
                        ports[m.group(1)] = int(m.group(2))
                # The STOMP lines follow the AMQP one; WebSocket's only when it is on.
                if "amqp" in ports and "stomp" in ports:
                    self.port = ports["amqp"]
                    self.stomp_port = ports["stomp"]
                    self.ws_port = ports.get("stomp websocket")
                    return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        raise RuntimeError("broker did not report its AMQP port:\n" + self.output())

    def _drain(self, proc):
        for line in proc.stdout:
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
        if self.external:
            return f"(external broker at {EXTERNAL}: its log is not collected)"
        with self._lock:
            return "\n".join(self.lines)

    def kill9(self):
        """SIGKILL: the broker gets no chance to flush or close anything. Keeps the data dir."""
        assert not self.external, "kill9() needs a broker this harness started"
        self.proc.kill()
        self.proc.wait()
        self._drainer.join(5)
        with self._lock:
            self.lines.append(f"--- killed with SIGKILL (exit {self.proc.returncode}) ---")

    def restart(self):
        """Starts wharf again on the same data dir (after kill9() or a stop(keep_data=True)).
        The AMQP port is a new kernel-chosen one: call params() again."""
        assert not self.external, "restart() needs a broker this harness started"
        assert self.proc.poll() is not None, "restart() of a running broker: kill9() it first"
        return self.start()

    def stop(self, keep_data=False):
        """SIGTERM and wait; returns the exit code (None in external mode)."""
        if self.external:
            return None
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self._drainer.join(5)  # the last lines are in once stdout hit EOF
        if not keep_data:
            shutil.rmtree(self.data_dir, ignore_errors=True)
        return self.proc.returncode if self.proc else None

    def params(self, **kw):
        kw.setdefault("host", self.host)
        kw.setdefault("port", self.port)
        kw.setdefault("connection_attempts", 1)
        kw.setdefault("blocked_connection_timeout", None)
        return pika.ConnectionParameters(**kw)

    def url(self, user="guest", password="guest", vhost=None):
        """An amqp:// URL for rabbitmq-c's command line tools (amqp-tools)."""
        from urllib.parse import quote
        u = f"amqp://{quote(user, safe='')}:{quote(password, safe='')}@{self.host}:{self.port}"
        if vhost is not None:
            u += "/" + quote(vhost, safe="")
        return u


# ---- users, vhosts and permissions (set up before the broker starts) ----

# What add_user/add_vhost made on the external broker, removed by BrokerTest.
_external_made = []


def _rabbitmqctl(*args):
    ctl = os.environ.get("WHARF_E2E_RABBITMQCTL")
    if not ctl:
        raise unittest.SkipTest("external mode needs WHARF_E2E_RABBITMQCTL (e.g. \"rabbitmqctl -n rabbit@host\") "
                                "to create users and vhosts")
    r = subprocess.run(shlex.split(ctl) + list(args), capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f"{ctl} {' '.join(args)} failed ({r.returncode}):\n{r.stdout}{r.stderr}")


def _wharf_cli(*args):
    r = subprocess.run([wharf_bin(), *args], capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        raise RuntimeError(f"wharf {' '.join(args)} failed ({r.returncode}):\n{r.stdout}{r.stderr}")


def add_vhost(data_dir, name):
    """Creates vhost `name`: offline on a stopped wharf's data dir, or with rabbitmqctl."""
    if EXTERNAL:
        _rabbitmqctl("add_vhost", name)
        _external_made.append(("vhost", name))
    else:
        _wharf_cli("vhost", "add", "--data-dir", data_dir, name)


def add_user(data_dir, name, password, vhost=None, configure=None, write=None, read=None):
    """Creates a user and, when vhost is given, grants it the three permission regexes there.

    The vhost must exist already ("/" always does; add_vhost makes others). With
    vhost=None the user has no access to any vhost.
    """
    if EXTERNAL:
        _rabbitmqctl("add_user", name, password)
        _external_made.append(("user", name))
        if vhost is not None:
            _rabbitmqctl("set_permissions", "-p", vhost, name, configure, write, read)
    else:
        _wharf_cli("user", "add", "--data-dir", data_dir, name, password)
        if vhost is not None:
            _wharf_cli("permissions", "set", "--data-dir", data_dir, "--vhost", vhost, name, configure, write, read)


def _stop_and_check(broker, label):
    """Stops a harness-started broker; returns what was wrong with its stop, or None."""
    if broker.external:
        return None
    code = broker.stop()
    print(f"--- broker output ({label}) ---\n{broker.output()}\n--- end ---", file=sys.stdout)
    if code != 0:
        return f"broker did not stop cleanly on SIGTERM (exit {code})"
    if "stopped cleanly" not in broker.output():
        return "broker did not log 'stopped cleanly'"
    return None


def _remove_external_users_and_vhosts():
    while _external_made:
        kind, name = _external_made.pop()
        try:
            _rabbitmqctl(f"delete_{kind}", name)
        except Exception as e:  # cleanup only: report, do not fail the test
            print(f"cleanup: {e}", file=sys.stderr)


class BrokerTest(unittest.TestCase):
    """Each test gets its own broker; its log is printed after the test.

    Subclasses may set broker_args (extra `wharf serve` flags) and override
    the classmethod prepare(broker) to make users and vhosts before the
    broker starts. With shared_broker = True the whole class shares one
    broker (for many small tests that cannot disturb each other, or whose
    set-up is slow); it is checked and stopped after the last test.
    """

    broker_args = ()
    shared_broker = False

    @classmethod
    def prepare(cls, broker):
        """Runs before the broker starts: broker.data_dir exists and is empty (None in external mode)."""

    @classmethod
    def _start_broker(cls):
        broker = Broker(*cls.broker_args)
        try:
            cls.prepare(broker)
            return broker.start()
        except BaseException:
            broker.stop()
            _remove_external_users_and_vhosts()
            raise

    @classmethod
    def setUpClass(cls):
        if cls.shared_broker:
            cls.broker = cls._start_broker()

    @classmethod
    def tearDownClass(cls):
        if cls.shared_broker:
            _remove_external_users_and_vhosts()
            problem = _stop_and_check(cls.broker, cls.__name__)
            if problem:
                raise AssertionError(problem)

    def setUp(self):
        self._connections = []
        self._names = []
        if not self.shared_broker:
            self.broker = self._start_broker()

    def tearDown(self):
        for c in self._connections:
            try:
                if c.is_open:
                    c.close()
            except Exception:
                pass  # a test that broke a connection on purpose
        if self.broker.external:
            self._delete_external_names()
        if self.shared_broker:
            return
        _remove_external_users_and_vhosts()
        problem = _stop_and_check(self.broker, self.id())
        self.assertIsNone(problem)

    def require_own_broker(self, why):
        """Skips the test in external mode: it needs to `why` (restart, kill -9, CLI)."""
        if self.broker.external:
            self.skipTest(f"needs a wharf started by the harness to {why}; WHARF_E2E_AMQP_URL points at an "
                          f"external broker")

    def connect(self, **kw):
        """A BlockingConnection closed after the test."""
        conn = pika.BlockingConnection(self.broker.params(**kw))
        self._connections.append(conn)
        return conn

    def channel(self, **kw):
        """A channel on a new connection."""
        return self.connect(**kw).channel()

    def uniq(self, prefix="q"):
        """A queue/exchange/user name unique to this test; deleted afterwards on an external broker."""
        name = uniq(prefix)
        self._names.append(name)
        return name

    def assertChannelClosed(self, code, fn, *args, **kw):
        """Calls fn and checks that the broker closed the channel with `code`; returns the reply text."""
        with self.assertRaises(pika.exceptions.ChannelClosedByBroker) as ctx:
            fn(*args, **kw)
        self.assertEqual(ctx.exception.reply_code, code, ctx.exception.reply_text)
        return ctx.exception.reply_text

    def _delete_external_names(self):
        if not self._names:
            return
        try:
            conn = pika.BlockingConnection(self.broker.params())
        except Exception as e:
            print(f"cleanup: cannot connect: {e}", file=sys.stderr)
            return
        ch = conn.channel()
        for name in self._names:
            for delete in ("queue_delete", "exchange_delete"):
                try:
                    getattr(ch, delete)(name)
                except Exception:
                    ch = conn.channel()  # e.g. an exclusive queue of a connection still closing
        conn.close()


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


def raw_handshake(port, heartbeat, host="127.0.0.1"):
    """Connects as guest and opens vhost "/" with the given heartbeat."""
    s = socket.create_connection((host, port))
    s.sendall(b"AMQP\x00\x00\x09\x01")
    f = read_frame(s)
    assert f and method_ids(f[2]) == (10, 10), f  # connection.start
    start_ok = longstr(b"") + shortstr("PLAIN") + longstr(b"\x00guest\x00guest") + shortstr("en_US")
    s.sendall(method(0, 10, 11, start_ok))
    f = read_frame(s)
    assert f and method_ids(f[2]) == (10, 30), f  # connection.tune
    # Accept the broker's channel_max and frame_max: RabbitMQ refuses a
    # tune-ok with frame_max 0 ("no limit") as above its maximum.
    channel_max, frame_max, _ = struct.unpack(">HIH", f[2][4:12])
    s.sendall(method(0, 10, 31, struct.pack(">HIH", channel_max, frame_max, heartbeat)))
    s.sendall(method(0, 10, 40, shortstr("/") + shortstr("") + b"\x00"))
    f = read_frame(s)
    assert f and method_ids(f[2]) == (10, 41), f  # connection.open-ok
    return s

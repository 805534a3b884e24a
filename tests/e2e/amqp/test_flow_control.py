"""Resource alarms: a broker whose watermark is already exceeded blocks
publishers, as RabbitMQ does (connection.blocked once a connection publishes;
its socket is no longer read), and leaves connections that do not publish
alone.

The alarms are forced with limits no machine meets (a 1-byte memory high
watermark, a 1 EB disk free limit); that an alarm clears again, and that a
blocked connection is read again afterwards, is covered by the unit tests
(tests/unit/broker/resource_monitor_test.cc, tests/unit/amqp/channel_test.cc).
"""

import socket
import struct
import time

import pika

from harness import BrokerTest, frame, longstr, method, method_ids, read_frame, shortstr, wharf_only

CONNECTION_BLOCKED = (10, 60)


def table(entries):
    """An AMQP field table of booleans and nested tables."""
    out = b""
    for key, value in entries.items():
        if isinstance(value, dict):
            out += shortstr(key) + b"F" + table(value)
        else:
            out += shortstr(key) + b"t" + (b"\x01" if value else b"\x00")
    return longstr(out)


def open_raw(port):
    """A client that says it understands connection.blocked, logged in as guest with vhost "/" open."""
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"AMQP\x00\x00\x09\x01")
    assert method_ids(read_frame(s)[2]) == (10, 10)  # start
    props = table({"capabilities": {"connection.blocked": True, "authentication_failure_close": True}})
    s.sendall(method(0, 10, 11, props + shortstr("PLAIN") + longstr(b"\x00guest\x00guest") + shortstr("en_US")))
    tune = read_frame(s)[2]
    assert method_ids(tune) == (10, 30)
    channel_max, frame_max, _ = struct.unpack(">HIH", tune[4:12])
    s.sendall(method(0, 10, 31, struct.pack(">HIH", channel_max, frame_max, 0)))  # the server's limits, no heartbeats
    s.sendall(method(0, 10, 40, shortstr("/") + shortstr("") + b"\x00"))
    assert method_ids(read_frame(s)[2]) == (10, 41)  # open-ok
    return s


def next_method(sock):
    f = read_frame(sock, timeout=15)
    assert f is not None, "the broker closed the connection"
    assert f[0] == 1, f"expected a method frame, got type {f[0]}"
    return f[1], method_ids(f[2]), f[2][4:]


def publish_frames(channel, routing_key, body):
    args = struct.pack(">H", 0) + shortstr("") + shortstr(routing_key) + b"\x00"
    header = struct.pack(">HHQH", 60, 0, len(body), 0)
    return method(channel, 60, 40, args) + frame(2, channel, header) + frame(3, channel, body)


@wharf_only("forces a resource alarm with `wharf serve` flags; RabbitMQ 3.10 answered the same way with "
            "`rabbitmqctl set_vm_memory_high_watermark absolute 10MB`")
class AlarmTest(BrokerTest):
    reason = None  # set by subclasses

    def test_publisher_is_told_and_held_only_once_it_publishes(self):
        s = open_raw(self.broker.port)
        # Declaring is not publishing: answered, and nothing else arrives
        # first (a connection.blocked sent at connection time would).
        s.sendall(method(1, 20, 10, shortstr("")))
        self.assertEqual(next_method(s)[:2], (1, (20, 11)))  # channel.open-ok
        s.sendall(method(1, 50, 10, struct.pack(">H", 0) + shortstr("held") + b"\x00" + longstr(b"")))
        self.assertEqual(next_method(s)[:2], (1, (50, 11)))  # queue.declare-ok

        s.sendall(publish_frames(1, "held", b"while the alarm is on"))
        channel, ids, args = next_method(s)
        self.assertEqual((channel, ids), (0, CONNECTION_BLOCKED))
        self.assertEqual(args[1:1 + args[0]].decode(), self.reason)
        # The broker stopped reading this socket after the publish.
        self.assertTrue(self.broker.wait_for(f"blocked ({self.reason}): stopped reading after a publish", 15),
                        "the broker did not report the connection as blocked")
        s.close()

    def test_pika_publisher_gets_the_blocked_callback(self):
        # Not self.connect(): closing a held connection would wait for a
        # close-ok from a broker that no longer reads it; stopping the broker
        # ends it.
        conn = pika.BlockingConnection(self.broker.params())
        events = []
        conn.add_on_connection_blocked_callback(lambda _c, f: events.append(("blocked", f.method.reason)))
        conn.add_on_connection_unblocked_callback(lambda _c, _f: events.append(("unblocked",)))
        ch = conn.channel()
        ch.queue_declare("orders")
        self.assertEqual(events, [])  # consuming-side methods are not held
        ch.basic_publish("", "orders", b"o1")
        deadline = time.monotonic() + 15  # a bound so a broken broker fails instead of hanging
        while not events and time.monotonic() < deadline:
            conn.process_data_events(time_limit=0.2)
        self.assertEqual(events, [("blocked", self.reason)])

    def test_consumer_connection_keeps_working(self):
        # A connection that never publishes is never held: synchronous methods
        # get their answers while the alarm is on.
        conn = self.connect()
        events = []
        conn.add_on_connection_blocked_callback(lambda _c, f: events.append(f.method.reason))
        ch = conn.channel()
        ch.queue_declare("work")
        self.assertEqual(ch.basic_get("work"), (None, None, None))
        ch.basic_qos(prefetch_count=5)
        self.assertEqual(events, [])


class MemoryAlarmTest(AlarmTest):
    broker_args = ("--resources-memory-high-watermark-bytes", "1")
    reason = "low on memory"

    def test_alarm_is_logged_at_start(self):
        self.assertTrue(self.broker.wait_for("memory alarm set", 5))
        self.assertIn("high watermark 1 bytes", self.broker.output())


class DiskAlarmTest(AlarmTest):
    broker_args = ("--resources-disk-free-limit-bytes", str(10**18))
    reason = "low on disk"


# The shared cases run only through the two subclasses.
del AlarmTest

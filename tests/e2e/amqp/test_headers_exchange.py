"""The headers exchange: x-match all/any and their -with-x variants, typed values.

One queue per binding; messages carry their name in the body and their own
headers; each queue is read back and compared with the hand-written list of
messages that binding matches. Publishes are confirmed, so routing is done
when basic_publish returns.
"""

import struct
import unittest

import pika

from harness import BrokerTest, frame, method, method_ids, raw_handshake, read_frame, shortstr
from pika_util import get_bodies, queue_counts, wait_until


def raw_publish(host, port, exchange, body, headers_table):
    """Publishes one message whose headers are the given encoded field table,
    with a hand-made client (pika picks the integer width itself), and
    closes the connection cleanly so the publish is processed first."""
    s = raw_handshake(port, heartbeat=0, host=host)
    try:
        s.sendall(method(1, 20, 10, shortstr("")))  # channel.open
        f = read_frame(s)
        assert f and method_ids(f[2]) == (20, 11), f
        s.sendall(method(1, 60, 40, struct.pack(">H", 0) + shortstr(exchange) + shortstr("") + b"\x00"))
        # Content header: class 60, weight 0, body size, flags (headers = bit 13), then the table.
        s.sendall(frame(2, 1, struct.pack(">HHQH", 60, 0, len(body), 0x2000) + headers_table))
        s.sendall(frame(3, 1, body))
        s.sendall(method(0, 10, 50, struct.pack(">H", 200) + shortstr("bye") + struct.pack(">HH", 0, 0)))
        while True:  # until connection.close-ok
            f = read_frame(s)
            assert f is not None, "connection dropped before close-ok"
            if f[0] == 1 and method_ids(f[2]) == (10, 51):
                return
    finally:
        s.close()


class HeadersExchangeTest(BrokerTest):
    def setUp(self):
        super().setUp()
        self.ch = self.channel()
        self.ch.confirm_delivery()
        self.x = self.uniq("x")
        self.ch.exchange_declare(self.x, "headers")

    def route(self, bindings, messages):
        """bindings: {label: binding arguments}; messages: {body: headers or None}.
        Returns {label: [bodies the bound queue received, in publish order]}."""
        queues = {}
        for label, args in bindings.items():
            q = self.ch.queue_declare(self.uniq("q")).method.queue
            # The routing key means nothing to a headers exchange.
            self.ch.queue_bind(q, self.x, routing_key="ignored-" + label, arguments=args)
            queues[label] = q
        for body, headers in messages.items():
            self.ch.basic_publish(self.x, "any-key", body.encode(), pika.BasicProperties(headers=headers))
        return {label: get_bodies(self.ch, q) for label, q in queues.items()}

    def test_all_and_any(self):
        got = self.route(
            {
                "all": {"x-match": "all", "format": "pdf", "type": "report"},
                "any": {"x-match": "any", "format": "pdf", "type": "report"},
                "default": {"format": "pdf", "type": "report"},  # x-match defaults to all
            },
            {
                "both": {"format": "pdf", "type": "report"},
                "both+extra": {"format": "pdf", "type": "report", "lang": "en"},
                "format-only": {"format": "pdf"},
                "type-only": {"type": "report"},
                "wrong-value": {"format": "zip", "type": "report"},
                "neither": {"lang": "en"},
                "no-headers": None,
            },
        )
        self.assertEqual(got["all"], ["both", "both+extra"])
        self.assertEqual(got["default"], ["both", "both+extra"])
        self.assertEqual(got["any"], ["both", "both+extra", "format-only", "type-only", "wrong-value"])

    def test_binding_without_keys(self):
        # With nothing to compare, "all" holds vacuously and "any" never does.
        got = self.route({"all": {"x-match": "all"}, "any": {"x-match": "any"}, "none": {}},
                         {"plain": None, "with": {"k": "v"}})
        self.assertEqual(got, {"all": ["plain", "with"], "any": [], "none": ["plain", "with"]})

    def test_x_headers_count_only_with_x(self):
        # Binding keys starting with "x-" are ignored by all/any and compared by all-with-x/any-with-x.
        got = self.route(
            {
                "all": {"x-match": "all", "k": "v", "x-tag": "t"},
                "all-with-x": {"x-match": "all-with-x", "k": "v", "x-tag": "t"},
                "any": {"x-match": "any", "x-tag": "t"},
                "any-with-x": {"x-match": "any-with-x", "x-tag": "t"},
            },
            {
                "k": {"k": "v"},
                "k+x": {"k": "v", "x-tag": "t"},
                "x": {"x-tag": "t"},
                "k+wrong-x": {"k": "v", "x-tag": "other"},
            },
        )
        self.assertEqual(got["all"], ["k", "k+x", "k+wrong-x"])
        self.assertEqual(got["all-with-x"], ["k+x"])
        self.assertEqual(got["any"], [])
        self.assertEqual(got["any-with-x"], ["k+x", "x"])

    def test_values_are_typed(self):
        # A string "1" is not the integer 1, and a boolean true is not 1
        # either. A binding value with no value at all (void) only asks for
        # the key to be present.
        got = self.route(
            {
                "int": {"x-match": "all", "n": 1},
                "str": {"x-match": "all", "n": "1"},
                "bool": {"x-match": "all", "n": True},
                "present": {"x-match": "all", "n": None},
            },
            {
                "int32": {"n": 1},
                "int64": {"n": 1 << 40},
                "string": {"n": "1"},
                "true": {"n": True},
                "absent": {"m": 1},
            },
        )
        self.assertEqual(got["int"], ["int32"])
        self.assertEqual(got["str"], ["string"])
        self.assertEqual(got["bool"], ["true"])
        self.assertEqual(got["present"], ["int32", "int64", "string", "true"])

    def test_integers_of_different_widths_compare_by_value(self):
        # pika sends 1 as a 32-bit integer; other clients send 8-, 16- or
        # 64-bit ones (a Java long, say). The raw client publishes those.
        q = self.ch.queue_declare(self.uniq("q")).method.queue
        self.ch.queue_bind(q, self.x, arguments={"x-match": "all", "n": 1})
        for body, type_code, value in ((b"int8", b"b", struct.pack(">b", 1)), (b"int16", b"s", struct.pack(">h", 1)),
                                       (b"int64", b"l", struct.pack(">q", 1)), (b"int64-2", b"l", struct.pack(">q", 2))):
            table = shortstr("n") + type_code + value
            raw_publish(self.broker.host, self.broker.port, self.x, body, struct.pack(">I", len(table)) + table)
        wait_until(lambda: queue_counts(self.ch, q)[0] >= 3, "the three matching messages")
        self.assertEqual(sorted(get_bodies(self.ch, q)), ["int16", "int64", "int8"])

    def test_unbind_needs_the_same_arguments(self):
        q = self.ch.queue_declare(self.uniq("q")).method.queue
        args = {"x-match": "any", "a": "1"}
        self.ch.queue_bind(q, self.x, arguments=args)
        self.ch.basic_publish(self.x, "", b"one", pika.BasicProperties(headers={"a": "1"}))
        self.ch.queue_unbind(q, self.x, arguments={"x-match": "any", "a": "2"})  # not that binding: no effect
        self.ch.basic_publish(self.x, "", b"two", pika.BasicProperties(headers={"a": "1"}))
        self.ch.queue_unbind(q, self.x, arguments=args)
        self.ch.basic_publish(self.x, "", b"three", pika.BasicProperties(headers={"a": "1"}))
        self.assertEqual(get_bodies(self.ch, q), ["one", "two"])


if __name__ == "__main__":
    unittest.main()

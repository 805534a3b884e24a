"""The headers exchange: x-match all/any and their -with-x variants, typed values.

One queue per binding; messages carry their name in the body and their own
headers; each queue is read back and compared with the hand-written list of
messages that binding matches. Publishes are confirmed, so routing is done
when basic_publish returns.
"""

import unittest

import pika

from harness import BrokerTest
from pika_util import get_bodies


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
        # Integers of any width compare equal by value; a string "1" is not the
        # integer 1 and a boolean true is not 1 either. A binding value with no
        # value at all (void) only asks for the key to be present.
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

    def test_wider_integer_equals_narrower(self):
        # pika sends 1 << 40 as a 64-bit integer and small numbers as 32-bit
        # ones: the same number in two widths matches.
        got = self.route({"big": {"x-match": "any", "n": 1 << 40}}, {"long": {"n": 1 << 40}, "other": {"n": 2}})
        self.assertEqual(got["big"], ["long"])

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

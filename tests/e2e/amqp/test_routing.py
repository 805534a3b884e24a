"""Routing by the default, direct, fanout and topic exchanges and the amq.* ones.

Every check publishes a set of routing keys (the body is the key) with
publisher confirms, so each message has been routed when basic_publish
returns, then reads every bound queue empty and compares with the expected
bodies written out by hand.
"""

import unittest

from harness import BrokerTest
from pika_util import get_bodies, publish_all


class RoutingTest(BrokerTest):
    def setUp(self):
        super().setUp()
        self.ch = self.channel()
        self.ch.confirm_delivery()

    def queue(self):
        return self.ch.queue_declare(self.uniq("q"), auto_delete=False).method.queue

    def route(self, exchange, bindings, keys):
        """Binds one queue per (binding key) in `bindings`, publishes every key
        of `keys` to `exchange` and returns {binding key: [bodies received]}."""
        queues = {}
        for binding in bindings:
            q = self.queue()
            self.ch.queue_bind(q, exchange, routing_key=binding)
            queues[binding] = q
        for key in keys:
            self.ch.basic_publish(exchange, key, key.encode())
        return {binding: get_bodies(self.ch, q) for binding, q in queues.items()}

    def test_default_exchange_routes_by_queue_name(self):
        a, b = self.queue(), self.queue()
        publish_all(self.ch, "", a, ["1", "2"])
        publish_all(self.ch, "", b, ["3"])
        publish_all(self.ch, "", "no-such-queue-" + a, ["lost"])  # unroutable, silently dropped
        self.assertEqual(get_bodies(self.ch, a), ["1", "2"])
        self.assertEqual(get_bodies(self.ch, b), ["3"])
        # The default exchange takes no explicit bindings and cannot be deleted.
        text = self.assertChannelClosed(403, self.ch.queue_bind, a, "", routing_key="x")
        self.assertIn("ACCESS_REFUSED", text)
        ch = self.channel()
        self.assertChannelClosed(403, ch.exchange_delete, "")

    def test_direct_exchange_matches_the_whole_key(self):
        x = self.uniq("x")
        self.ch.exchange_declare(x, "direct")
        got = self.route(x, ["red", "green", ""], ["red", "green", "red.x", "Red", "", "blue", "red"])
        self.assertEqual(got, {"red": ["red", "red"], "green": ["green"], "": [""]})

    def test_direct_exchange_one_queue_bound_twice_gets_one_copy(self):
        x = self.uniq("x")
        self.ch.exchange_declare(x, "direct")
        q = self.queue()
        self.ch.queue_bind(q, x, routing_key="a")
        self.ch.queue_bind(q, x, routing_key="a")  # idempotent
        self.ch.queue_bind(q, x, routing_key="b")
        publish_all(self.ch, x, "a", ["1"])
        publish_all(self.ch, x, "b", ["2"])
        self.assertEqual(get_bodies(self.ch, q), ["1", "2"])

    def test_fanout_exchange_ignores_the_key(self):
        x = self.uniq("x")
        self.ch.exchange_declare(x, "fanout")
        got = self.route(x, ["", "anything"], ["k1", "", "k2.deep"])
        self.assertEqual(got, {"": ["k1", "", "k2.deep"], "anything": ["k1", "", "k2.deep"]})

    def test_topic_star_and_hash(self):
        x = self.uniq("x")
        self.ch.exchange_declare(x, "topic")
        keys = ["a", "a.b", "a.b.c", "a.x.b", "a.x.y.b", "b", "x.a.b", "a.b.b", ""]
        got = self.route(x, ["a.*", "*.b", "a.#", "#", "a.#.b", "a.*.b", "*", "#.b", "a.b"], keys)
        self.assertEqual(got["a.*"], ["a.b"])  # exactly one word after "a"
        self.assertEqual(got["*.b"], ["a.b"])
        self.assertEqual(got["a.#"], ["a", "a.b", "a.b.c", "a.x.b", "a.x.y.b", "a.b.b"])  # '#' may match no word
        self.assertEqual(got["#"], keys)  # everything, the empty key too
        self.assertEqual(got["a.#.b"], ["a.b", "a.x.b", "a.x.y.b", "a.b.b"])
        self.assertEqual(got["a.*.b"], ["a.x.b", "a.b.b"])
        self.assertEqual(got["*"], ["a", "b"])
        self.assertEqual(got["#.b"], ["a.b", "a.x.b", "a.x.y.b", "b", "x.a.b", "a.b.b"])
        self.assertEqual(got["a.b"], ["a.b"])  # no wildcard: the whole key

    def test_amq_exchanges_are_predeclared(self):
        for name, kind in [("amq.direct", "direct"), ("amq.fanout", "fanout"), ("amq.topic", "topic"),
                           ("amq.headers", "headers"), ("amq.match", "headers")]:
            self.ch.exchange_declare(name, kind, passive=True)
        key = self.uniq("key")
        got = self.route("amq.direct", [key], [key, key + ".not"])
        self.assertEqual(got, {key: [key]})
        got = self.route("amq.topic", [key + ".*"], [key + ".1", key, key + ".1.2"])
        self.assertEqual(got, {key + ".*": [key + ".1"]})
        q = self.queue()
        self.ch.queue_bind(q, "amq.fanout")
        publish_all(self.ch, "amq.fanout", "whatever", ["f"])
        self.assertEqual(get_bodies(self.ch, q), ["f"])

    def test_amq_prefix_is_reserved(self):
        text = self.assertChannelClosed(403, self.ch.exchange_declare, "amq.mine", "direct")
        self.assertIn("ACCESS_REFUSED", text)
        ch = self.channel()
        self.assertChannelClosed(403, ch.queue_declare, "amq.mine")
        # Redeclaring a pre-declared one with its own type is fine; deleting it is not.
        ch = self.channel()
        ch.exchange_declare("amq.direct", "direct", durable=True)
        self.assertChannelClosed(403, ch.exchange_delete, "amq.direct")


if __name__ == "__main__":
    unittest.main()

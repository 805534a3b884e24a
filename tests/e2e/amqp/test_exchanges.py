"""Exchange life cycle and topology: exchange-to-exchange bindings,
alternate exchanges, internal exchanges, passive and inequivalent declares,
auto-delete, unbind."""

import unittest

import pika
import pika.exceptions

from harness import BrokerTest
from pika_util import exchange_exists, get_bodies, publish_all


class ExchangeTest(BrokerTest):
    def setUp(self):
        super().setUp()
        self.conn = self.connect()
        self.ch = self.conn.channel()
        self.ch.confirm_delivery()

    def queue(self):
        return self.ch.queue_declare(self.uniq("q")).method.queue

    def exchange(self, kind, **kw):
        x = self.uniq("x")
        self.ch.exchange_declare(x, kind, **kw)
        return x

    def test_exchange_to_exchange_binding(self):
        src = self.exchange("direct")
        dst = self.exchange("fanout")
        q_via, q_direct = self.queue(), self.queue()
        self.ch.exchange_bind(dst, src, routing_key="k")
        self.ch.queue_bind(q_via, dst)
        publish_all(self.ch, src, "k", ["1"])
        publish_all(self.ch, src, "other", ["2"])
        publish_all(self.ch, dst, "anything", ["3"])  # the destination still takes its own publishes
        self.assertEqual(get_bodies(self.ch, q_via), ["1", "3"])

        # A queue reachable by two paths gets one copy of each message.
        self.ch.queue_bind(q_via, src, routing_key="k")
        self.ch.queue_bind(q_direct, src, routing_key="k")
        publish_all(self.ch, src, "k", ["4"])
        self.assertEqual(get_bodies(self.ch, q_via), ["4"])
        self.assertEqual(get_bodies(self.ch, q_direct), ["4"])

        # Unbinding the exchanges leaves only the direct queue binding.
        self.ch.exchange_unbind(dst, src, routing_key="k")
        self.ch.queue_unbind(q_via, src, routing_key="k")
        publish_all(self.ch, src, "k", ["5"])
        self.assertEqual(get_bodies(self.ch, q_via), [])
        self.assertEqual(get_bodies(self.ch, q_direct), ["5"])

    def test_exchange_bindings_chain_and_do_not_loop(self):
        a, b, c = self.exchange("topic"), self.exchange("topic"), self.exchange("fanout")
        q = self.queue()
        self.ch.exchange_bind(b, a, routing_key="x.*")
        self.ch.exchange_bind(c, b, routing_key="#")
        self.ch.exchange_bind(a, c)  # a cycle: every message still reaches q once
        self.ch.queue_bind(q, c)
        publish_all(self.ch, a, "x.1", ["through"])
        publish_all(self.ch, a, "y.1", ["stopped"])
        publish_all(self.ch, c, "z", ["from-c"])  # c -> a -> (no match for "z") and c -> q
        self.assertEqual(get_bodies(self.ch, q), ["through", "from-c"])

    def test_alternate_exchange_takes_unroutable_messages(self):
        ae = self.exchange("fanout")
        x = self.exchange("direct", arguments={"alternate-exchange": ae})
        routed, unrouted = self.queue(), self.queue()
        self.ch.queue_bind(routed, x, routing_key="known")
        self.ch.queue_bind(unrouted, ae)
        publish_all(self.ch, x, "known", ["a"])
        publish_all(self.ch, x, "unknown", ["b"])
        # Mandatory is satisfied by the alternate exchange: no basic.return
        # (the confirmed publish would raise UnroutableError).
        publish_all(self.ch, x, "unknown-too", ["c"], mandatory=True)
        self.assertEqual(get_bodies(self.ch, routed), ["a"])
        self.assertEqual(get_bodies(self.ch, unrouted), ["b", "c"])

    def test_missing_alternate_exchange_means_unroutable(self):
        x = self.exchange("direct", arguments={"alternate-exchange": self.uniq("absent")})
        with self.assertRaises(pika.exceptions.UnroutableError) as ctx:
            self.ch.basic_publish(x, "k", b"m", mandatory=True)
        self.assertEqual(ctx.exception.messages[0].method.reply_code, 312)

    def test_internal_exchange_refuses_publish_but_routes_bound_traffic(self):
        front = self.exchange("fanout")
        inner = self.exchange("fanout", internal=True)
        q = self.queue()
        self.ch.exchange_bind(inner, front)
        self.ch.queue_bind(q, inner)
        publish_all(self.ch, front, "", ["via-front"])
        self.assertEqual(get_bodies(self.ch, q), ["via-front"])
        text = self.assertChannelClosed(403, self.ch.basic_publish, inner, "", b"direct")
        self.assertIn("ACCESS_REFUSED", text)
        self.assertIn("internal", text)
        self.assertTrue(self.conn.is_open)
        self.assertEqual(get_bodies(self.conn.channel(), q), [])

    def test_passive_declare_of_missing_exchange_is_404_and_connection_survives(self):
        x = self.uniq("x")
        text = self.assertChannelClosed(404, self.ch.exchange_declare, x, "direct", passive=True)
        self.assertIn("NOT_FOUND", text)
        self.assertIn(x, text)
        self.assertTrue(self.ch.is_closed)
        self.assertTrue(self.conn.is_open)
        ch = self.conn.channel()
        ch.exchange_declare(x, "direct")
        ch.exchange_declare(x, "fanout", passive=True)  # passive: type and flags are not compared
        self.assertTrue(exchange_exists(self.conn, x))

    def test_inequivalent_redeclare_is_406(self):
        x = self.exchange("direct")
        for change in ({"exchange_type": "fanout"}, {"durable": True}, {"auto_delete": True},
                       {"arguments": {"alternate-exchange": "ae"}}):
            ch = self.conn.channel()
            kw = {"exchange_type": "direct", **change}
            text = self.assertChannelClosed(406, ch.exchange_declare, x, **kw)
            self.assertIn("PRECONDITION_FAILED", text)
            self.assertIn("inequivalent arg", text)
        ch = self.conn.channel()
        ch.exchange_declare(x, "direct")  # the original is unchanged and still equivalent

    def test_binding_to_missing_exchange_or_queue_is_404(self):
        q = self.queue()
        text = self.assertChannelClosed(404, self.ch.queue_bind, q, self.uniq("absent"), routing_key="k")
        self.assertIn("NOT_FOUND", text)
        ch = self.conn.channel()
        self.assertChannelClosed(404, ch.queue_bind, self.uniq("absent"), "amq.direct", routing_key="k")
        ch = self.conn.channel()
        ch.confirm_delivery()  # so basic_publish waits for the broker's answer
        self.assertChannelClosed(404, ch.basic_publish, self.uniq("absent"), "k", b"m")

    def test_auto_delete_exchange_goes_with_its_last_binding(self):
        x = self.exchange("direct", auto_delete=True)
        self.assertTrue(exchange_exists(self.conn, x))  # never bound: it stays
        q1, q2 = self.queue(), self.queue()
        self.ch.queue_bind(q1, x, routing_key="a")
        self.ch.queue_bind(q2, x, routing_key="b")
        self.ch.queue_unbind(q1, x, routing_key="a")
        self.assertTrue(exchange_exists(self.conn, x))  # one binding left
        self.ch.queue_delete(q2)  # removes the last binding with the queue
        self.assertFalse(exchange_exists(self.conn, x))

    def test_auto_delete_exchange_as_source_of_exchange_binding(self):
        src = self.exchange("fanout", auto_delete=True)
        dst = self.exchange("fanout")
        self.ch.exchange_bind(dst, src)
        self.ch.exchange_unbind(dst, src)
        self.assertFalse(exchange_exists(self.conn, src))
        self.assertTrue(exchange_exists(self.conn, dst))

    def test_unbind_stops_routing_and_delete_removes_bindings(self):
        x = self.exchange("topic")
        q = self.queue()
        self.ch.queue_bind(q, x, routing_key="a.*")
        self.ch.queue_bind(q, x, routing_key="b.*")
        publish_all(self.ch, x, "a.1", ["1"])
        self.ch.queue_unbind(q, x, routing_key="a.*")
        self.ch.queue_unbind(q, x, routing_key="never-bound")  # unbinding what is not bound is fine
        publish_all(self.ch, x, "a.2", ["2"])
        publish_all(self.ch, x, "b.1", ["3"])
        self.assertEqual(get_bodies(self.ch, q), ["1", "3"])
        self.ch.exchange_delete(x)
        self.assertFalse(exchange_exists(self.conn, x))
        # Re-created, the exchange starts without the old bindings.
        self.ch.exchange_declare(x, "topic")
        publish_all(self.ch, x, "b.2", ["4"])
        self.assertEqual(get_bodies(self.ch, q), [])

    def test_delete_if_unused(self):
        x = self.exchange("direct")
        q = self.queue()
        self.ch.queue_bind(q, x, routing_key="k")
        text = self.assertChannelClosed(406, self.ch.exchange_delete, x, if_unused=True)
        self.assertIn("PRECONDITION_FAILED", text)
        ch = self.conn.channel()
        ch.queue_unbind(q, x, routing_key="k")
        ch.exchange_delete(x, if_unused=True)
        self.assertFalse(exchange_exists(self.conn, x))


if __name__ == "__main__":
    unittest.main()

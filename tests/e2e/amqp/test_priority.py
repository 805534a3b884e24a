"""Priority queues (x-max-priority): higher priority first, FIFO within a priority."""

import unittest

import pika

from harness import BrokerTest
from pika_util import Inbox, get_all, get_bodies, wait_until


class PriorityTest(BrokerTest):
    def setUp(self):
        super().setUp()
        self.conn = self.connect()
        self.ch = self.conn.channel()
        self.ch.confirm_delivery()

    def publish(self, q, items):
        """items: (body, priority or None for no priority property)."""
        for body, prio in items:
            self.ch.basic_publish("", q, body.encode(), pika.BasicProperties(priority=prio))

    def test_higher_priority_first_fifo_within_a_priority(self):
        q = self.uniq("q")
        self.ch.queue_declare(q, arguments={"x-max-priority": 10})
        self.publish(q, [("p1-a", 1), ("p5-a", 5), ("none-a", None), ("p9-a", 9), ("p5-b", 5),
                         ("p0-a", 0), ("p9-b", 9), ("p1-b", 1), ("none-b", None)])
        got = get_all(self.ch, q)
        self.assertEqual([b.decode() for _, _, b in got],
                         ["p9-a", "p9-b", "p5-a", "p5-b", "p1-a", "p1-b", "none-a", "p0-a", "none-b"])
        # The priority property reaches the consumer as published.
        self.assertEqual([p.priority for _, p, _ in got], [9, 9, 5, 5, 1, 1, None, 0, None])

    def test_priorities_above_the_maximum_count_as_the_maximum(self):
        q = self.uniq("q")
        self.ch.queue_declare(q, arguments={"x-max-priority": 3})
        self.publish(q, [("p3-a", 3), ("p200", 200), ("p2", 2), ("p3-b", 3), ("p4", 4)])
        self.assertEqual(get_bodies(self.ch, q), ["p3-a", "p200", "p3-b", "p4", "p2"])

    def test_without_x_max_priority_the_priority_is_ignored(self):
        q = self.uniq("q")
        self.ch.queue_declare(q)
        self.publish(q, [("low", 1), ("high", 9), ("mid", 5)])
        self.assertEqual(get_bodies(self.ch, q), ["low", "high", "mid"])

    def test_a_consumer_sees_the_backlog_in_priority_order(self):
        q = self.uniq("q")
        self.ch.queue_declare(q, arguments={"x-max-priority": 5})
        self.publish(q, [(f"p{p}-{i}", p) for i in range(3) for p in (1, 3, 5)])
        conn = self.connect()
        ch = conn.channel()
        ch.basic_qos(prefetch_count=1)
        inbox = Inbox()

        def on_message(c, method, props, body):
            inbox(c, method, props, body)
            c.basic_ack(method.delivery_tag)

        ch.basic_consume(q, on_message)
        wait_until(lambda: len(inbox) == 9, "9 deliveries", conn=conn)
        self.assertEqual(inbox.bodies, ["p5-0", "p5-1", "p5-2", "p3-0", "p3-1", "p3-2", "p1-0", "p1-1", "p1-2"])

    def test_requeued_message_goes_back_to_its_priority(self):
        q = self.uniq("q")
        self.ch.queue_declare(q, arguments={"x-max-priority": 5})
        self.publish(q, [("low", 1), ("high-a", 5), ("high-b", 5)])
        m, _, body = self.ch.basic_get(q, auto_ack=False)
        self.assertEqual(body, b"high-a")
        self.ch.basic_nack(m.delivery_tag, requeue=True)
        self.assertEqual(get_bodies(self.ch, q), ["high-a", "high-b", "low"])

    def test_invalid_max_priority_is_refused(self):
        text = self.assertChannelClosed(406, self.conn.channel().queue_declare, self.uniq("q"),
                                        arguments={"x-max-priority": 256})
        self.assertIn("PRECONDITION_FAILED", text)
        self.assertTrue(self.conn.is_open)
        self.conn.channel().queue_declare(self.uniq("q"), arguments={"x-max-priority": 255})  # the largest allowed


if __name__ == "__main__":
    unittest.main()

"""JMS semantics on AMQP queues: per-consumer message selectors (the consume
argument x-selector) and message groups (the JMSXGroupID header). Both are
Wharf extensions (RabbitMQ ignores them), so these tests are Wharf-only."""

import unittest

import pika

from harness import BrokerTest, wharf_only
from pika_util import Inbox, publish_all, queue_counts, settle, wait_until


def headers(**h):
    return pika.BasicProperties(headers=h)


@wharf_only("x-selector and JMSXGroupID are Wharf extensions")
class SelectorTest(BrokerTest):
    shared_broker = True

    def setUp(self):
        super().setUp()
        self.conn = self.connect()
        self.ch = self.conn.channel()
        self.ch.confirm_delivery()

    def publish(self, q, body, **h):
        self.ch.basic_publish("", q, body, properties=headers(**h))

    def test_complementary_selectors_and_a_message_matching_neither(self):
        q = self.uniq("q")
        self.ch.queue_declare(q)
        conn = self.connect()
        red_ch, blue_ch = conn.channel(), conn.channel()
        red, blue = Inbox(), Inbox()
        red_ch.basic_consume(q, red, auto_ack=True, arguments={"x-selector": "color = 'red'"})
        blue_ch.basic_consume(q, blue, auto_ack=True, arguments={"x-selector": "color = 'blue' OR size > 10"})

        for body, color, size in [("r1", "red", 1), ("b1", "blue", 1), ("g1", "green", 5), ("r2", "red", 1),
                                  ("big", "green", 20), ("b2", "blue", 1)]:
            self.publish(q, body, color=color, size=size)
        wait_until(lambda: len(red) == 2 and len(blue) == 3, "2 red and 3 blue-or-big deliveries", conn=conn)
        settle(conn)
        self.assertEqual(red.bodies, ["r1", "r2"])
        self.assertEqual(blue.bodies, ["b1", "big", "b2"])
        # g1 matches neither selector: it stays in the queue, counted.
        self.assertEqual(queue_counts(self.ch, q), (1, 2))

        # A consumer whose selector matches it, attached later, gets it.
        green = Inbox()
        conn.channel().basic_consume(q, green, auto_ack=True, arguments={"x-selector": "color IN ('green')"})
        wait_until(lambda: len(green) == 1, "the green message", conn=conn)
        self.assertEqual(green.bodies, ["g1"])
        self.assertEqual(queue_counts(self.ch, q), (0, 3))

    def test_a_bad_selector_closes_the_channel_naming_the_position(self):
        q = self.uniq("q")
        self.ch.queue_declare(q)
        ch = self.conn.channel()
        text = self.assertChannelClosed(
            406, lambda: ch.basic_consume(q, Inbox(), arguments={"x-selector": "color = 'red' AND"}))
        self.assertIn("x-selector", text)
        self.assertIn("offset 17", text)  # the end of the 17-byte text, where an operand was expected
        self.assertTrue(self.conn.is_open)
        self.assertEqual(queue_counts(self.ch, q), (0, 0))

    def test_a_message_group_sticks_to_one_consumer(self):
        q = self.uniq("q")
        self.ch.queue_declare(q)
        conn = self.connect()
        a, b = Inbox(), Inbox()
        conn.channel().basic_consume(q, a, auto_ack=True)
        conn.channel().basic_consume(q, b, auto_ack=True)
        for i in range(3):
            self.publish(q, f"x{i}", JMSXGroupID="X")
            self.publish(q, f"y{i}", JMSXGroupID="Y")
        wait_until(lambda: len(a) + len(b) == 6, "6 deliveries", conn=conn)
        settle(conn)
        groups = sorted([a.bodies, b.bodies])
        self.assertEqual(groups, [["x0", "x1", "x2"], ["y0", "y1", "y2"]])
        for inbox in (a, b):
            firsts = [bool((p.headers or {}).get("JMSXGroupFirstForConsumer")) for _, p, _ in inbox.messages]
            self.assertEqual(firsts, [True, False, False])


if __name__ == "__main__":
    unittest.main()

"""Who gets a message when several consume: consumer priorities, single
active consumer, exclusive consumers; and the broker cancelling a consumer
whose queue was deleted."""

import unittest

from harness import BrokerTest
from pika_util import Inbox, publish_all, queue_exists, settle, wait_until


class ConsumerTest(BrokerTest):
    def setUp(self):
        super().setUp()
        self.conn = self.connect()
        self.ch = self.conn.channel()
        self.ch.confirm_delivery()

    def test_higher_priority_consumer_gets_everything_while_it_has_room(self):
        q = self.uniq("q")
        self.ch.queue_declare(q)
        conn = self.connect()
        low_ch, high_ch = conn.channel(), conn.channel()
        high_ch.basic_qos(prefetch_count=2)
        low, high = Inbox(), Inbox()
        low_ch.basic_consume(q, low)  # registered first, priority 0
        high_ch.basic_consume(q, high, arguments={"x-priority": 10})

        publish_all(self.ch, "", q, ["m0", "m1"])
        wait_until(lambda: len(high) == 2, "2 deliveries to the high-priority consumer", conn=conn)
        # The high-priority consumer is full (prefetch 2): the rest go to the other one.
        publish_all(self.ch, "", q, ["m2", "m3", "m4"])
        wait_until(lambda: len(low) == 3, "3 deliveries to the low-priority consumer", conn=conn)
        settle(conn)
        self.assertEqual(high.bodies, ["m0", "m1"])
        self.assertEqual(low.bodies, ["m2", "m3", "m4"])

        # Room again: new messages go to the high-priority consumer first.
        # (Tag 0 with multiple acks everything outstanding on the channel.)
        high_ch.basic_ack(0, multiple=True)
        low_ch.basic_ack(0, multiple=True)
        publish_all(self.ch, "", q, ["m5"])
        wait_until(lambda: len(high) == 3, "m5 to the high-priority consumer", conn=conn)
        settle(conn)
        self.assertEqual((high.bodies[-1], len(low)), ("m5", 3))

    def test_single_active_consumer(self):
        q = self.uniq("q")
        self.ch.queue_declare(q, arguments={"x-single-active-consumer": True})
        conn = self.connect()
        first_ch, second_ch = conn.channel(), conn.channel()
        first, second = Inbox(), Inbox()
        first_tag = first_ch.basic_consume(q, first, auto_ack=True)
        second_ch.basic_consume(q, second, auto_ack=True)
        publish_all(self.ch, "", q, ["m0", "m1", "m2", "m3"])
        wait_until(lambda: len(first) == 4, "4 deliveries to the active consumer", conn=conn)
        settle(conn)
        self.assertEqual((first.bodies, second.bodies), (["m0", "m1", "m2", "m3"], []))
        ok = self.ch.queue_declare(q, passive=True).method
        self.assertEqual(ok.consumer_count, 2)  # the waiting one counts as a consumer

        first_ch.basic_cancel(first_tag)  # the next in line takes over
        publish_all(self.ch, "", q, ["m4", "m5"])
        wait_until(lambda: len(second) == 2, "2 deliveries to the new active consumer", conn=conn)
        self.assertEqual(second.bodies, ["m4", "m5"])

    def test_exclusive_consumer_refuses_others(self):
        q = self.uniq("q")
        self.ch.queue_declare(q)
        owner = self.connect().channel()
        owner.basic_consume(q, Inbox(), exclusive=True)
        text = self.assertChannelClosed(403, self.connect().channel().basic_consume, q, Inbox())
        self.assertIn("ACCESS_REFUSED", text)
        self.assertIn("exclusive", text)

        # And an exclusive consumer cannot join a queue that already has a consumer.
        q2 = self.uniq("q")
        self.ch.queue_declare(q2)
        self.connect().channel().basic_consume(q2, Inbox())
        text = self.assertChannelClosed(403, self.connect().channel().basic_consume, q2, Inbox(), exclusive=True)
        self.assertIn("ACCESS_REFUSED", text)

        # basic.get is not consuming: it still works beside an exclusive consumer.
        self.assertEqual(self.ch.basic_get(q), (None, None, None))

    def test_deleting_the_queue_cancels_its_consumers(self):
        q = self.uniq("q")
        self.ch.queue_declare(q)
        conn = self.connect()
        ch = conn.channel()
        cancelled = []
        ch.add_on_cancel_callback(lambda frame: cancelled.append(frame.method.consumer_tag))
        inbox = Inbox()
        tag = ch.basic_consume(q, inbox, auto_ack=True)
        publish_all(self.ch, "", q, ["before"])
        wait_until(lambda: len(inbox) == 1, "a delivery", conn=conn)

        self.ch.queue_delete(q)
        wait_until(lambda: cancelled, "basic.cancel from the broker", conn=conn)
        self.assertEqual(cancelled, [tag])
        self.assertTrue(ch.is_open)  # the channel lives on
        self.assertFalse(queue_exists(conn, q))
        self.assertEqual(ch.queue_declare("", exclusive=True).method.queue[:8], "amq.gen-")


if __name__ == "__main__":
    unittest.main()

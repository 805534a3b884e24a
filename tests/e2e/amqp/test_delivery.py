"""Delivery to consumers and basic.get: prefetch, round robin, acks, nack and
reject with and without requeue (a requeued message keeps its place),
basic.recover."""

import unittest

from harness import BrokerTest
from pika_util import Inbox, get_all, get_bodies, publish_all, queue_counts, settle, wait_until


class DeliveryTest(BrokerTest):
    def setUp(self):
        super().setUp()
        self.conn = self.connect()
        self.ch = self.conn.channel()
        self.ch.confirm_delivery()

    def filled_queue(self, n):
        q = self.uniq("q")
        self.ch.queue_declare(q)
        publish_all(self.ch, "", q, [f"m{i}" for i in range(n)])
        return q

    def test_prefetch_limits_unacked_deliveries(self):
        q = self.filled_queue(10)
        conn = self.connect()
        ch = conn.channel()
        ch.basic_qos(prefetch_count=3)
        inbox = Inbox()
        ch.basic_consume(q, inbox)
        wait_until(lambda: len(inbox) == 3, "3 deliveries", conn=conn)
        settle(conn)
        self.assertEqual(inbox.bodies, ["m0", "m1", "m2"])  # and no more while they are unacked
        self.assertEqual(queue_counts(self.ch, q), (7, 1))

        ch.basic_ack(inbox.messages[0][0].delivery_tag)  # one slot frees: exactly one more
        wait_until(lambda: len(inbox) == 4, "a 4th delivery", conn=conn)
        settle(conn)
        self.assertEqual(inbox.bodies, ["m0", "m1", "m2", "m3"])

        ch.basic_ack(inbox.messages[3][0].delivery_tag, multiple=True)  # m1..m3 too: three slots
        wait_until(lambda: len(inbox) == 7, "three more deliveries", conn=conn)
        settle(conn)
        self.assertEqual(len(inbox), 7)
        self.assertEqual(queue_counts(self.ch, q), (3, 1))

    def test_prefetch_is_per_consumer_unless_global(self):
        qa, qb = self.filled_queue(5), self.filled_queue(5)
        conn = self.connect()
        ch = conn.channel()
        ch.basic_qos(prefetch_count=2)  # per consumer: each of the two gets 2
        a, b = Inbox(), Inbox()
        ch.basic_consume(qa, a)
        ch.basic_consume(qb, b)
        wait_until(lambda: len(a) == 2 and len(b) == 2, "2 deliveries per consumer", conn=conn)
        settle(conn)
        self.assertEqual((len(a), len(b)), (2, 2))

        qc, qd = self.filled_queue(5), self.filled_queue(5)
        conn2 = self.connect()
        ch2 = conn2.channel()
        ch2.basic_qos(prefetch_count=3, global_qos=True)  # shared by every consumer on the channel
        c, d = Inbox(), Inbox()
        ch2.basic_consume(qc, c)
        ch2.basic_consume(qd, d)
        wait_until(lambda: len(c) + len(d) == 3, "3 deliveries in all", conn=conn2)
        settle(conn2)
        self.assertEqual(len(c) + len(d), 3)
        self.assertEqual(queue_counts(self.ch, qc)[0] + queue_counts(self.ch, qd)[0], 7)

    def test_round_robin_between_two_consumers(self):
        q = self.uniq("q")
        self.ch.queue_declare(q)
        conn = self.connect()
        one, two = Inbox(), Inbox()
        conn.channel().basic_consume(q, one, auto_ack=True)
        conn.channel().basic_consume(q, two, auto_ack=True)
        publish_all(self.ch, "", q, [f"m{i}" for i in range(6)])
        wait_until(lambda: len(one) + len(two) == 6, "6 deliveries", conn=conn)
        halves = sorted([one.bodies, two.bodies])
        self.assertEqual(halves, [["m0", "m2", "m4"], ["m1", "m3", "m5"]])

    def test_ack_multiple_and_unacked_come_back_redelivered(self):
        q = self.filled_queue(5)
        conn = self.connect()
        ch = conn.channel()
        inbox = Inbox()
        ch.basic_consume(q, inbox)
        wait_until(lambda: len(inbox) == 5, "5 deliveries", conn=conn)
        self.assertEqual([m.delivery_tag for m, _, _ in inbox.messages], [1, 2, 3, 4, 5])
        self.assertFalse(any(m.redelivered for m, _, _ in inbox.messages))
        ch.basic_ack(3, multiple=True)  # m0, m1, m2
        ch.close()  # m3 and m4 were never acked: back to the queue
        got = get_all(self.ch, q)
        self.assertEqual([b for _, _, b in got], [b"m3", b"m4"])
        self.assertTrue(all(m.redelivered for m, _, _ in got))

    def test_nack_and_reject_with_requeue_keep_the_original_place(self):
        q = self.filled_queue(5)
        ch = self.connect().channel()
        m0, _, _ = ch.basic_get(q)
        m1, _, _ = ch.basic_get(q)
        m2, _, _ = ch.basic_get(q)
        ch.basic_nack(m1.delivery_tag, requeue=True)
        ch.basic_reject(m0.delivery_tag, requeue=True)
        ch.basic_nack(m2.delivery_tag, requeue=True)
        got = get_all(ch, q)
        self.assertEqual([b.decode() for _, _, b in got], ["m0", "m1", "m2", "m3", "m4"])
        self.assertEqual([m.redelivered for m, _, _ in got], [True, True, True, False, False])

    def test_nack_multiple_requeues_every_earlier_unacked(self):
        q = self.filled_queue(4)
        ch = self.connect().channel()
        tags = [ch.basic_get(q)[0].delivery_tag for _ in range(3)]
        ch.basic_ack(tags[1])
        ch.basic_nack(tags[2], multiple=True, requeue=True)  # m0 and m2; m1 was acked
        self.assertEqual(get_bodies(ch, q), ["m0", "m2", "m3"])

    def test_reject_without_requeue_drops(self):
        q = self.filled_queue(3)
        ch = self.connect().channel()
        m0, _, _ = ch.basic_get(q)
        m1, _, _ = ch.basic_get(q)
        ch.basic_reject(m0.delivery_tag, requeue=False)
        ch.basic_nack(m1.delivery_tag, requeue=False)
        self.assertEqual(get_bodies(ch, q), ["m2"])
        self.assertEqual(queue_counts(ch, q), (0, 0))

    def test_basic_get(self):
        q = self.uniq("q")
        self.ch.queue_declare(q)
        self.assertEqual(self.ch.basic_get(q), (None, None, None))  # get-empty
        publish_all(self.ch, "", q, ["a", "b", "c"])
        m, props, body = self.ch.basic_get(q, auto_ack=True)
        self.assertEqual((body, m.message_count, m.redelivered, m.routing_key, m.exchange), (b"a", 2, False, q, ""))
        m, _, body = self.ch.basic_get(q, auto_ack=False)
        self.assertEqual((body, m.message_count), (b"b", 1))
        self.ch.basic_reject(m.delivery_tag, requeue=True)
        m, _, body = self.ch.basic_get(q, auto_ack=True)
        self.assertEqual((body, m.message_count, m.redelivered), (b"b", 1, True))
        self.assertEqual(get_bodies(self.ch, q), ["c"])
        self.assertEqual(self.ch.basic_get(q), (None, None, None))

    def test_basic_recover_redelivers_unacked(self):
        q = self.filled_queue(2)
        conn = self.connect()
        ch = conn.channel()
        inbox = Inbox()
        ch.basic_consume(q, inbox)
        wait_until(lambda: len(inbox) == 2, "2 deliveries", conn=conn)
        ch.basic_recover(requeue=True)
        wait_until(lambda: len(inbox) == 4, "the 2 redeliveries", conn=conn)
        again = inbox.messages[2:]
        self.assertEqual(sorted(b for _, _, b in again), [b"m0", b"m1"])
        self.assertTrue(all(m.redelivered for m, _, _ in again))
        for m, _, _ in again:
            ch.basic_ack(m.delivery_tag)
        ch.close()
        self.assertEqual(queue_counts(self.ch, q), (0, 0))

    def test_ack_of_unknown_tag_closes_the_channel_with_406(self):
        q = self.filled_queue(1)
        ch = self.conn.channel()
        m, _, _ = ch.basic_get(q)
        ch.basic_ack(m.delivery_tag)
        ch.basic_ack(m.delivery_tag)  # twice: the broker no longer knows it
        text = self.assertChannelClosed(406, ch.queue_declare, q, passive=True)
        self.assertIn("unknown delivery tag", text)
        self.assertTrue(self.conn.is_open)


if __name__ == "__main__":
    unittest.main()

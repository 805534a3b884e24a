"""Transactions (tx.select / tx.commit / tx.rollback): publishes and acks
take effect at commit and never after a rollback."""

import unittest

from harness import BrokerTest
from pika_util import get_all, get_bodies, publish_all, queue_counts


class TxTest(BrokerTest):
    def setUp(self):
        super().setUp()
        self.conn = self.connect()
        self.ch = self.conn.channel()  # not transactional: for looking at the queue
        self.q = self.uniq("q")
        self.ch.queue_declare(self.q)

    def test_publishes_arrive_at_commit_and_never_after_rollback(self):
        tx = self.conn.channel()
        tx.tx_select()
        publish_all(tx, "", self.q, ["r1", "r2"])
        self.assertEqual(queue_counts(self.ch, self.q), (0, 0))  # not yet
        tx.tx_rollback()
        publish_all(tx, "", self.q, ["c1", "c2"])
        self.assertEqual(queue_counts(self.ch, self.q), (0, 0))
        tx.tx_commit()
        self.assertEqual(get_bodies(self.ch, self.q), ["c1", "c2"])
        # The channel stays transactional: the next batch also waits for a commit.
        publish_all(tx, "", self.q, ["c3"])
        tx.tx_rollback()
        tx.tx_commit()  # an empty transaction
        self.assertEqual(get_bodies(self.ch, self.q), [])

    def test_rolled_back_acks_are_not_applied(self):
        publish_all(self.ch, "", self.q, ["a", "b", "c"])
        consumer = self.connect()
        tx = consumer.channel()
        tx.tx_select()
        got = get_all(tx, self.q, auto_ack=False)  # deliveries themselves are not transactional
        self.assertEqual([b for _, _, b in got], [b"a", b"b", b"c"])
        tx.basic_ack(got[0][0].delivery_tag)
        tx.basic_ack(got[1][0].delivery_tag)
        tx.tx_rollback()  # both acks are forgotten; the messages stay unacked
        tx.basic_ack(got[2][0].delivery_tag)
        tx.tx_commit()  # only c is acked
        consumer.close()  # a and b are still unacked: they return to the queue
        back = get_all(self.ch, self.q)
        self.assertEqual([b for _, _, b in back], [b"a", b"b"])
        self.assertTrue(all(m.redelivered for m, _, _ in back))

    def test_committed_reject_with_requeue_and_ack_multiple(self):
        publish_all(self.ch, "", self.q, ["a", "b", "c"])
        tx = self.conn.channel()
        tx.tx_select()
        got = get_all(tx, self.q, auto_ack=False)
        tx.basic_reject(got[0][0].delivery_tag, requeue=True)
        tx.basic_ack(got[2][0].delivery_tag, multiple=True)  # b and c (a was rejected in this tx)
        self.assertEqual(queue_counts(self.ch, self.q), (0, 0))  # nothing applied before commit
        tx.tx_commit()
        back = get_all(self.ch, self.q)
        self.assertEqual([(b, m.redelivered) for m, _, b in back], [(b"a", True)])

    def test_commit_without_select_is_a_channel_error(self):
        text = self.assertChannelClosed(406, self.conn.channel().tx_commit)
        self.assertIn("PRECONDITION_FAILED", text)
        text = self.assertChannelClosed(406, self.conn.channel().tx_rollback)
        self.assertIn("PRECONDITION_FAILED", text)
        # Confirm mode and tx mode exclude each other.
        ch = self.conn.channel()
        ch.confirm_delivery()
        self.assertChannelClosed(406, ch.tx_select)
        self.assertTrue(self.conn.is_open)


if __name__ == "__main__":
    unittest.main()

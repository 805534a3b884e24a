"""Queue life cycle: exclusive, auto-delete, server-named, passive, purge,
conditional delete, the counts in declare-ok, x-expires, and durable versus
transient queues across a restart."""

import unittest

import pika
import pika.exceptions

from harness import BrokerTest
from pika_util import Inbox, get_bodies, persistent, publish_all, queue_counts, queue_exists, wait_until


class QueueTest(BrokerTest):
    def setUp(self):
        super().setUp()
        self.conn = self.connect()
        self.ch = self.conn.channel()
        self.ch.confirm_delivery()

    def test_exclusive_queue_is_locked_to_its_connection_and_goes_with_it(self):
        q = self.uniq("q")
        self.ch.queue_declare(q, exclusive=True)
        publish_all(self.ch, "", q, ["mine"])

        other = self.connect()
        for attempt in (lambda ch: ch.queue_declare(q, exclusive=True),
                        lambda ch: ch.queue_declare(q),
                        lambda ch: ch.queue_declare(q, passive=True),
                        lambda ch: ch.basic_consume(q, lambda *a: None),
                        lambda ch: ch.basic_get(q),
                        lambda ch: ch.queue_purge(q),
                        lambda ch: ch.queue_delete(q)):
            text = self.assertChannelClosed(405, attempt, other.channel())
            self.assertIn("RESOURCE_LOCKED", text)
        self.assertTrue(other.is_open)  # 405 closes the channel only

        # The owner can use it from any of its channels.
        self.assertEqual(get_bodies(self.conn.channel(), q), ["mine"])
        self.conn.close()
        wait_until(lambda: not queue_exists(other, q), "the exclusive queue to go with its connection")
        other.channel().queue_declare(q, exclusive=True)  # the name is free again

    def test_auto_delete_queue_goes_when_its_last_consumer_cancels(self):
        q = self.uniq("q")
        self.ch.queue_declare(q, auto_delete=True)
        self.assertTrue(queue_exists(self.conn, q))  # never consumed from: it stays
        c1 = self.ch.basic_consume(q, Inbox())
        other = self.connect().channel()
        c2 = other.basic_consume(q, Inbox())
        self.ch.basic_cancel(c1)
        self.assertTrue(queue_exists(self.conn, q))  # one consumer left
        other.basic_cancel(c2)
        wait_until(lambda: not queue_exists(self.conn, q), "the auto-delete queue to go after its last consumer")

    def test_auto_delete_queue_goes_when_its_consumer_connection_closes(self):
        q = self.uniq("q")
        self.ch.queue_declare(q, auto_delete=True)
        consumer = self.connect()
        consumer.channel().basic_consume(q, Inbox())
        consumer.close()
        wait_until(lambda: not queue_exists(self.conn, q), "the auto-delete queue to go with its consumer")

    def test_server_named_queues(self):
        a = self.ch.queue_declare("", exclusive=True).method.queue
        b = self.ch.queue_declare("", exclusive=True).method.queue
        self.assertTrue(a.startswith("amq.gen-"), a)
        self.assertTrue(b.startswith("amq.gen-"), b)
        self.assertNotEqual(a, b)
        publish_all(self.ch, "", a, ["to-a"])
        self.assertEqual(get_bodies(self.ch, a), ["to-a"])
        # Asking for a name in the reserved amq. space is refused.
        text = self.assertChannelClosed(403, self.conn.channel().queue_declare, "amq.gen-mine")
        self.assertIn("ACCESS_REFUSED", text)

    def test_passive_declare(self):
        q = self.uniq("q")
        text = self.assertChannelClosed(404, self.conn.channel().queue_declare, q, passive=True)
        self.assertIn("NOT_FOUND", text)
        self.assertIn(q, text)
        self.ch.queue_declare(q, durable=True, arguments={"x-max-length": 10})
        # Passive compares nothing: different flags and arguments are fine.
        ok = self.ch.queue_declare(q, passive=True, durable=False).method
        self.assertEqual(ok.queue, q)

    def test_inequivalent_redeclare_is_406(self):
        q = self.uniq("q")
        self.ch.queue_declare(q, arguments={"x-max-length": 10})
        for kw in ({"durable": True}, {"auto_delete": True}, {"arguments": {"x-max-length": 11}},
                   {"arguments": {}}):
            text = self.assertChannelClosed(406, self.conn.channel().queue_declare, q, **kw)
            self.assertIn("PRECONDITION_FAILED", text)
            self.assertIn("inequivalent arg", text)
        self.conn.channel().queue_declare(q, arguments={"x-max-length": 10})

    def test_declare_ok_counts_ready_messages_and_consumers(self):
        q = self.uniq("q")
        ok = self.ch.queue_declare(q).method
        self.assertEqual((ok.queue, ok.message_count, ok.consumer_count), (q, 0, 0))
        publish_all(self.ch, "", q, ["1", "2", "3"])
        ok = self.ch.queue_declare(q).method  # a plain redeclare reports the counts too
        self.assertEqual((ok.message_count, ok.consumer_count), (3, 0))

        # One taken and not acked: no longer counted as a message.
        method, _, _ = self.ch.basic_get(q, auto_ack=False)
        self.assertEqual(queue_counts(self.ch, q), (2, 0))

        consumer_ch = self.connect().channel()
        consumer_ch.basic_qos(prefetch_count=1)
        inbox = Inbox()
        consumer_ch.basic_consume(q, inbox)
        wait_until(lambda: len(inbox) == 1, "one delivery", conn=consumer_ch.connection)
        self.assertEqual(queue_counts(self.ch, q), (1, 1))
        self.ch.basic_ack(method.delivery_tag)

    def test_purge_returns_the_count_and_keeps_unacked_messages(self):
        q = self.uniq("q")
        self.ch.queue_declare(q)
        publish_all(self.ch, "", q, [str(i) for i in range(5)])
        taken, _, body = self.ch.basic_get(q, auto_ack=False)
        self.assertEqual(body, b"0")
        self.assertEqual(self.ch.queue_purge(q).method.message_count, 4)
        self.assertEqual(self.ch.queue_purge(q).method.message_count, 0)
        # The unacked one was not purged: rejected with requeue, it is back.
        self.ch.basic_reject(taken.delivery_tag, requeue=True)
        self.assertEqual(get_bodies(self.ch, q), ["0"])

    def test_conditional_delete(self):
        q = self.uniq("q")
        self.ch.queue_declare(q)
        publish_all(self.ch, "", q, ["a", "b"])
        text = self.assertChannelClosed(406, self.ch.queue_delete, q, if_empty=True)
        self.assertIn("PRECONDITION_FAILED", text)

        ch = self.conn.channel()
        tag = ch.basic_consume(q, Inbox(), auto_ack=False)
        text = self.assertChannelClosed(406, self.conn.channel().queue_delete, q, if_unused=True)
        self.assertIn("PRECONDITION_FAILED", text)
        self.assertTrue(queue_exists(self.conn, q))
        ch.basic_cancel(tag)
        ch.close()  # the two unacked deliveries go back to the queue

        ch = self.conn.channel()
        self.assertEqual(ch.queue_delete(q, if_unused=True).method.message_count, 2)
        self.assertFalse(queue_exists(self.conn, q))
        # Deleting what is not there is not an error.
        self.assertEqual(ch.queue_delete(q).method.message_count, 0)

    def test_x_expires_deletes_an_unused_queue(self):
        q = self.uniq("q")
        ok = self.ch.queue_declare(q, arguments={"x-expires": 300}).method
        self.assertEqual(ok.queue, q)

        wait_until(lambda: self.unroutable(q), "the queue to expire")

    def test_x_expires_waits_for_consumers_to_leave(self):
        q = self.uniq("q")
        # The consumer's connection is opened first: on a loaded machine the
        # handshake alone could outlast the lease.
        consumer = self.connect()
        consumer_ch = consumer.channel()
        self.ch.queue_declare(q, arguments={"x-expires": 200})
        inbox = Inbox()
        consumer_ch.basic_consume(q, inbox)
        publish_all(self.ch, "", q, ["kept alive"])
        # Well past the expiry, a queue with a consumer is still there and delivering.
        wait_until(lambda: len(inbox) == 1, "a delivery", conn=consumer)
        consumer.sleep(0.6)
        publish_all(self.ch, "", q, ["still here"], mandatory=True)
        wait_until(lambda: len(inbox) == 2, "a second delivery", conn=consumer)
        consumer.close()
        wait_until(lambda: self.unroutable(q), "the queue to expire once unused")

    def unroutable(self, q):
        """Probes q's existence with a mandatory publish, which (unlike a passive
        declare, which renews the lease) does not count as using the queue."""
        try:
            self.ch.basic_publish("", q, b"probe", mandatory=True)
        except pika.exceptions.UnroutableError:
            return True
        return False

    def test_durable_queue_and_persistent_messages_survive_restart_transient_ones_do_not(self):
        self.require_own_broker("restart it")
        durable, transient = self.uniq("durable"), self.uniq("transient")
        self.ch.queue_declare(durable, durable=True)
        self.ch.queue_declare(transient, durable=False)
        publish_all(self.ch, "", durable, ["p1", "p2"], properties=persistent())
        publish_all(self.ch, "", transient, ["t1"], properties=persistent())
        self.conn.close()
        self.assertEqual(self.broker.stop(keep_data=True), 0)
        self.broker.restart()

        conn = self.connect()
        self.assertTrue(queue_exists(conn, durable))
        self.assertFalse(queue_exists(conn, transient))
        self.assertEqual(get_bodies(conn.channel(), durable), ["p1", "p2"])


if __name__ == "__main__":
    unittest.main()

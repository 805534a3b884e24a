"""Channel-level errors close that channel only: other channels on the same
connection and other connections carry on, consumers included."""

import unittest

import pika.exceptions

from harness import BrokerTest
from pika_util import Inbox, publish_all, wait_until


class ChannelErrorTest(BrokerTest):
    def test_errors_close_only_their_channel(self):
        conn = self.connect()
        other = self.connect()
        q = self.uniq("q")
        setup = conn.channel()
        setup.confirm_delivery()
        setup.queue_declare(q, arguments={"x-max-length": 100})
        locked = self.uniq("locked")
        other.channel().queue_declare(locked, exclusive=True)

        # A consumer on each connection, both on q.
        here, there = Inbox(), Inbox()
        conn.channel().basic_consume(q, here, auto_ack=True)
        other.channel().basic_consume(q, there, auto_ack=True)

        def ack_unknown_tag(ch):
            ch.basic_ack(999)
            ch.basic_qos(prefetch_count=1)  # a synchronous call, to meet the asynchronous error

        def publish_to_missing_exchange(ch):
            ch.basic_publish(self.uniq("absent"), "k", b"m")
            ch.basic_qos(prefetch_count=1)

        failures = [
            (404, lambda ch: ch.queue_declare(self.uniq("absent"), passive=True)),
            (404, lambda ch: ch.exchange_declare(self.uniq("absent"), passive=True)),
            (406, lambda ch: ch.queue_declare(q, arguments={"x-max-length": 1})),
            (403, lambda ch: ch.exchange_declare("amq.reserved", "direct")),
            (405, lambda ch: ch.queue_declare(locked, passive=True)),
            (406, ack_unknown_tag),
            (404, publish_to_missing_exchange),
        ]
        for code, attempt in failures:
            ch = conn.channel()
            self.assertChannelClosed(code, attempt, ch)
            self.assertTrue(ch.is_closed)
            self.assertTrue(conn.is_open, f"a {code} must not close the connection")

        publish_all(setup, "", q, [f"m{i}" for i in range(4)])
        wait_until(lambda: len(here) + len(there) == 4, "4 deliveries across both consumers", conn=[conn, other])
        self.assertEqual(len(here), 2)  # round robin: both consumers kept consuming
        self.assertEqual(sorted(here.bodies + there.bodies), ["m0", "m1", "m2", "m3"])
        self.assertTrue(other.is_open and conn.is_open)
        self.assertTrue(setup.is_open)

    def test_closed_channel_number_can_be_used_again(self):
        conn = self.connect()
        ch = conn.channel()
        number = ch.channel_number
        self.assertChannelClosed(404, ch.queue_declare, self.uniq("absent"), passive=True)
        again = conn.channel(channel_number=number)
        q = again.queue_declare("", exclusive=True).method.queue
        again.basic_publish("", q, b"m")
        self.assertEqual(again.basic_get(q, auto_ack=True)[2], b"m")

    def test_using_a_channel_after_the_broker_closed_it_fails_in_the_client(self):
        conn = self.connect()
        ch = conn.channel()
        self.assertChannelClosed(404, ch.queue_declare, self.uniq("absent"), passive=True)
        with self.assertRaises(pika.exceptions.ChannelWrongStateError):
            ch.queue_declare("", exclusive=True)
        self.assertTrue(conn.is_open)


if __name__ == "__main__":
    unittest.main()

"""Queue length limits (x-max-length, x-max-length-bytes) and the overflow
modes drop-head (the default), reject-publish and reject-publish-dlx."""

import unittest

import pika.exceptions

from harness import BrokerTest
from pika_util import DlxFixture, get_bodies, get_one, publish_all, queue_counts


class MaxLengthTest(DlxFixture, BrokerTest):
    def limited(self, **args):
        return self.dead_lettering_queue("q", **args)

    def test_drop_head_dead_letters_the_oldest(self):
        q = self.limited(**{"x-max-length": 2})  # drop-head is the default
        publish_all(self.ch, "", q, ["m0", "m1", "m2", "m3"])  # all four accepted (acked)
        self.assertEqual(get_bodies(self.ch, q), ["m2", "m3"])
        for expected in (b"m0", b"m1"):
            _, p, body = get_one(self.ch, self.dead, f"{expected} dead-lettered")
            self.assertEqual(body, expected)
            d = p.headers["x-death"][0]
            self.assertEqual((d["queue"], d["reason"], d["count"]), (q, "maxlen", 1))

    def test_unacked_messages_do_not_count_against_the_limit(self):
        q = self.limited(**{"x-max-length": 1, "x-overflow": "drop-head"})
        publish_all(self.ch, "", q, ["m0"])
        taken, _, _ = self.ch.basic_get(q, auto_ack=False)
        publish_all(self.ch, "", q, ["m1"])  # m0 is out for delivery: room for m1
        self.assertEqual(queue_counts(self.ch, q), (1, 0))
        self.ch.basic_ack(taken.delivery_tag)
        self.assertEqual(get_bodies(self.ch, q), ["m1"])
        self.assertEqual(get_bodies(self.ch, self.dead), [])

    def test_reject_publish_nacks_new_messages_and_keeps_the_old(self):
        q = self.uniq("q")
        self.ch.queue_declare(q, arguments={"x-max-length": 2, "x-overflow": "reject-publish",
                                            "x-dead-letter-exchange": self.dlx})
        publish_all(self.ch, "", q, ["m0", "m1"])
        with self.assertRaises(pika.exceptions.NackError):
            self.ch.basic_publish("", q, b"m2")
        self.assertEqual(get_bodies(self.ch, q), ["m0", "m1"])
        # reject-publish does not dead-letter what it refuses.
        self.assertEqual(get_bodies(self.ch, self.dead), [])
        publish_all(self.ch, "", q, ["m3"])  # emptied: accepted again
        self.assertEqual(get_bodies(self.ch, q), ["m3"])

    def test_reject_publish_nacks_even_if_another_queue_took_a_copy(self):
        # Routed to a full reject-publish queue and to an open one: the
        # publish is still nacked, and the open queue still got its copy.
        full = self.uniq("full")
        self.ch.queue_declare(full, arguments={"x-max-length": 0, "x-overflow": "reject-publish"})
        open_q = self.uniq("open")
        self.ch.queue_declare(open_q)
        x = self.uniq("x")
        self.ch.exchange_declare(x, "fanout")
        self.ch.queue_bind(full, x)
        self.ch.queue_bind(open_q, x)
        with self.assertRaises(pika.exceptions.NackError):
            self.ch.basic_publish(x, "", b"m")
        self.assertEqual(get_bodies(self.ch, open_q), ["m"])
        self.assertEqual(get_bodies(self.ch, full), [])

    def test_reject_publish_dlx_nacks_and_dead_letters(self):
        q = self.limited(**{"x-max-length": 1, "x-overflow": "reject-publish-dlx"})
        publish_all(self.ch, "", q, ["m0"])
        with self.assertRaises(pika.exceptions.NackError):
            self.ch.basic_publish("", q, b"m1")
        self.assertEqual(get_bodies(self.ch, q), ["m0"])
        _, p, body = get_one(self.ch, self.dead, "the refused message dead-lettered")
        self.assertEqual(body, b"m1")
        d = p.headers["x-death"][0]
        self.assertEqual((d["queue"], d["reason"]), (q, "maxlen"))

    def test_max_length_bytes_counts_body_bytes(self):
        q = self.limited(**{"x-max-length-bytes": 10})
        publish_all(self.ch, "", q, ["aaaa", "bbbb", "cc"])  # 10 bytes: fits exactly
        self.assertEqual(queue_counts(self.ch, q), (3, 0))
        publish_all(self.ch, "", q, ["dddd"])  # 14: the oldest go until it fits again
        self.assertEqual(get_bodies(self.ch, q), ["bbbb", "cc", "dddd"])
        _, _, body = get_one(self.ch, self.dead, "the dropped head")
        self.assertEqual(body, b"aaaa")

    def test_max_length_bytes_with_reject_publish(self):
        q = self.uniq("q")
        self.ch.queue_declare(q, arguments={"x-max-length-bytes": 6, "x-overflow": "reject-publish"})
        publish_all(self.ch, "", q, ["abc", "def"])
        with self.assertRaises(pika.exceptions.NackError):
            self.ch.basic_publish("", q, b"g")
        self.assertEqual(get_bodies(self.ch, q), ["abc", "def"])

    def test_both_limits_the_stricter_wins(self):
        q = self.limited(**{"x-max-length": 5, "x-max-length-bytes": 4})
        publish_all(self.ch, "", q, ["1", "2", "3", "4", "5", "6"])
        self.assertEqual(get_bodies(self.ch, q), ["3", "4", "5", "6"])


if __name__ == "__main__":
    unittest.main()

"""Message TTL (per queue and per message) and dead-lettering: expired and
rejected messages go to the dead-letter exchange with x-death headers
saying where they died and why."""

import decimal
import time
import unittest

import pika

from harness import BrokerTest
from pika_util import DlxFixture, get_bodies, get_one, publish_all, queue_counts


class DeadLetterTest(DlxFixture, BrokerTest):
    def source(self, **args):
        return self.dead_lettering_queue("src", **args)

    def dead_letter(self, what):
        return get_one(self.ch, self.dead, what)

    def test_queue_ttl_expiry_dead_letters_with_x_death(self):
        q = self.source(**{"x-message-ttl": 50})
        x = self.uniq("x")
        self.ch.exchange_declare(x, "direct")
        self.ch.queue_bind(q, x, routing_key="rk")
        props = pika.BasicProperties(content_type="text/plain", headers={"app": "kept"}, message_id="id-1")
        self.ch.basic_publish(x, "rk", b"expiring", props)

        method, p, body = self.dead_letter("the expired message in the DLX queue")
        self.assertEqual(body, b"expiring")
        self.assertEqual(method.exchange, self.dlx)
        self.assertEqual(method.routing_key, "rk")  # the original key, no x-dead-letter-routing-key set
        self.assertEqual((p.content_type, p.message_id, p.headers["app"]), ("text/plain", "id-1", "kept"))
        deaths = p.headers["x-death"]
        self.assertEqual(len(deaths), 1)
        d = deaths[0]
        self.assertEqual((d["queue"], d["reason"], d["count"], d["exchange"], d["routing-keys"]),
                         (q, "expired", 1, x, ["rk"]))
        self.assertIn("time", d)
        self.assertNotIn("original-expiration", d)
        self.assertEqual((p.headers["x-first-death-queue"], p.headers["x-first-death-reason"],
                          p.headers["x-first-death-exchange"]), (q, "expired", x))
        self.assertEqual(queue_counts(self.ch, q), (0, 0))

    def test_per_message_expiration(self):
        q = self.source()
        self.ch.basic_publish("", q, b"short", pika.BasicProperties(expiration="50"))
        self.ch.basic_publish("", q, b"forever")
        _, p, body = self.dead_letter("the expired message")
        self.assertEqual(body, b"short")
        d = p.headers["x-death"][0]
        self.assertEqual((d["queue"], d["reason"], d["exchange"], d["routing-keys"]), (q, "expired", "", [q]))
        # The expiration moves into x-death so the dead letter does not expire again.
        self.assertEqual(d["original-expiration"], "50")
        self.assertIsNone(p.expiration)
        self.assertEqual(get_bodies(self.ch, q), ["forever"])

    def test_expired_message_is_never_delivered(self):
        q = self.source()
        self.ch.basic_publish("", q, b"first")
        self.ch.basic_publish("", q, b"short", pika.BasicProperties(expiration="50"))
        self.ch.basic_publish("", q, b"last")
        time.sleep(0.3)  # past the expiration of "short" (whatever happens to it meanwhile)
        self.assertEqual(get_bodies(self.ch, q), ["first", "last"])
        _, p, body = self.dead_letter("the expired message")
        self.assertEqual((body, p.headers["x-death"][0]["reason"]), (b"short", "expired"))

    def test_lower_of_queue_and_message_ttl_applies(self):
        q = self.source(**{"x-message-ttl": 60000})
        self.ch.basic_publish("", q, b"short", pika.BasicProperties(expiration="50"))
        _, p, body = self.dead_letter("the message with the shorter own TTL")
        self.assertEqual((body, p.headers["x-death"][0]["reason"]), (b"short", "expired"))

    def test_reject_and_nack_without_requeue_dead_letter_as_rejected(self):
        q = self.source()
        publish_all(self.ch, "", q, ["r", "n", "kept"])
        m_r, _, _ = self.ch.basic_get(q)
        m_n, _, _ = self.ch.basic_get(q)
        m_k, _, _ = self.ch.basic_get(q)
        self.ch.basic_reject(m_r.delivery_tag, requeue=False)
        self.ch.basic_nack(m_n.delivery_tag, requeue=False)
        self.ch.basic_reject(m_k.delivery_tag, requeue=True)  # requeued: not dead-lettered
        for expected in (b"r", b"n"):
            _, p, body = self.dead_letter(f"{expected} in the DLX queue")
            self.assertEqual(body, expected)
            d = p.headers["x-death"][0]
            self.assertEqual((d["queue"], d["reason"], d["count"]), (q, "rejected", 1))
        self.assertEqual(get_bodies(self.ch, self.dead), [])
        self.assertEqual(get_bodies(self.ch, q), ["kept"])

    def test_dead_letter_routing_key_replaces_the_key(self):
        dlx = self.uniq("dlx")
        self.ch.exchange_declare(dlx, "direct")
        parked = self.uniq("parked")
        self.ch.queue_declare(parked)
        self.ch.queue_bind(parked, dlx, routing_key="parking")
        self.ch.queue_bind(self.dead, dlx, routing_key="orig")  # would match the original key
        q = self.uniq("src")
        self.ch.queue_declare(q, arguments={"x-dead-letter-exchange": dlx, "x-dead-letter-routing-key": "parking"})
        self.ch.queue_bind(q, "amq.direct", routing_key="orig")
        self.ch.basic_publish("amq.direct", "orig", b"m")
        m, _, _ = self.ch.basic_get(q)
        self.ch.basic_reject(m.delivery_tag, requeue=False)
        method, p, body = get_one(self.ch, parked, "the message under the new key")
        self.assertEqual((body, method.routing_key), (b"m", "parking"))
        self.assertEqual(p.headers["x-death"][0]["routing-keys"], ["orig"])  # the key it had
        self.assertEqual(get_bodies(self.ch, self.dead), [])

    def test_decimal_headers_stay_decimals_through_a_headers_dlx(self):
        # pika sends decimal.Decimal as 'D'. The dead letter is re-routed from the
        # stored headers, so a headers DLX bound on the decimal must still match.
        dlx = self.uniq("dlx")
        self.ch.exchange_declare(dlx, "headers")
        priced = self.uniq("priced")
        self.ch.queue_declare(priced)
        self.ch.queue_bind(priced, dlx, arguments={"x-match": "all", "price": decimal.Decimal("123.45")})
        q = self.uniq("src")
        self.ch.queue_declare(q, arguments={"x-dead-letter-exchange": dlx})
        headers = {"price": decimal.Decimal("123.45"), "tiny": decimal.Decimal("-0.005")}
        self.ch.basic_publish("", q, b"m", pika.BasicProperties(headers=headers))
        m, p, _ = self.ch.basic_get(q)
        # str keeps the scale: "123.45", not the text of a float or a string header.
        self.assertEqual({k: (type(p.headers[k]), str(p.headers[k])) for k in headers},
                         {"price": (decimal.Decimal, "123.45"), "tiny": (decimal.Decimal, "-0.005")})
        self.ch.basic_reject(m.delivery_tag, requeue=False)
        _, p, body = get_one(self.ch, priced, "the dead letter routed on its decimal header")
        self.assertEqual((body, str(p.headers["price"]), str(p.headers["tiny"])), (b"m", "123.45", "-0.005"))

    def test_dead_letter_exchange_may_be_the_default_exchange(self):
        target = self.uniq("target")
        self.ch.queue_declare(target)
        q = self.uniq("src")
        self.ch.queue_declare(q, arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": target})
        publish_all(self.ch, "", q, ["m"])
        m, _, _ = self.ch.basic_get(q)
        self.ch.basic_nack(m.delivery_tag, requeue=False)
        _, p, body = get_one(self.ch, target, "the dead letter via the default exchange")
        self.assertEqual((body, p.headers["x-death"][0]["exchange"]), (b"m", ""))

    def test_repeated_deaths_count_up_and_newest_comes_first(self):
        q = self.source()
        publish_all(self.ch, "", q, ["m"])
        m, _, _ = self.ch.basic_get(q)
        self.ch.basic_reject(m.delivery_tag, requeue=False)
        _, p, body = self.dead_letter("the first death")

        # Send it back to the same queue with its headers and kill it again the same way.
        self.ch.basic_publish("", q, body, p)
        m, _, _ = self.ch.basic_get(q)
        self.ch.basic_reject(m.delivery_tag, requeue=False)
        _, p, _ = self.dead_letter("the second death")
        self.assertEqual([(d["queue"], d["reason"], d["count"]) for d in p.headers["x-death"]],
                         [(q, "rejected", 2)])  # one entry per (queue, reason), counted

        # A different reason in another queue adds an entry at the front.
        q2 = self.source(**{"x-message-ttl": 20})
        self.ch.basic_publish("", q2, body, p)
        _, p, _ = self.dead_letter("the third death")
        self.assertEqual([(d["queue"], d["reason"], d["count"]) for d in p.headers["x-death"]],
                         [(q2, "expired", 1), (q, "rejected", 2)])
        self.assertEqual((p.headers["x-first-death-queue"], p.headers["x-first-death-reason"]), (q, "rejected"))

    def test_missing_dead_letter_exchange_drops_the_message(self):
        q = self.uniq("src")
        self.ch.queue_declare(q, arguments={"x-dead-letter-exchange": self.uniq("absent")})
        publish_all(self.ch, "", q, ["m", "n"])
        m, _, _ = self.ch.basic_get(q)
        self.ch.basic_reject(m.delivery_tag, requeue=False)
        self.assertEqual(get_bodies(self.ch, q), ["n"])
        self.assertTrue(self.conn.is_open)


if __name__ == "__main__":
    unittest.main()

"""Ack modes, NACK and redelivery, dead letters after the redelivery limit, prefetch."""

import unittest

from harness import QUIET_S, StompTest, uniq, wait_until

MAX_REDELIVERIES = 6  # the default (stomp.max_redeliveries), ActiveMQ's maximumRedeliveries


class Acks(StompTest):
    shared_broker = True

    def fill(self, q, n, prefix="m"):
        p, lp = self.stomp()
        for i in range(1, n + 1):
            p.send(q, f"{prefix}{i}")
        self.send_receipted(p, lp, q, "end")  # all stored before anyone subscribes
        p.disconnect()
        return [f"{prefix}{i}" for i in range(1, n + 1)] + ["end"]

    def drain(self, q):
        """What is left in q (auto ack, read until quiet)."""
        c, lc = self.stomp()
        self.subscribe_receipted(c, lc, q, "drain")
        wait_until(lambda: False, QUIET_S)
        self.bye(c, lc)
        return lc.bodies()

    def test_auto_ack_consumes(self):
        q = "/queue/" + uniq("q")
        sent = self.fill(q, 3)
        c, lc = self.stomp()
        self.subscribe_receipted(c, lc, q, "s")
        got = lc.wait_messages(4)
        self.assertEqual([m.body for m in got], sent)
        self.assertNotIn("ack", got[0].headers, "auto-ack MESSAGE carries an ack id")
        self.bye(c, lc)
        self.assertEqual(self.drain(q), [], "auto-acked messages came back")

    def test_client_ack_is_cumulative(self):
        q = "/queue/" + uniq("q")
        self.fill(q, 5)
        c, lc = self.stomp()
        self.subscribe_receipted(c, lc, q, "s", ack="client")
        got = lc.wait_messages(6)
        self.assertEqual([m.body for m in got][:5], ["m1", "m2", "m3", "m4", "m5"])
        for m in got:
            self.assertNotEqual(m.headers.get("redelivered"), "true")  # Wharf omits it when false
        c.ack(got[2].headers["ack"], receipt="acked")  # m3: acks m1..m3
        self.assertTrue(lc.wait_receipt("acked"))
        self.bye(c, lc)
        d, ld = self.stomp()
        self.subscribe_receipted(d, ld, q, "s", ack="client")
        again = ld.wait_messages(3)
        self.assertEqual([m.body for m in again], ["m4", "m5", "end"])
        wait_until(lambda: len(ld.messages) > 3, QUIET_S)
        self.assertEqual(len(ld.messages), 3, "an acked message came back")
        for m in again:
            self.assertEqual(m.headers.get("redelivered"), "true", m.headers)

    def test_cumulative_ack_stays_within_its_subscription(self):
        qa, qb = "/queue/" + uniq("qa"), "/queue/" + uniq("qb")
        c, lc = self.stomp()
        self.subscribe_receipted(c, lc, qa, "a", ack="client")
        self.subscribe_receipted(c, lc, qb, "b", ack="client")
        p, lp = self.stomp()
        for i in range(3):
            self.send_receipted(p, lp, qb, f"b{i}")  # b's deliveries come first
        for i in range(3):
            self.send_receipted(p, lp, qa, f"a{i}")
        got = lc.wait_messages(6)
        last_a = [m for m in got if m.headers["subscription"] == "a"][-1]
        c.ack(last_a.headers["ack"], receipt="acked")  # acks a0..a2 only, not b's earlier ones
        self.assertTrue(lc.wait_receipt("acked"))
        c.disconnect(receipt="bye")
        self.assertTrue(lc.wait_receipt("bye"))
        self.assertEqual(self.drain(qa), [])
        self.assertEqual(self.drain(qb), ["b0", "b1", "b2"])

    def test_client_ack_1_1_uses_message_id(self):
        q = "/queue/" + uniq("q")
        self.fill(q, 2)
        c, lc = self.stomp("1.1")
        self.subscribe_receipted(c, lc, q, "s", ack="client")
        got = lc.wait_messages(3)
        c.ack(got[1].headers["message-id"], "s", receipt="acked")
        self.assertTrue(lc.wait_receipt("acked"))
        self.bye(c, lc)
        self.assertEqual(self.drain(q), ["end"])

    def test_client_individual_acks_only_that_message(self):
        q = "/queue/" + uniq("q")
        self.fill(q, 5)
        c, lc = self.stomp()
        self.subscribe_receipted(c, lc, q, "s", ack="client-individual")
        got = lc.wait_messages(6)
        for m in got:
            if m.body in ("m1", "m3", "m5", "end"):
                c.ack(m.headers["ack"])
        c.disconnect(receipt="bye")
        self.assertTrue(lc.wait_receipt("bye"))
        self.assertEqual(self.drain(q), ["m2", "m4"])

    def test_nack_redelivers_with_count_then_dead_letters(self):
        name = uniq("q")
        q = "/queue/" + name
        p, lp = self.stomp()
        self.send_receipted(p, lp, q, "poison", **{"x-tag": "t1"})
        c, lc = self.stomp()
        self.subscribe_receipted(c, lc, q, "s", ack="client-individual")
        seen = 0
        counts = []
        while True:
            got = lc.wait_messages(seen + 1)
            if len(got) <= seen:
                break  # no more deliveries: it went to the DLQ
            m = got[seen]
            seen += 1
            self.assertEqual(m.body, "poison")
            counts.append((m.headers.get("redelivered"), m.headers.get("JMSXDeliveryCount")))
            self.assertLessEqual(seen, MAX_REDELIVERIES + 5, "the redelivery limit is not enforced")
            c.nack(m.headers["ack"])
        self.assertEqual(seen, 1 + MAX_REDELIVERIES, counts)
        self.assertNotEqual(counts[0][0], "true")
        self.assertTrue(all(r == "true" for r, _ in counts[1:]), counts)
        delivery_counts = [int(n) for _, n in counts]
        self.assertEqual(delivery_counts, list(range(1, 2 + MAX_REDELIVERIES)), counts)
        # In DLQ.<queue>, headers kept.
        d, ld = self.stomp()
        self.subscribe_receipted(d, ld, f"/queue/DLQ.{name}", "dlq")
        dead = ld.wait_messages(1)
        self.assertEqual([m.body for m in dead], ["poison"])
        self.assertEqual(dead[0].headers.get("x-tag"), "t1")
        # And no longer in the queue.
        self.assertEqual(self.drain(q), [])
        # It says where it came from, so a client can move it back: SEND it to its
        # original destination and ACK it in the DLQ, in one transaction.
        self.assertEqual(dead[0].headers.get("original-destination"), q)
        self.assertEqual(dead[0].headers.get("x-first-death-reason"), "delivery_limit")

    def test_dead_letter_moved_back(self):
        name = uniq("q")
        q = "/queue/" + name
        p, lp = self.stomp()
        self.send_receipted(p, lp, q, "expired-once", expires="1")  # already expired: straight to the DLQ
        m, lm = self.stomp()
        self.subscribe_receipted(m, lm, f"/queue/DLQ.{name}", "dlq", ack="client-individual")
        dead = lm.wait_messages(1)
        self.assertEqual([x.body for x in dead], ["expired-once"])
        back = dead[0].headers["original-destination"]
        self.assertEqual(back, q)
        m.begin("mv")
        m.send(back, dead[0].body, transaction="mv", **{"x-moved": "yes"})
        m.ack(dead[0].headers["ack"], transaction="mv")
        m.commit("mv", receipt="moved")
        self.assertTrue(lm.wait_receipt("moved"))
        self.assertEqual(self.drain(q), ["expired-once"])
        self.assertEqual(self.drain(f"/queue/DLQ.{name}"), [])

    def test_unacked_return_when_connection_closes(self):
        q = "/queue/" + uniq("q")
        self.fill(q, 3)
        # A raw client that reads its messages and vanishes without DISCONNECT.
        r = self.raw(connect=True)
        r.send_frame("SUBSCRIBE", [("destination", q), ("id", "s"), ("ack", "client")])
        got = [r.read_frame() for _ in range(4)]
        self.assertEqual([f.body for f in got], [b"m1", b"m2", b"m3", b"end"])
        r.close()
        c, lc = self.stomp()
        self.subscribe_receipted(c, lc, q, "s", ack="client")
        again = lc.wait_messages(4)
        self.assertEqual([m.body for m in again], ["m1", "m2", "m3", "end"])
        self.assertTrue(all(m.headers.get("redelivered") == "true" for m in again))
        self.assertEqual(again[0].headers.get("JMSXDeliveryCount"), "2")

    def test_unsubscribe_returns_unacked(self):
        q = "/queue/" + uniq("q")
        self.fill(q, 2)
        c, lc = self.stomp()
        self.subscribe_receipted(c, lc, q, "s", ack="client-individual")
        self.assertEqual(len(lc.wait_messages(3)), 3)
        c.unsubscribe("s", receipt="u")
        self.assertTrue(lc.wait_receipt("u"))
        d, ld = self.stomp()
        self.subscribe_receipted(d, ld, q, "s")
        self.assertEqual(sorted(m.body for m in ld.wait_messages(3)), ["end", "m1", "m2"])

    def test_resubscribe_with_same_id_gets_unacked_again(self):
        q = "/queue/" + uniq("q")
        self.fill(q, 1)
        c, lc = self.stomp()
        self.subscribe_receipted(c, lc, q, "s", ack="client-individual")
        first = lc.wait_messages(2)
        c.unsubscribe("s", receipt="u")
        self.assertTrue(lc.wait_receipt("u"))
        lc.take()
        self.subscribe_receipted(c, lc, q, "s", ack="client-individual")
        again = lc.wait_messages(2)
        self.assertEqual(sorted(m.body for m in again), ["end", "m1"])
        self.assertTrue(all(m.headers.get("redelivered") == "true" for m in again))
        # An ack id of the first subscription no longer counts; the new ones do.
        for m in first:
            c.ack(m.headers["ack"])
        c.ack(again[0].headers["ack"], receipt="a")
        self.assertTrue(lc.wait_receipt("a"))
        c.disconnect(receipt="bye")
        self.assertTrue(lc.wait_receipt("bye"))
        self.assertEqual(self.drain(q), [again[1].body])

    def test_prefetch_limits_unacked(self):
        q = "/queue/" + uniq("q")
        self.fill(q, 5)
        c, lc = self.stomp()
        self.subscribe_receipted(c, lc, q, "s", ack="client-individual", **{"activemq.prefetchSize": "2"})
        self.assertEqual(len(lc.wait_messages(2)), 2)
        wait_until(lambda: len(lc.messages) > 2, QUIET_S)
        self.assertEqual(lc.bodies(), ["m1", "m2"], "more than the prefetch delivered before an ACK")
        c.ack(lc.messages[0].headers["ack"])
        self.assertEqual(len(lc.wait_messages(3)), 3)
        wait_until(lambda: len(lc.messages) > 3, QUIET_S)
        self.assertEqual(lc.bodies(), ["m1", "m2", "m3"])
        # A second consumer gets what the first cannot take.
        d, ld = self.stomp()
        self.subscribe_receipted(d, ld, q, "s2", ack="client-individual", **{"prefetch-count": "1"})
        self.assertEqual(ld.bodies() or [m.body for m in ld.wait_messages(1)], ["m4"])

    def test_ack_of_unknown_id_is_an_error(self):
        c, lc = self.stomp()
        c.ack("not-an-id")
        err = lc.wait_error()
        self.assertIsNotNone(err)
        self.assertIn("unknown", err.headers.get("message", ""))


if __name__ == "__main__":
    unittest.main()

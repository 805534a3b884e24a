"""Destinations: /queue, /topic (with wildcards), /exchange, /amq/queue, /temp-queue, and receipts."""

import time
import unittest

import pika

from harness import QUIET_S, StompTest, uniq, wait_until


class Destinations(StompTest):
    shared_broker = True

    def test_queue_round_robin_each_message_once(self):
        q = "/queue/" + uniq("q")
        a, la = self.stomp()
        b, lb = self.stomp()
        self.subscribe_receipted(a, la, q, "a")
        self.subscribe_receipted(b, lb, q, "b")
        p, lp = self.stomp()
        sent = [f"m{i}" for i in range(20)]
        for body in sent:
            p.send(q, body)
        self.send_receipted(p, lp, q, "last")
        sent.append("last")
        self.assertTrue(wait_until(lambda: len(la.messages) + len(lb.messages) >= len(sent)))
        wait_until(lambda: len(la.messages) + len(lb.messages) > len(sent), QUIET_S)
        got_a, got_b = la.bodies(), lb.bodies()
        self.assertEqual(sorted(got_a + got_b), sorted(sent), "a message was lost or delivered twice")
        self.assertTrue(got_a and got_b, f"no round robin: a={len(got_a)} b={len(got_b)}")
        # Each consumer sees its share in send order.
        self.assertEqual(got_a, [m for m in sent if m in got_a])
        for m in la.messages:
            self.assertEqual(m.headers["destination"], q)
            self.assertEqual(m.headers["subscription"], "a")

    def test_message_headers(self):
        q = "/queue/" + uniq("q")
        c, lc = self.stomp()
        self.subscribe_receipted(c, lc, q, "s")
        before = int(time.time() * 1000)
        self.send_receipted(c, lc, q, "one", **{"content-type": "text/plain"})
        self.send_receipted(c, lc, q, "two")
        got = lc.wait_messages(2)
        after = int(time.time() * 1000)
        h = got[0].headers
        self.assertEqual((h["destination"], h["subscription"], h["content-type"]), (q, "s", "text/plain"))
        self.assertEqual((h["priority"], h["expires"], h["JMSXDeliveryCount"]), ("4", "0", "1"))
        # When the broker took it: wall-clock milliseconds (a second of slack for clock granularity).
        self.assertTrue(before - 1000 <= int(h["timestamp"]) <= after + 1000, h["timestamp"])
        self.assertNotEqual(got[0].headers["message-id"], got[1].headers["message-id"])
        self.assertEqual(h["content-length"], "3")

    def test_utf8_names_and_values(self):
        q = "/queue/" + uniq("ünï") + "-✓"
        c, lc = self.stomp()
        self.subscribe_receipted(c, lc, q, "s")
        self.send_receipted(c, lc, q, "Grüße ✓", **{"x-näme": "Zoë ✓", "content-type": "text/plain;charset=utf-8"})
        m = lc.wait_messages(1)
        self.assertEqual(len(m), 1)
        self.assertEqual((m[0].body, m[0].headers.get("x-näme"), m[0].headers["destination"]), ("Grüße ✓", "Zoë ✓", q))

    def test_topic_fan_out(self):
        t = uniq("t")
        subs = []
        for i in range(3):
            c, lst = self.stomp()
            self.subscribe_receipted(c, lst, "/topic/" + t, f"s{i}")
            subs.append(lst)
        p, lp = self.stomp()
        for i in range(5):
            p.send("/topic/" + t, f"n{i}")
        self.send_receipted(p, lp, "/topic/" + t, "end")
        for lst in subs:
            got = lst.wait_messages(6)
            self.assertEqual([m.body for m in got], [f"n{i}" for i in range(5)] + ["end"])
            self.assertEqual(got[0].headers["destination"], "/topic/" + t)

    def test_topic_without_subscribers_drops(self):
        t = "/topic/" + uniq("t")
        p, lp = self.stomp()
        self.send_receipted(p, lp, t, "nobody listens")
        c, lc = self.stomp()
        self.subscribe_receipted(c, lc, t, "late")
        self.send_receipted(p, lp, t, "now")
        self.assertEqual([m.body for m in lc.wait_messages(1)], ["now"])
        wait_until(lambda: len(lc.messages) > 1, QUIET_S)
        self.assertEqual(lc.bodies(), ["now"])

    def test_topic_wildcards(self):
        base = uniq("w").replace(".", "_")
        star, lstar = self.stomp()
        self.subscribe_receipted(star, lstar, f"/topic/{base}.*.price", "star")
        deep, ldeep = self.stomp()
        self.subscribe_receipted(deep, ldeep, f"/topic/{base}.>", "deep")
        p, lp = self.stomp()
        keys = [f"{base}.ibm.price", f"{base}.ibm.volume", f"{base}.a.b.price", f"{base}.hp.price", "other.ibm.price"]
        for k in keys:
            self.send_receipted(p, lp, "/topic/" + k, k)
        self.assertEqual([m.body for m in lstar.wait_messages(2)], [f"{base}.ibm.price", f"{base}.hp.price"])
        self.assertEqual([m.body for m in ldeep.wait_messages(4)], keys[:4])
        wait_until(lambda: len(lstar.messages) > 2 or len(ldeep.messages) > 4, QUIET_S)
        self.assertEqual(len(lstar.messages), 2)
        self.assertEqual(len(ldeep.messages), 4)
        # The MESSAGE names the topic it went to, not the pattern.
        self.assertEqual(lstar.messages[0].headers["destination"], f"/topic/{base}.ibm.price")

    def test_exchange_direct_with_key(self):
        c, lc = self.stomp()
        key = uniq("k")
        self.subscribe_receipted(c, lc, f"/exchange/amq.direct/{key}", "d")
        p, lp = self.stomp()
        self.send_receipted(p, lp, f"/exchange/amq.direct/{key}", "hit")
        self.send_receipted(p, lp, f"/exchange/amq.direct/{key}-other", "miss")
        self.assertEqual([m.body for m in lc.wait_messages(1)], ["hit"])
        wait_until(lambda: len(lc.messages) > 1, QUIET_S)
        self.assertEqual(lc.bodies(), ["hit"])

    def test_amq_queue_existing(self):
        q = uniq("q")
        ch = self.channel()
        ch.queue_declare(q, durable=True)
        p, lp = self.stomp()
        self.send_receipted(p, lp, f"/amq/queue/{q}", "to existing")
        c, lc = self.stomp()
        self.subscribe_receipted(c, lc, f"/amq/queue/{q}", "s")
        self.assertEqual([m.body for m in lc.wait_messages(1)], ["to existing"])

    def test_amq_queue_missing_is_an_error(self):
        for frame in ("send", "subscribe"):
            with self.subTest(frame=frame):
                c, lc = self.stomp()
                missing = f"/amq/queue/{uniq('missing')}"
                if frame == "send":
                    c.send(missing, "x", receipt="r")
                else:
                    c.subscribe(missing, "s", receipt="r")
                err = lc.wait_error()
                self.assertIsNotNone(err, "no ERROR for a queue that does not exist")
                self.assertIn("no queue", err.headers.get("message", ""))
                self.assertEqual(err.headers.get("receipt-id"), "r")
                self.assertTrue(wait_until(lambda: lc.disconnected))
                # It was not created either.
                ch = self.channel()
                with self.assertRaises(pika.exceptions.ChannelClosedByBroker):
                    ch.queue_declare(missing.rsplit("/", 1)[1], passive=True)

    def test_temp_queue_request_reply(self):
        service = "/queue/" + uniq("service")
        # The replier answers each request on its reply-to.
        replier, lr = self.stomp()
        self.subscribe_receipted(replier, lr, service, "svc")
        requester, lq = self.stomp()
        self.subscribe_receipted(requester, lq, "/temp-queue/answers", "ans")
        for i in range(3):
            requester.send(service, f"q{i}", headers={"reply-to": "/temp-queue/answers", "correlation-id": f"c{i}"})
        reqs = lr.wait_messages(3)
        self.assertEqual(len(reqs), 3)
        for m in reqs:
            reply_to = m.headers["reply-to"]
            # Rewritten to something the replier can address.
            self.assertNotIn("/temp-queue/", reply_to)
            replier.send(reply_to, "re:" + m.body, headers={"correlation-id": m.headers["correlation-id"]})
        got = lq.wait_messages(3)
        self.assertEqual(sorted((m.headers["correlation-id"], m.body) for m in got),
                         [(f"c{i}", f"re:q{i}") for i in range(3)])

    def test_temp_queue_is_private_to_its_connection(self):
        a, la = self.stomp()
        self.subscribe_receipted(a, la, "/temp-queue/mine", "t")
        b, lb = self.stomp()
        # The same temp name on another connection is another queue.
        self.subscribe_receipted(b, lb, "/temp-queue/mine", "t")
        self.send_receipted(b, lb, "/temp-queue/mine", "for b")
        self.assertEqual([m.body for m in lb.wait_messages(1)], ["for b"])
        wait_until(lambda: la.messages, QUIET_S)
        self.assertEqual(la.bodies(), [])

    def test_temp_queue_goes_with_its_connection(self):
        service = "/queue/" + uniq("service")
        replier, lr = self.stomp()
        self.subscribe_receipted(replier, lr, service, "svc")
        requester, lq = self.stomp()
        self.subscribe_receipted(requester, lq, "/temp-queue/gone", "ans")
        self.send_receipted(requester, lq, service, "ping", **{"reply-to": "/temp-queue/gone"})
        reply_to = lr.wait_messages(1)[0].headers["reply-to"]
        requester.disconnect(receipt="bye")
        self.assertTrue(lq.wait_receipt("bye"))
        # Its queue is deleted (perhaps a moment after the close): a reply is refused.
        def refused():
            c, lc = self.stomp()
            c.send(reply_to, "too late", receipt="r")
            wait_until(lambda: lc.errors or "r" in lc.receipts)
            return bool(lc.errors) and "no queue" in lc.errors[0].headers.get("message", "")
        self.assertTrue(wait_until(refused), "a temporary queue outlived its connection")

    def test_duplicate_subscription_id_is_an_error(self):
        c, lc = self.stomp()
        self.subscribe_receipted(c, lc, "/queue/" + uniq("q"), "same")
        c.subscribe("/queue/" + uniq("q"), "same")
        err = lc.wait_error()
        self.assertIsNotNone(err)
        self.assertIn("same", err.headers.get("message", ""))

    def test_two_subscriptions_on_one_connection(self):
        q1, q2 = "/queue/" + uniq("q"), "/queue/" + uniq("q")
        c, lc = self.stomp()
        self.subscribe_receipted(c, lc, q1, "one")
        self.subscribe_receipted(c, lc, q2, "two")
        self.send_receipted(c, lc, q1, "for one")
        self.send_receipted(c, lc, q2, "for two")
        got = lc.wait_messages(2)
        self.assertEqual(sorted((m.headers["subscription"], m.body) for m in got),
                         [("one", "for one"), ("two", "for two")])

    def test_disconnect_receipt_means_every_send_was_taken(self):
        # SENDs without receipts to queues on every shard, then DISCONNECT with a receipt:
        # once it came, every message is in its queue.
        queues = ["/queue/" + uniq("q") for _ in range(6)]
        p, lp = self.stomp()
        for i in range(300):
            p.send(queues[i % len(queues)], f"m{i}")
        p.disconnect(receipt="bye")
        self.assertTrue(lp.wait_receipt("bye"))
        for k, q in enumerate(queues):
            r = self.raw(connect=True)
            r.send_frame("SUBSCRIBE", [("destination", q), ("id", "s")])
            want = [f"m{i}".encode() for i in range(k, 300, len(queues))]
            got = []
            for _ in want:
                f = r.read_frame()
                self.assertIsNotNone(f, f"{q}: only {len(got)} of {len(want)}")
                got.append(f.body)
            self.assertEqual(got, want)

    def test_receipts_come_in_frame_order_across_queues(self):
        queues = ["/queue/" + uniq("q") for _ in range(5)]
        p, lp = self.stomp()
        want = []
        for i in range(100):
            rid = f"r{i}"
            if i % 10 == 3:
                p.subscribe(queues[i % 5], f"s{i}", receipt=rid)
            else:
                p.send(queues[i % 5], "x", receipt=rid, persistent="true" if i % 2 else "false")
            want.append(rid)
        self.assertTrue(wait_until(lambda: len(lp.receipts) >= len(want)))
        self.assertEqual(lp.receipts, want)

    def test_receipts_for_every_frame(self):
        q = "/queue/" + uniq("q")
        c, lc = self.stomp()
        c.subscribe(q, "s", ack="client-individual", receipt="r-sub")
        c.send(q, "x", receipt="r-send")
        self.assertTrue(lc.wait_receipt("r-sub"))
        self.assertTrue(lc.wait_receipt("r-send"))
        m = lc.wait_messages(1)[0]
        c.ack(m.headers["ack"], receipt="r-ack")
        self.assertTrue(lc.wait_receipt("r-ack"))
        c.unsubscribe("s", receipt="r-unsub")
        self.assertTrue(lc.wait_receipt("r-unsub"))
        c.disconnect(receipt="r-disc")
        self.assertTrue(lc.wait_receipt("r-disc"))
        # In the order asked for.
        self.assertEqual(lc.receipts, ["r-sub", "r-send", "r-ack", "r-unsub", "r-disc"])

    def test_no_messages_after_unsubscribe(self):
        q = "/queue/" + uniq("q")
        c, lc = self.stomp()
        self.subscribe_receipted(c, lc, q, "s")
        c.unsubscribe("s", receipt="u")
        self.assertTrue(lc.wait_receipt("u"))
        p, lp = self.stomp()
        self.send_receipted(p, lp, q, "after")
        wait_until(lambda: lc.messages, QUIET_S)
        self.assertEqual(lc.bodies(), [])
        # The message waits in the queue for the next subscriber.
        d, ld = self.stomp()
        self.subscribe_receipted(d, ld, q, "s2")
        self.assertEqual([m.body for m in ld.wait_messages(1)], ["after"])

    def test_invalid_destination_is_an_error(self):
        for dest in ("/nowhere/x", "/queue/", "no-slash"):
            with self.subTest(dest=dest):
                c, lc = self.stomp()
                c.send(dest, "x")
                err = lc.wait_error()
                self.assertIsNotNone(err)
                self.assertIn("destination", err.headers.get("message", ""))


if __name__ == "__main__":
    unittest.main()

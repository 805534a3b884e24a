"""JMS semantics over STOMP: priority, expiry, virtual topics, selectors, message groups."""

import time
import unittest

import pika

from harness import QUIET_S, StompTest, uniq, wait_until


def now_ms():
    return int(time.time() * 1000)


class Jms(StompTest):
    shared_broker = True

    def collect(self, destination, sub_id="s", **headers):
        c, lc = self.stomp()
        self.subscribe_receipted(c, lc, destination, sub_id, **headers)
        return c, lc

    def settle(self, lc, n):
        """Waits for n messages and a quiet spell; returns the bodies (more than n shows a duplicate)."""
        lc.wait_messages(n)
        wait_until(lambda: len(lc.messages) > n, QUIET_S)
        return lc.bodies()

    # ---- priority ----

    def test_backlog_delivered_highest_priority_first(self):
        q = "/queue/" + uniq("q")
        p, lp = self.stomp()
        sent = [("low-a", 1), ("mid-a", 4), ("high-a", 9), ("low-b", 1), ("default", None), ("high-b", 9), ("top", 8)]
        for body, prio in sent:
            headers = {} if prio is None else {"priority": str(prio)}
            self.send_receipted(p, lp, q, body, **headers)
        _, lc = self.collect(q)
        got = lc.wait_messages(len(sent))
        self.assertEqual([m.body for m in got], ["high-a", "high-b", "top", "mid-a", "default", "low-a", "low-b"])
        self.assertEqual([m.headers.get("priority") for m in got], ["9", "9", "8", "4", "4", "1", "1"])

    def test_bad_priority_is_an_error(self):
        p, lp = self.stomp()
        p.send("/queue/" + uniq("q"), "x", headers={"priority": "high"}, receipt="r-prio")
        err = lp.wait_error()
        self.assertIsNotNone(err)
        self.assertIn("priority", err.headers.get("message", "") + err.body)
        self.assertEqual(err.headers.get("receipt-id"), "r-prio", "the ERROR does not say which frame it is about")

    # ---- expiry ----

    def test_expired_message_goes_to_dlq_not_consumer(self):
        name = uniq("q")
        q = "/queue/" + name
        p, lp = self.stomp()
        self.send_receipted(p, lp, q, "stale", expires=str(now_ms() - 60_000))
        short_until = now_ms() + 300
        self.send_receipted(p, lp, q, "short-lived", expires=str(short_until))
        self.send_receipted(p, lp, q, "fresh", expires=str(now_ms() + 3_600_000))
        self.send_receipted(p, lp, q, "forever")
        # Let the short one's time pass (waiting on the clock, not asserting on it).
        wait_until(lambda: now_ms() > short_until + 50, 5.0)
        _, lc = self.collect(q)
        self.assertEqual(self.settle(lc, 2), ["fresh", "forever"])
        fresh = lc.messages[0]
        self.assertGreater(int(fresh.headers.get("expires", "0")), now_ms())
        self.assertEqual(lc.messages[1].headers.get("expires"), "0")
        _, ld = self.collect(f"/queue/DLQ.{name}", "dlq")
        self.assertEqual(sorted(self.settle(ld, 2)), ["short-lived", "stale"])

    def test_unacked_message_that_expired_is_not_redelivered(self):
        name = uniq("q")
        q = "/queue/" + name
        c, lc = self.stomp()
        self.subscribe_receipted(c, lc, q, "s", ack="client-individual")
        until = now_ms() + 500
        p, lp = self.stomp()
        self.send_receipted(p, lp, q, "short", expires=str(until))
        self.send_receipted(p, lp, q, "keeps")
        self.assertEqual(len(lc.wait_messages(2)), 2)
        wait_until(lambda: now_ms() > until + 50, 5.0)
        c.disconnect(receipt="bye")  # both go back unacked; one has expired meanwhile
        self.assertTrue(lc.wait_receipt("bye"))
        _, ld = self.collect(q)
        self.assertEqual(self.settle(ld, 1), ["keeps"])
        _, ldlq = self.collect(f"/queue/DLQ.{name}", "dlq")
        self.assertEqual(self.settle(ldlq, 1), ["short"])

    def test_expired_while_durable_subscriber_away(self):
        topic, cid = "/topic/" + uniq("t"), uniq("client")
        c, lc = self.stomp(headers={"client-id": cid})
        self.subscribe_receipted(c, lc, topic, "d", **{"activemq.subscriptionName": "n"})
        c.disconnect(receipt="bye")
        self.assertTrue(lc.wait_receipt("bye"))
        until = now_ms() + 300
        p, lp = self.stomp()
        self.send_receipted(p, lp, topic, "short", expires=str(until))
        self.send_receipted(p, lp, topic, "long")
        wait_until(lambda: now_ms() > until + 50, 5.0)
        c2, lc2 = self.stomp(headers={"client-id": cid})
        self.subscribe_receipted(c2, lc2, topic, "d", **{"activemq.subscriptionName": "n"})
        self.assertEqual(self.settle(lc2, 1), ["long"])

    # ---- virtual topics ----

    def test_virtual_topic_consumer_groups(self):
        vt = "VirtualTopic." + uniq("Orders").replace(".", "_")
        a1, la1 = self.collect(f"/queue/Consumer.A.{vt}", "a1")
        a2, la2 = self.collect(f"/queue/Consumer.A.{vt}", "a2")
        b1, lb1 = self.collect(f"/queue/Consumer.B.{vt}", "b1")
        p, lp = self.stomp()
        sent = [f"order{i}" for i in range(10)]
        for body in sent:
            self.send_receipted(p, lp, f"/topic/{vt}", body)
        lb1.wait_messages(len(sent))
        self.assertEqual(self.quiet(lb1), sent, "group B did not get every message once")
        wait_until(lambda: len(la1.messages) + len(la2.messages) >= len(sent))
        got_a = self.quiet(la1) + self.quiet(la2)
        self.assertEqual(sorted(got_a), sorted(sent), "group A did not get every message exactly once")
        self.assertTrue(la1.messages and la2.messages, "group A did not load-balance")

    def test_virtual_topic_plain_subscriber_also_gets_messages(self):
        vt = "VirtualTopic." + uniq("Events").replace(".", "_")
        _, lg = self.collect(f"/queue/Consumer.G.{vt}", "g")
        _, lt = self.collect(f"/topic/{vt}", "t")
        p, lp = self.stomp()
        self.send_receipted(p, lp, f"/topic/{vt}", "e1")
        self.assertEqual(self.settle(lg, 1), ["e1"])
        self.assertEqual(self.settle(lt, 1), ["e1"])

    # ---- selectors on topic subscriptions ----

    def selected(self, selector, messages):
        """Bodies a topic subscriber with `selector` receives out of messages [(body, headers)]."""
        topic = "/topic/" + uniq("sel")
        _, lc = self.collect(topic, selector=selector)
        _, lall = self.collect(topic, "all")
        p, lp = self.stomp()
        for body, headers in messages:
            self.send_receipted(p, lp, topic, body, **headers)
        self.settle(lall, len(messages))  # everything has gone through the routing
        return self.quiet(lc)

    def quiet(self, lc):
        """The bodies once no more messages arrived for a while."""
        while True:
            n = len(lc.messages)
            if not wait_until(lambda: len(lc.messages) > n, QUIET_S):
                return lc.bodies()

    def test_selector_equality(self):
        msgs = [("r1", {"color": "red"}), ("b1", {"color": "blue"}), ("n1", {}), ("r2", {"color": "red"})]
        self.assertEqual(self.selected("color = 'red'", msgs), ["r1", "r2"])
        self.assertEqual(self.selected("color <> 'red'", msgs), ["b1"])  # NULL <> 'red' is unknown

    def test_selector_like_with_escape(self):
        msgs = [("a", {"code": "50%_off"}), ("b", {"code": "50x_off"}), ("c", {"code": "50%off"}),
                ("d", {"code": "150%_offer"})]
        self.assertEqual(self.selected(r"code LIKE '50!%!_%' ESCAPE '!'", msgs), ["a"])
        self.assertEqual(self.selected("code LIKE '%_off'", msgs), ["a", "b", "c"])
        self.assertEqual(self.selected("code NOT LIKE '50%'", msgs), ["d"])

    def test_selector_is_null(self):
        msgs = [("with", {"region": "eu"}), ("without", {})]
        self.assertEqual(self.selected("region IS NULL", msgs), ["without"])
        self.assertEqual(self.selected("region IS NOT NULL", msgs), ["with"])

    def test_selector_three_valued_logic(self):
        msgs = [("red", {"color": "red"}), ("none", {}), ("blue-big", {"color": "blue", "size": "big"})]
        # unknown OR true = true; unknown AND false = false; NOT unknown = unknown (not selected).
        self.assertEqual(self.selected("color = 'red' OR size = 'big'", msgs), ["red", "blue-big"])
        self.assertEqual(self.selected("NOT (color = 'red')", msgs), ["blue-big"])
        self.assertEqual(self.selected("NOT (size = 'big')", msgs), [])
        self.assertEqual(self.selected("size = 'big' OR NOT (color = 'blue')", msgs), ["red", "blue-big"])

    def test_selector_on_jms_headers(self):
        msgs = [("p9", {"priority": "9"}), ("p1", {"priority": "1"}), ("p4", {})]
        self.assertEqual(self.selected("JMSPriority > 5", msgs), ["p9"])
        self.assertEqual(self.selected("JMSPriority BETWEEN 2 AND 6", msgs), ["p4"])
        msgs = [("x", {"correlation-id": "abc"}), ("y", {"correlation-id": "xyz"})]
        self.assertEqual(self.selected("JMSCorrelationID IN ('abc', 'def')", msgs), ["x"])

    def test_selector_does_not_coerce_strings_to_numbers(self):
        # STOMP header values are strings; the JMS spec compares a string with a number as unknown.
        msgs = [("ten", {"qty": "10"}), ("two", {"qty": "2"})]
        self.assertEqual(self.selected("qty > 5", msgs), [])
        self.assertEqual(self.selected("qty = '10'", msgs), ["ten"])

    def test_selector_on_typed_amqp_headers(self):
        key = uniq("typed").replace(".", "_")
        _, lc = self.collect("/topic/" + key, selector="qty > 5 AND vip = TRUE")
        _, lall = self.collect("/topic/" + key, "all")
        ch = self.channel()
        for body, headers in (("big-vip", {"qty": 10, "vip": True}), ("small-vip", {"qty": 2, "vip": True}),
                              ("big", {"qty": 10, "vip": False}), ("none", {})):
            ch.basic_publish("amq.topic", key, body.encode(), pika.BasicProperties(headers=headers))
        lall.wait_messages(4)
        self.assertEqual(self.quiet(lc), ["big-vip"])

    def test_bad_selector_error_names_position(self):
        c, lc = self.stomp()
        selector = "color = 'red' AND AND size = 1"
        c.subscribe("/topic/" + uniq("t"), "s", headers={"selector": selector})
        err = lc.wait_error()
        self.assertIsNotNone(err, "a bad selector was accepted")
        text = err.headers.get("message", "") + " " + err.body
        self.assertIn("selector", text)
        # The position of the second AND (0-based).
        self.assertIn(f"offset {selector.index('AND AND') + 4}", text)
        self.assertTrue(wait_until(lambda: lc.disconnected))

    # ---- selectors on queues, message groups ----

    def test_selector_on_queue(self):
        q = "/queue/" + uniq("q")
        _, lr = self.collect(q, "red", selector="color = 'red'")
        _, lb = self.collect(q, "blue", selector="color = 'blue'")
        p, lp = self.stomp()
        for i, color in enumerate(["red", "blue", "red", "green", "blue", "red"]):
            self.send_receipted(p, lp, q, f"{color}{i}", color=color)
        self.assertEqual(self.settle(lr, 3), ["red0", "red2", "red5"])
        self.assertEqual(self.settle(lb, 2), ["blue1", "blue4"])
        # The green one waits in the queue for a consumer that selects it.
        _, lg = self.collect(q, "any")
        self.assertEqual(self.settle(lg, 1), ["green3"])

    def test_message_groups_stick_to_one_consumer(self):
        q = "/queue/" + uniq("q")
        _, la = self.collect(q, "a")
        _, lb = self.collect(q, "b")
        p, lp = self.stomp()
        # Pairs of one group in a row: round robin alone would split each group over both consumers.
        groups = ["g1", "g1", "g2", "g2"] * 3
        for i, g in enumerate(groups):
            self.send_receipted(p, lp, q, f"{g}-{i}", JMSXGroupID=g)
        wait_until(lambda: len(la.messages) + len(lb.messages) >= len(groups))
        owner = {}
        for name, lst in (("a", la), ("b", lb)):
            for m in lst.messages:
                owner.setdefault(m.headers["JMSXGroupID"], set()).add(name)
        self.assertEqual(len(la.messages) + len(lb.messages), len(groups))
        self.assertEqual({g: len(o) for g, o in owner.items()}, {"g1": 1, "g2": 1}, owner)


if __name__ == "__main__":
    unittest.main()

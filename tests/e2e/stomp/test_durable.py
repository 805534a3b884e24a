"""Durable topic subscriptions: client-id plus activemq.subscriptionName / durable-subscription-name."""

import unittest

from harness import QUIET_S, StompTest, uniq, wait_until


class Durable(StompTest):
    shared_broker = True

    def subscriber(self, client_id, topic, name, header="activemq.subscriptionName", ack="auto"):
        c, lc = self.stomp(headers={"client-id": client_id})
        self.subscribe_receipted(c, lc, topic, "d", ack=ack, **{header: name})
        return c, lc

    def publish(self, topic, bodies):
        p, lp = self.stomp()
        for b in bodies[:-1]:
            p.send(topic, b)
        self.send_receipted(p, lp, topic, bodies[-1])
        p.disconnect()

    def check_kept_while_away(self, header):
        topic, cid, name = "/topic/" + uniq("t"), uniq("client"), "sub1"
        c, lc = self.subscriber(cid, topic, name, header)
        self.publish(topic, ["while here"])
        self.assertEqual([m.body for m in lc.wait_messages(1)], ["while here"])
        c.disconnect(receipt="bye")
        self.assertTrue(lc.wait_receipt("bye"))
        self.publish(topic, ["away 1", "away 2"])
        # A plain subscriber that joins now does not see them; the durable one does.
        _, lc2 = self.subscriber(cid, topic, name, header)
        self.assertEqual([m.body for m in lc2.wait_messages(2)], ["away 1", "away 2"])
        wait_until(lambda: len(lc2.messages) > 2, QUIET_S)
        self.assertEqual(len(lc2.messages), 2, "an already delivered message came again")

    def test_activemq_subscription_name(self):
        self.check_kept_while_away("activemq.subscriptionName")

    def test_durable_subscription_name(self):
        self.check_kept_while_away("durable-subscription-name")

    def test_non_durable_loses_messages_while_away(self):
        topic = "/topic/" + uniq("t")
        c, lc = self.stomp()
        self.subscribe_receipted(c, lc, topic, "plain")
        c.disconnect(receipt="bye")
        self.assertTrue(lc.wait_receipt("bye"))
        self.publish(topic, ["missed"])
        d, ld = self.stomp()
        self.subscribe_receipted(d, ld, topic, "plain")
        self.publish(topic, ["seen"])
        self.assertEqual([m.body for m in ld.wait_messages(1)], ["seen"])
        wait_until(lambda: len(ld.messages) > 1, QUIET_S)
        self.assertEqual(ld.bodies(), ["seen"], "a non-durable subscription kept messages while away")

    def test_unsubscribe_with_name_removes_subscription(self):
        topic, cid, name = "/topic/" + uniq("t"), uniq("client"), "gone"
        c, lc = self.subscriber(cid, topic, name)
        c.unsubscribe("d", headers={"activemq.subscriptionName": name}, receipt="u")
        self.assertTrue(lc.wait_receipt("u"))
        self.bye(c, lc)
        self.publish(topic, ["old"])
        _, lc2 = self.subscriber(cid, topic, name)
        self.publish(topic, ["new"])
        self.assertEqual([m.body for m in lc2.wait_messages(1)], ["new"])
        wait_until(lambda: len(lc2.messages) > 1, QUIET_S)
        self.assertEqual(lc2.bodies(), ["new"], "a removed durable subscription kept messages")

    def test_unsubscribe_by_name_from_a_later_connection(self):
        # ActiveMQ's way to remove a durable subscription: connect with the client-id and
        # UNSUBSCRIBE by name without subscribing first.
        topic, cid, name = "/topic/" + uniq("t"), uniq("client"), "later"
        c, lc = self.subscriber(cid, topic, name, header="durable-subscription-name")
        c.disconnect(receipt="bye")
        self.assertTrue(lc.wait_receipt("bye"))
        self.publish(topic, ["pending"])
        r, lr = self.stomp(headers={"client-id": cid})
        r.unsubscribe("d", headers={"durable-subscription-name": name}, receipt="u")
        self.assertTrue(lr.wait_receipt("u"))
        self.assertEqual(lr.errors, [])
        r.disconnect()
        _, lc2 = self.subscriber(cid, topic, name, header="durable-subscription-name")
        self.publish(topic, ["fresh"])
        lc2.wait_messages(1)
        wait_until(lambda: len(lc2.messages) > 1, QUIET_S)
        self.assertEqual(lc2.bodies(), ["fresh"], "the removed subscription's pending message came")

    def test_plain_unsubscribe_keeps_subscription(self):
        topic, cid, name = "/topic/" + uniq("t"), uniq("client"), "kept"
        c, lc = self.subscriber(cid, topic, name)
        c.unsubscribe("d", receipt="u")  # no name: only this session's subscription ends
        self.assertTrue(lc.wait_receipt("u"))
        self.bye(c, lc)
        self.publish(topic, ["kept for me"])
        _, lc2 = self.subscriber(cid, topic, name)
        self.assertEqual([m.body for m in lc2.wait_messages(1)], ["kept for me"])

    def test_subscriptions_are_per_client_id(self):
        topic = "/topic/" + uniq("t")
        a, la = self.subscriber(uniq("a"), topic, "same-name")
        b, lb = self.subscriber(uniq("b"), topic, "same-name")
        self.publish(topic, ["x", "y"])
        self.assertEqual([m.body for m in la.wait_messages(2)], ["x", "y"])
        self.assertEqual([m.body for m in lb.wait_messages(2)], ["x", "y"])

    def test_unacked_durable_messages_come_back(self):
        topic, cid, name = "/topic/" + uniq("t"), uniq("client"), "acks"
        c, lc = self.subscriber(cid, topic, name, ack="client")
        self.publish(topic, ["one", "two"])
        got = lc.wait_messages(2)
        c.ack(got[0].headers["ack"], receipt="a")
        self.assertTrue(lc.wait_receipt("a"))
        c.disconnect(receipt="bye")
        self.assertTrue(lc.wait_receipt("bye"))
        _, lc2 = self.subscriber(cid, topic, name)
        self.assertEqual([m.body for m in lc2.wait_messages(1)], ["two"])

    # JMS and ActiveMQ: a durable subscription re-made for another topic is a new
    # subscription; the old topic's messages (kept or new) are not delivered any more.
    def test_resubscribe_to_another_topic_replaces_subscription(self):
        t1, t2, cid = "/topic/" + uniq("t1"), "/topic/" + uniq("t2"), uniq("client")
        c, lc = self.subscriber(cid, t1, "moving")
        c.disconnect(receipt="bye")
        self.assertTrue(lc.wait_receipt("bye"))
        self.publish(t1, ["old while away"])  # dropped with the old subscription
        _, lc2 = self.subscriber(cid, t2, "moving")
        self.publish(t1, ["old topic"])
        self.publish(t2, ["new topic"])
        lc2.wait_messages(1)
        wait_until(lambda: len(lc2.messages) > 1, QUIET_S)
        self.assertEqual(lc2.bodies(), ["new topic"])

    def test_durable_without_client_id_is_an_error(self):
        c, lc = self.stomp()
        c.subscribe("/topic/" + uniq("t"), "d", headers={"activemq.subscriptionName": "x"})
        err = lc.wait_error()
        self.assertIsNotNone(err)
        self.assertIn("client-id", err.headers.get("message", ""))




class ClientIdInUse(StompTest):
    shared_broker = True

    def test_second_connection_with_the_same_client_id_is_refused(self):
        cid = uniq("client")
        self.stomp(headers={"client-id": cid})
        r = self.raw()
        r.send_frame("CONNECT", [("accept-version", "1.2"), ("host", "/"), ("login", "guest"),
                                 ("passcode", "guest"), ("client-id", cid)])
        f = r.read_frame()
        self.assertIsNotNone(f, "no answer to CONNECT")
        self.assertEqual(f.command, "ERROR", f)
        self.assertIn(cid, f.header("message"))

    def test_client_id_is_free_again_after_disconnect(self):
        cid = uniq("client")
        c, lc = self.stomp(headers={"client-id": cid})
        c.disconnect(receipt="bye")
        self.assertTrue(lc.wait_receipt("bye"))
        # The broker notices the close asynchronously: retry until it took effect.
        def reconnects():
            r = self.raw()
            r.send_frame("CONNECT", [("accept-version", "1.2"), ("host", "/"), ("login", "guest"),
                                     ("passcode", "guest"), ("client-id", cid)])
            f = r.read_frame()
            return f is not None and f.command == "CONNECTED"
        self.assertTrue(wait_until(reconnects), "the client-id stayed taken after its connection closed")


if __name__ == "__main__":
    unittest.main()

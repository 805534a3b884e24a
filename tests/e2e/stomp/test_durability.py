"""Persistent messages survive kill -9 once their RECEIPT came; durable subscriptions survive too."""

import unittest

from harness import QUIET_S, StompTest, uniq, wait_until


class Durability(StompTest):

    def restart_after_kill9(self):
        for c in self._stomp:
            c.transport.disconnect_socket()  # no DISCONNECT: the broker is about to die
        self._stomp.clear()
        self.broker.kill9()
        self.broker.restart()

    def drain(self, destination, n, sub_id="s", **connect_headers):
        c, lc = self.stomp(headers=connect_headers)
        self.subscribe_receipted(c, lc, destination, sub_id, ack="client-individual",
                                 **({"activemq.subscriptionName": "d"} if connect_headers else {}))
        lc.wait_messages(n)
        while True:
            k = len(lc.messages)
            if not wait_until(lambda: len(lc.messages) > k, QUIET_S):
                return lc.bodies()

    def test_receipted_persistent_messages_survive_kill9(self):
        q = "/queue/" + uniq("q")
        p, lp = self.stomp()
        sent = [f"p{i}" for i in range(50)]
        for body in sent:
            p.send(q, body, headers={"persistent": "true", "receipt": body})
        # Also some that are not persistent: not promised, so not asserted either way.
        for i in range(5):
            p.send(q, f"np{i}")
        self.assertTrue(wait_until(lambda: len(lp.receipts) >= len(sent)), f"{len(lp.receipts)} receipts")
        self.assertEqual(lp.receipts, sent, "receipts out of order")
        self.restart_after_kill9()
        got = self.drain(q, len(sent))
        persistent = [b for b in got if b.startswith("p")]
        self.assertEqual(persistent, sent, "a receipted persistent message was lost or reordered")
        self.assertEqual(len(set(got)), len(got), "a message came twice")

    def test_transaction_committed_with_receipt_survives_kill9(self):
        q = "/queue/" + uniq("q")
        p, lp = self.stomp()
        tx = p.begin()
        for i in range(5):
            p.send(q, f"t{i}", headers={"persistent": "true"}, transaction=tx)
        p.commit(tx, receipt="committed")
        self.assertTrue(lp.wait_receipt("committed"))
        self.restart_after_kill9()
        self.assertEqual(self.drain(q, 5), [f"t{i}" for i in range(5)])

    def test_acked_messages_stay_acked_and_unacked_come_back(self):
        q = "/queue/" + uniq("q")
        p, lp = self.stomp()
        for i in range(4):
            self.send_receipted(p, lp, q, f"m{i}", persistent="true")
        c, lc = self.stomp()
        self.subscribe_receipted(c, lc, q, "s", ack="client-individual")
        got = lc.wait_messages(4)
        c.ack(got[0].headers["ack"], receipt="a0")
        c.ack(got[2].headers["ack"], receipt="a2")
        self.assertTrue(lc.wait_receipt("a0") and lc.wait_receipt("a2"))
        # A durable ack is not promised by the receipt alone; what must hold is that
        # nothing unacked is lost.
        self.restart_after_kill9()
        left = self.drain(q, 2)
        self.assertTrue({"m1", "m3"} <= set(left), f"unacked messages lost: {left}")
        self.assertEqual(len(set(left)), len(left))

    def test_clean_shutdown_tells_clients_and_keeps_messages(self):
        q = "/queue/" + uniq("q")
        p, lp = self.stomp()
        for i in range(3):
            self.send_receipted(p, lp, q, f"s{i}", persistent="true")
        r = self.raw(connect=True)
        code = self.broker.stop(keep_data=True)
        self.assertEqual(code, 0)
        self.assertIn("stopped cleanly", self.broker.output())
        f = r.read_frame()
        self.assertIsNotNone(f, "the connection was dropped without an ERROR frame")
        self.assertEqual(f.command, "ERROR", f)
        self.assertTrue(r.wait_closed())
        self._stomp.clear()
        self.broker.restart()
        self.assertEqual(self.drain(q, 3), ["s0", "s1", "s2"])

    def test_durable_subscription_survives_kill9(self):
        t, cid = "/topic/" + uniq("t"), uniq("client")
        c, lc = self.stomp(headers={"client-id": cid})
        self.subscribe_receipted(c, lc, t, "s", **{"activemq.subscriptionName": "d"})
        c.disconnect(receipt="bye")
        self.assertTrue(lc.wait_receipt("bye"))
        p, lp = self.stomp()
        for i in range(3):
            self.send_receipted(p, lp, t, f"e{i}", persistent="true")
        self.restart_after_kill9()
        self.assertEqual(self.drain(t, 3, "s", **{"client-id": cid}), ["e0", "e1", "e2"])


if __name__ == "__main__":
    unittest.main()

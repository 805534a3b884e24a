"""Transactions: BEGIN/COMMIT/ABORT over SENDs and ACKs."""

import unittest

from harness import QUIET_S, StompTest, uniq, wait_until


class Transactions(StompTest):
    shared_broker = True

    def watcher(self, q):
        c, lc = self.stomp()
        self.subscribe_receipted(c, lc, q, "watch")
        return lc

    def test_sends_visible_only_after_commit(self):
        q = "/queue/" + uniq("q")
        lw = self.watcher(q)
        p, lp = self.stomp()
        tx = p.begin()
        for i in range(3):
            p.send(q, f"t{i}", transaction=tx)
        self.send_receipted(p, lp, q, "outside")  # not in the transaction: arrives at once
        self.assertEqual([m.body for m in lw.wait_messages(1)], ["outside"])
        wait_until(lambda: len(lw.messages) > 1, QUIET_S)
        self.assertEqual(lw.bodies(), ["outside"], "a transactional SEND was visible before COMMIT")
        p.commit(tx, receipt="c")
        self.assertTrue(lp.wait_receipt("c"))
        self.assertEqual([m.body for m in lw.wait_messages(4)], ["outside", "t0", "t1", "t2"])

    def test_abort_discards_sends(self):
        q = "/queue/" + uniq("q")
        lw = self.watcher(q)
        p, lp = self.stomp()
        tx = p.begin()
        p.send(q, "never", transaction=tx)
        p.abort(tx, receipt="a")
        self.assertTrue(lp.wait_receipt("a"))
        self.send_receipted(p, lp, q, "after")
        self.assertEqual([m.body for m in lw.wait_messages(1)], ["after"])
        wait_until(lambda: len(lw.messages) > 1, QUIET_S)
        self.assertEqual(lw.bodies(), ["after"])
        # Committing an aborted transaction is an error.
        p.commit(tx)
        err = lp.wait_error()
        self.assertIsNotNone(err)
        self.assertIn(tx, err.headers.get("message", ""))

    def test_disconnect_aborts_open_transaction(self):
        q = "/queue/" + uniq("q")
        lw = self.watcher(q)
        p, lp = self.stomp()
        tx = p.begin()
        p.send(q, "orphan", transaction=tx)
        p.disconnect(receipt="bye")
        self.assertTrue(lp.wait_receipt("bye"))
        q2, lq2 = self.stomp()
        self.send_receipted(q2, lq2, q, "marker")
        self.assertEqual([m.body for m in lw.wait_messages(1)], ["marker"])
        wait_until(lambda: len(lw.messages) > 1, QUIET_S)
        self.assertEqual(lw.bodies(), ["marker"])

    def fill(self, q, n):
        p, lp = self.stomp()
        for i in range(1, n + 1):
            p.send(q, f"m{i}")
        self.send_receipted(p, lp, q, f"m{n + 1}")
        p.disconnect()

    def test_ack_in_transaction_applies_at_commit(self):
        q = "/queue/" + uniq("q")
        self.fill(q, 2)
        c, lc = self.stomp()
        self.subscribe_receipted(c, lc, q, "s", ack="client-individual")
        got = lc.wait_messages(3)
        tx = c.begin()
        c.ack(got[0].headers["ack"], transaction=tx)
        c.commit(tx, receipt="c")
        self.assertTrue(lc.wait_receipt("c"))
        c.disconnect(receipt="bye")
        self.assertTrue(lc.wait_receipt("bye"))
        d, ld = self.stomp()
        self.subscribe_receipted(d, ld, q, "s")
        self.assertEqual(sorted(m.body for m in ld.wait_messages(2)), ["m2", "m3"])
        wait_until(lambda: len(ld.messages) > 2, QUIET_S)
        self.assertEqual(len(ld.messages), 2, "a committed ACK did not take")

    def test_aborted_ack_is_redelivered(self):
        q = "/queue/" + uniq("q")
        self.fill(q, 1)
        c, lc = self.stomp()
        self.subscribe_receipted(c, lc, q, "s", ack="client-individual")
        got = lc.wait_messages(2)
        tx = c.begin()
        for m in got:
            c.ack(m.headers["ack"], transaction=tx)
        c.abort(tx, receipt="a")
        self.assertTrue(lc.wait_receipt("a"))
        c.disconnect(receipt="bye")
        self.assertTrue(lc.wait_receipt("bye"))
        d, ld = self.stomp()
        self.subscribe_receipted(d, ld, q, "s")
        again = ld.wait_messages(2)
        self.assertEqual(sorted(m.body for m in again), ["m1", "m2"])
        self.assertTrue(all(m.headers.get("redelivered") == "true" for m in again))

    def test_send_and_ack_in_one_transaction(self):
        # Consume-transform-produce: the ACK of the input and the SEND of the output commit together.
        src, dst = "/queue/" + uniq("in"), "/queue/" + uniq("out")
        self.fill(src, 0)
        lw = self.watcher(dst)
        c, lc = self.stomp()
        self.subscribe_receipted(c, lc, src, "s", ack="client-individual")
        m = lc.wait_messages(1)[0]
        tx = c.begin()
        c.send(dst, "processed " + m.body, transaction=tx)
        c.ack(m.headers["ack"], transaction=tx)
        wait_until(lambda: lw.messages, QUIET_S)
        self.assertEqual(lw.bodies(), [])
        c.commit(tx, receipt="c")
        self.assertTrue(lc.wait_receipt("c"))
        self.assertEqual([x.body for x in lw.wait_messages(1)], ["processed m1"])
        c.disconnect(receipt="bye")
        self.assertTrue(lc.wait_receipt("bye"))
        d, ld = self.stomp()
        self.subscribe_receipted(d, ld, src, "s")
        wait_until(lambda: ld.messages, QUIET_S)
        self.assertEqual(ld.bodies(), [], "the input came back after a committed ACK")

    def test_unknown_transaction_is_an_error(self):
        p, lp = self.stomp()
        p.send("/queue/" + uniq("q"), "x", transaction="never-begun")
        err = lp.wait_error()
        self.assertIsNotNone(err)
        self.assertIn("never-begun", err.headers.get("message", ""))


if __name__ == "__main__":
    unittest.main()

"""Scheduled delivery over STOMP: ActiveMQ's AMQ_SCHEDULED_* headers on SEND (docs/scheduled-delivery.md).

Nothing here measures time. A delayed message is shown to be held by the ORDER in which it arrives
relative to undelayed messages sent after it, and repeats by COUNTING deliveries (then a quiet spell
with nothing more). Delays are a few seconds so that a loaded machine still sends the undelayed
message long before the delayed one is due.
"""

import time
import unittest

from harness import QUIET_S, WAIT_S, StompTest, uniq, wait_until

# Long enough that an undelayed SEND pipelined right behind a delayed one is routed first even on a
# loaded machine; short enough to keep the file quick.
HOLD_MS = 2000


def now_ms():
    return int(time.time() * 1000)


def scheduled_headers(frame):
    return sorted(n for n in frame.headers if n.startswith("AMQ_SCHEDULED_"))


class Scheduled(StompTest):
    shared_broker = True

    def collect(self, destination, sub_id="s"):
        c, lc = self.stomp()
        self.subscribe_receipted(c, lc, destination, sub_id)
        return c, lc

    def settle(self, lc, n, quiet=QUIET_S, timeout=WAIT_S):
        """Waits for n messages then a quiet spell; returns the bodies (more than n means too many came)."""
        lc.wait_messages(n, timeout)
        while True:
            k = len(lc.messages)
            if not wait_until(lambda: len(lc.messages) > k, quiet):
                return lc.bodies()

    def send_pipelined(self, conn, listener, destination, sends):
        """[(body, headers)] sent back to back, each with a receipt, then every receipt waited for."""
        rids = []
        for body, headers in sends:
            rid = uniq("r")
            rids.append(rid)
            conn.send(destination, body, headers=headers, receipt=rid)
        self.assertTrue(wait_until(lambda: all(r in listener.receipts for r in rids)),
                        f"receipts {listener.receipts} for {rids}; errors {listener.errors}")
        self.assertEqual(listener.errors, [])

    # ---- AMQ_SCHEDULED_DELAY ----

    def test_delayed_message_arrives_after_undelayed_one_sent_later(self):
        q = "/queue/" + uniq("q")
        _, lc = self.collect(q)
        p, lp = self.stomp()
        # The delayed SEND's receipt comes once the engine holds it, not when it is delivered:
        # the undelayed SENDs behind it get theirs too, before the delayed one can arrive.
        self.send_pipelined(p, lp, q, [("delayed", {"AMQ_SCHEDULED_DELAY": str(HOLD_MS)}),
                                       ("now-1", {}), ("now-2", {})])
        self.assertEqual(self.settle(lc, 3), ["now-1", "now-2", "delayed"])

    def test_messages_delayed_alike_keep_their_order_behind_undelayed(self):
        q = "/queue/" + uniq("q")
        _, lc = self.collect(q)
        p, lp = self.stomp()
        delay = {"AMQ_SCHEDULED_DELAY": str(HOLD_MS)}
        self.send_pipelined(p, lp, q, [("d1", delay), ("d2", delay), ("d3", delay), ("now", {})])
        # Same due time (to the ms or not, d1 <= d2 <= d3): they fire in the order scheduled.
        self.assertEqual(self.settle(lc, 4), ["now", "d1", "d2", "d3"])

    def test_zero_delay_is_not_scheduled(self):
        q = "/queue/" + uniq("q")
        _, lc = self.collect(q)
        p, lp = self.stomp()
        self.send_pipelined(p, lp, q, [("zero", {"AMQ_SCHEDULED_DELAY": "0"}), ("plain", {})])
        self.assertEqual(self.settle(lc, 2), ["zero", "plain"])

    # ---- AMQ_SCHEDULED_PERIOD / AMQ_SCHEDULED_REPEAT ----

    def test_repeat_2_delivers_exactly_three_times(self):
        q = "/queue/" + uniq("q")
        _, lc = self.collect(q)
        p, lp = self.stomp()
        period_ms = 200
        self.send_pipelined(p, lp, q, [("rep", {"AMQ_SCHEDULED_PERIOD": str(period_ms),
                                                "AMQ_SCHEDULED_REPEAT": "2"})])
        # The quiet spell is longer than the period, so a fourth delivery would show.
        got = self.settle(lc, 3, quiet=QUIET_S + 3 * period_ms / 1000)
        self.assertEqual(got, ["rep"] * 3)
        for m in lc.messages:
            self.assertEqual(scheduled_headers(m), [], m.headers)

    def test_repeats_with_delay_come_after_undelayed(self):
        q = "/queue/" + uniq("q")
        _, lc = self.collect(q)
        p, lp = self.stomp()
        self.send_pipelined(p, lp, q, [("rep", {"AMQ_SCHEDULED_DELAY": str(HOLD_MS),
                                                "AMQ_SCHEDULED_PERIOD": "100",
                                                "AMQ_SCHEDULED_REPEAT": "1"}),
                                       ("now", {})])
        self.assertEqual(self.settle(lc, 3, quiet=QUIET_S + 0.3), ["now", "rep", "rep"])

    def test_long_delay_is_held(self):
        # Ten years: held (the receipt says so) and not delivered, while an undelayed one is.
        q = "/queue/" + uniq("q")
        _, lc = self.collect(q)
        p, lp = self.stomp()
        ten_years_ms = 10 * 366 * 24 * 3600 * 1000
        self.send_pipelined(p, lp, q, [("later", {"AMQ_SCHEDULED_DELAY": str(ten_years_ms)}),
                                       ("rep", {"AMQ_SCHEDULED_PERIOD": str(ten_years_ms),
                                                "AMQ_SCHEDULED_REPEAT": "5"}),
                                       ("now", {})])
        # "rep"'s first delivery is due at once; its repeats are years away.
        self.assertEqual(sorted(self.settle(lc, 2)), ["now", "rep"])

    # ---- transactions ----

    def test_scheduled_send_in_transaction_is_held_from_commit_and_dropped_by_abort(self):
        q = "/queue/" + uniq("q")
        _, lc = self.collect(q)
        p, lp = self.stomp()
        delay = {"AMQ_SCHEDULED_DELAY": str(HOLD_MS)}
        aborted = p.begin()
        p.send(q, "aborted", headers=delay, transaction=aborted)
        p.abort(aborted)
        tx = p.begin()
        p.send(q, "committed", headers=delay, transaction=tx)
        p.send(q, "in-tx-now", transaction=tx)
        p.commit(tx, receipt="c")
        self.assertTrue(lp.wait_receipt("c"))
        self.send_receipted(p, lp, q, "after-commit")
        self.assertEqual(self.settle(lc, 3), ["in-tx-now", "after-commit", "committed"])
        self.assertEqual(lp.errors, [])

    # ---- destinations ----

    def test_scheduled_send_to_topic_reaches_subscriber(self):
        t = "/topic/" + uniq("t")
        _, l1 = self.collect(t, "s1")
        _, l2 = self.collect(t, "s2")
        p, lp = self.stomp()
        self.send_pipelined(p, lp, t, [("tick", {"AMQ_SCHEDULED_DELAY": str(HOLD_MS)}), ("now", {})])
        for lc in (l1, l2):
            self.assertEqual(self.settle(lc, 2), ["now", "tick"])
            self.assertEqual(lc.messages[1].headers.get("destination"), t)

    def test_scheduled_send_to_queue_creates_it_for_a_later_subscriber(self):
        q = "/queue/" + uniq("q")
        p, lp = self.stomp()
        due = now_ms() + 300
        self.send_pipelined(p, lp, q, [("kept", {"AMQ_SCHEDULED_DELAY": "300"})])
        # Subscribe only once it has fired (waiting on the clock, not asserting on it): the queue
        # must have existed to take it.
        wait_until(lambda: now_ms() > due + 200, 5.0)
        _, lc = self.collect(q)
        self.assertEqual(self.settle(lc, 1), ["kept"])
        self.assertEqual(lc.messages[0].headers.get("destination"), q)

    # ---- bad headers ----

    def check_refused(self, headers, expect_in_message, receipt=True):
        q = "/queue/" + uniq("q")
        bystander, lb = self.stomp()
        self.subscribe_receipted(bystander, lb, q, "b")
        p, lp = self.stomp()
        p.send(q, "refused", headers=headers, **({"receipt": "r-bad"} if receipt else {}))
        err = lp.wait_error()
        self.assertIsNotNone(err, f"no ERROR for {headers}")
        text = err.headers.get("message", "") + " " + err.body
        self.assertIn(expect_in_message, text, f"ERROR for {headers} does not say what is wrong")
        if receipt:
            self.assertEqual(err.headers.get("receipt-id"), "r-bad", "the ERROR does not say which frame it is about")
        self.assertNotIn("r-bad", lp.receipts, "a refused SEND got a RECEIPT")
        # The other connection works on, and the refused message was not stored or scheduled.
        self.send_receipted(bystander, lb, q, "still-fine")
        self.assertEqual(self.settle(lb, 1), ["still-fine"])

    def test_bad_headers_are_refused_with_an_error(self):
        cases = [
            ({"AMQ_SCHEDULED_DELAY": "abc"}, "AMQ_SCHEDULED_DELAY"),
            ({"AMQ_SCHEDULED_DELAY": "-1000"}, "AMQ_SCHEDULED_DELAY"),
            ({"AMQ_SCHEDULED_DELAY": "12ms"}, "AMQ_SCHEDULED_DELAY"),
            ({"AMQ_SCHEDULED_PERIOD": "-5", "AMQ_SCHEDULED_REPEAT": "2"}, "AMQ_SCHEDULED_PERIOD"),
            ({"AMQ_SCHEDULED_REPEAT": "twice"}, "AMQ_SCHEDULED_REPEAT"),
            # Past int64 ms once added to the clock: refused rather than wrapped into the past.
            ({"AMQ_SCHEDULED_DELAY": str(2**63 - 1)}, "AMQ_SCHEDULED_DELAY"),
            ({"AMQ_SCHEDULED_DELAY": str(2**63)}, "AMQ_SCHEDULED_DELAY"),
            ({"AMQ_SCHEDULED_PERIOD": str(2**62), "AMQ_SCHEDULED_REPEAT": "3"}, "AMQ_SCHEDULED_PERIOD"),
            ({"AMQ_SCHEDULED_PERIOD": str(2**40), "AMQ_SCHEDULED_REPEAT": str(2**30)}, "period*repeat"),
            ({"AMQ_SCHEDULED_REPEAT": str(2**31)}, "AMQ_SCHEDULED_REPEAT"),
            ({"AMQ_SCHEDULED_CRON": "*"}, "5 fields"),
            ({"AMQ_SCHEDULED_CRON": "61 * * * *"}, "minute"),
        ]
        for headers, expect in cases:
            with self.subTest(headers=headers):
                self.check_refused(headers, expect)

    def test_cron_that_never_fires_is_refused(self):
        # 30 February: a valid expression with no due time at all.
        # Also without a receipt: refused when the SEND is read, not dropped later without a word.
        for receipt in (True, False):
            with self.subTest(receipt=receipt):
                self.check_refused({"AMQ_SCHEDULED_CRON": "0 0 30 2 *"}, "never fires", receipt)

    # ---- AMQ_SCHEDULED_CRON ----

    def test_cron_is_accepted(self):
        # Whether it fires at the next minute is the engine's unit tests' business (too slow here):
        # over STOMP it is taken (RECEIPT, no ERROR) and the connection goes on.
        q = "/queue/" + uniq("q")
        p, lp = self.stomp()
        self.send_pipelined(p, lp, q, [("every-minute", {"AMQ_SCHEDULED_CRON": "* * * * *"}),
                                       ("yearly", {"AMQ_SCHEDULED_CRON": "0 12 1 JAN *",
                                                   "AMQ_SCHEDULED_DELAY": "1000",
                                                   "AMQ_SCHEDULED_PERIOD": "1000",
                                                   "AMQ_SCHEDULED_REPEAT": "3"}),
                                       ("stepped", {"AMQ_SCHEDULED_CRON": "*/15 9-17 * * MON-FRI"})])
        self.assertTrue(p.is_connected())
        self.assertEqual(lp.errors, [])

    # ---- the delivered message ----

    def test_scheduling_headers_are_not_delivered_so_resending_does_not_delay(self):
        q1, q2 = "/queue/" + uniq("q1"), "/queue/" + uniq("q2")
        c1, l1 = self.collect(q1)
        p, lp = self.stomp()
        self.send_pipelined(p, lp, q1, [("again", {"AMQ_SCHEDULED_DELAY": str(HOLD_MS), "colour": "red"})])
        got = l1.wait_messages(1)
        self.assertEqual([m.body for m in got], ["again"])
        m = got[0]
        self.assertNotIn("AMQ_SCHEDULED_DELAY", m.headers)
        self.assertEqual(scheduled_headers(m), [], m.headers)
        self.assertEqual(m.headers.get("colour"), "red", "an application header was lost on the way")
        # Sent on as received (minus what the broker puts on a MESSAGE): not held a second time, so
        # it is ahead of an undelayed message sent after it.
        _, l2 = self.collect(q2)
        resend = {n: v for n, v in m.headers.items()
                  if n not in ("destination", "message-id", "subscription", "ack", "content-length")}
        self.send_pipelined(c1, l1, q2, [("again", resend), ("after", {})])
        self.assertEqual(self.settle(l2, 2), ["again", "after"])


class ScheduledRestart(StompTest):
    """Each test kills its own broker."""

    def restart_after_kill9(self):
        for c in self._stomp:
            c.transport.disconnect_socket()  # no DISCONNECT: the broker is about to die
        self._stomp.clear()
        self.broker.kill9()
        self.broker.restart()

    def drain(self, destination, n, timeout=WAIT_S):
        c, lc = self.stomp()
        self.subscribe_receipted(c, lc, destination, "s", ack="client-individual")
        lc.wait_messages(n, timeout)
        while True:
            k = len(lc.messages)
            if not wait_until(lambda: len(lc.messages) > k, QUIET_S):
                return lc.bodies()

    def test_receipted_persistent_scheduled_messages_survive_kill9(self):
        q = "/queue/" + uniq("q")
        p, lp = self.stomp()
        # "soon" ones may fall due while the broker is down or just after it is back; "later" ones
        # are meant to be due after the restart (LATER_MS leaves it a lot of room), so they are
        # fired by the restarted broker from what it reads back from disk.
        soon_ms, later_ms = 1500, 6000
        soon = [f"soon{i}" for i in range(10)]
        later = [f"later{i}" for i in range(10)]
        rids = []
        for i, body in enumerate(soon + later):
            delay = (soon_ms if body.startswith("soon") else later_ms) + i  # distinct due times
            rids.append(body)
            p.send(q, body, headers={"persistent": "true", "AMQ_SCHEDULED_DELAY": str(delay)}, receipt=body)
        self.assertTrue(wait_until(lambda: len(lp.receipts) >= len(rids)), f"{len(lp.receipts)} receipts")
        self.assertEqual(lp.errors, [])
        self.restart_after_kill9()
        got = self.drain(q, len(rids), timeout=WAIT_S + later_ms / 1000)
        self.assertEqual(sorted(got), sorted(rids), "a receipted scheduled message was lost or duplicated")
        # Due order is kept across the restart.
        self.assertEqual(got, rids)

    def test_repeats_continue_after_kill9(self):
        q = "/queue/" + uniq("q")
        p, lp = self.stomp()
        delay_ms, period_ms, repeat = 3000, 300, 3
        sent_at = now_ms()
        p.send(q, "rep", headers={"persistent": "true", "AMQ_SCHEDULED_DELAY": str(delay_ms),
                                  "AMQ_SCHEDULED_PERIOD": str(period_ms),
                                  "AMQ_SCHEDULED_REPEAT": str(repeat)}, receipt="r")
        self.assertTrue(lp.wait_receipt("r"))
        self.restart_after_kill9()
        killed_before_due = now_ms() < sent_at + delay_ms
        got = self.drain(q, repeat + 1, timeout=WAIT_S + delay_ms / 1000)
        if killed_before_due:
            # No delivery had started when it died: nothing may be repeated, nothing lost.
            self.assertEqual(got, ["rep"] * (repeat + 1))
        else:
            # At-least-once: a delivery cut by the kill may come again.
            self.assertGreaterEqual(len(got), repeat + 1)
            self.assertEqual(set(got), {"rep"})


if __name__ == "__main__":
    unittest.main()

"""Slow readers and large backlogs: nothing is lost or duplicated when the socket backs up."""

import unittest

from harness import StompTest, uniq, wait_until

BODY = b"z" * 10_000
COUNT = 2_000  # 20 MB: far more than the broker buffers for one connection before pausing


class FlowControl(StompTest):
    shared_broker = True

    def test_reader_that_does_not_read_gets_everything_later(self):
        q = "/queue/" + uniq("q")
        r = self.raw(connect=True)
        r.send_frame("SUBSCRIBE", [("destination", q), ("id", "s"), ("receipt", "sub")])
        f = r.read_frame()
        self.assertEqual(f.header("receipt-id"), "sub", f)
        # The producer fills the queue while the subscriber reads nothing.
        p, lp = self.stomp(auto_decode=False)
        for i in range(COUNT - 1):
            p.send(q, BODY, headers={"n": str(i)})
        self.send_receipted(p, lp, q, BODY, n=str(COUNT - 1))
        # Now read it all: in order, once each.
        seen = []
        while len(seen) < COUNT:
            f = r.read_frame()
            self.assertIsNotNone(f, f"connection ended after {len(seen)} messages")
            self.assertEqual(f.command, "MESSAGE", f)
            self.assertEqual(len(f.body), len(BODY))
            seen.append(int(f.header("n")))
        self.assertEqual(seen, list(range(COUNT)))

    def test_pipelined_frames_behind_a_subscribe(self):
        # One write: SUBSCRIBE (which waits for another shard) followed by more frames than the
        # session's backlog holds; they are handled in order, none dropped.
        q = "/queue/" + uniq("q")
        n = 6000
        r = self.raw(connect=True)
        frames = [f"SUBSCRIBE\ndestination:{q}\nid:s\n\n\x00"]
        frames += [f"SEND\ndestination:{q}\nn:{i}\n\n{i}\x00" for i in range(n)]
        frames.append(f"SEND\ndestination:{q}\nn:{n}\nreceipt:last\n\n{n}\x00")
        r.send("".join(frames).encode())
        seen, receipt = [], False
        while len(seen) < n + 1 or not receipt:
            f = r.read_frame()
            self.assertIsNotNone(f, f"connection ended after {len(seen)} messages")
            self.assertNotEqual(f.command, "ERROR", f)
            if f.command == "RECEIPT":
                receipt = True
            else:
                seen.append(int(f.header("n")))
        self.assertEqual(seen, list(range(n + 1)))

    # An auto-ack subscription's queue settles a message when it hands it to the session;
    # deliveries still on their way to the connection's shard when UNSUBSCRIBE is handled
    # must still be written (or they would be lost). Only queues on another shard than the
    # connection can show it: 16 queues make one such queue all but certain.
    def test_unsubscribe_with_deliveries_in_flight_loses_nothing(self):
        queues = ["/queue/" + uniq("q") for _ in range(16)]
        per_queue = 300
        r = self.raw(connect=True)
        frames = []
        for k, q in enumerate(queues):
            frames.append(f"SUBSCRIBE\ndestination:{q}\nid:s{k}\n\n\x00")
            frames += [f"SEND\ndestination:{q}\nn:{k}-{i}\n\nx\x00" for i in range(per_queue)]
            frames.append(f"UNSUBSCRIBE\nid:s{k}\nreceipt:u{k}\n\n\x00")
        r.send("".join(frames).encode())
        seen, receipts = set(), set()
        while len(receipts) < len(queues):
            f = r.read_frame()
            self.assertIsNotNone(f, f"connection ended; receipts {sorted(receipts)}")
            self.assertNotEqual(f.command, "ERROR", f)
            if f.command == "RECEIPT":
                receipts.add(f.header("receipt-id"))
            else:
                seen.add(f.header("n"))
        # What was not written before the UNSUBSCRIBE must still be in its queue.
        for k, q in enumerate(queues):
            r.send_frame("SUBSCRIBE", [("destination", q), ("id", f"again{k}")])
        want = {f"{k}-{i}" for k in range(len(queues)) for i in range(per_queue)}
        while seen != want:
            f = r.read_frame(timeout=2.0)
            if f is None:
                break
            seen.add(f.header("n"))
        self.assertEqual(len(want - seen), 0, f"{len(want - seen)} messages lost")

    def test_producer_faster_than_consumer_with_client_acks(self):
        q = "/queue/" + uniq("q")
        c, lc = self.stomp()
        self.subscribe_receipted(c, lc, q, "s", ack="client", **{"activemq.prefetchSize": "10"})
        p, lp = self.stomp()
        n = 500
        for i in range(n):
            p.send(q, f"m{i}")
        self.send_receipted(p, lp, q, "last")
        # Ack cumulatively every 10th message as they come.
        acked = 0
        while acked < n + 1:
            got = lc.wait_messages(acked + 1)
            self.assertGreater(len(got), acked, f"stalled after {acked} messages with prefetch 10")
            self.assertLessEqual(len(got) - acked, 10, "more unacked messages than the prefetch")
            c.ack(got[-1].headers["ack"])
            acked = len(got)
        self.assertEqual([m.body for m in lc.messages], [f"m{i}" for i in range(n)] + ["last"])


if __name__ == "__main__":
    unittest.main()

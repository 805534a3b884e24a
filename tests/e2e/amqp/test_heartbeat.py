"""Heartbeats with pika, and a silent client being dropped."""

import time

import pika

from harness import wharf_only, BrokerTest, raw_handshake, read_frame


class HeartbeatTest(BrokerTest):
    def test_pika_with_heartbeat_2_survives_idle_time(self):
        conn = pika.BlockingConnection(self.broker.params(heartbeat=2))
        ch = conn.channel()
        received_before = conn._impl.bytes_received
        # Longer than two heartbeat intervals: the broker drops us unless it
        # sees pika's heartbeats.
        deadline = time.monotonic() + 5.5
        while time.monotonic() < deadline:
            conn.process_data_events(time_limit=0.5)
        self.assertTrue(conn.is_open)
        self.assertTrue(ch.is_open)
        # And the broker sent its own: one every second (8 bytes each).
        self.assertGreaterEqual(conn._impl.bytes_received - received_before, 3 * 8)
        self.assertTrue(conn.channel().is_open)
        conn.close()
        self.assertNotIn("missed heartbeats", self.broker.output())

    @wharf_only("RabbitMQ may reset the socket instead of closing it")
    def test_silent_client_is_dropped_after_two_intervals(self):
        s = raw_handshake(self.broker.port, heartbeat=1)
        start = time.monotonic()
        heartbeats = 0
        while True:
            f = read_frame(s, timeout=10)
            if f is None:
                break  # the broker closed the socket
            if f[0] == 8:
                heartbeats += 1
        elapsed = time.monotonic() - start
        self.assertGreaterEqual(heartbeats, 2)
        self.assertGreaterEqual(elapsed, 1.5)
        self.assertLess(elapsed, 5)
        s.close()
        self.assertTrue(self.broker.wait_for("missed heartbeats from client"), "the broker did not log the timeout")


if __name__ == "__main__":
    import unittest
    unittest.main()

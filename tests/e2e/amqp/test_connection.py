"""Connecting with pika: channels, clean close, refused logins and vhosts."""

import shutil
import signal
import subprocess
import time

import pika
import pika.exceptions

from harness import wharf_only, BrokerTest


class ConnectionTest(BrokerTest):
    @wharf_only("checks the product name and the broker log")
    def test_guest_opens_channels_and_closes_cleanly(self):
        conn = pika.BlockingConnection(self.broker.params(credentials=pika.PlainCredentials("guest", "guest")))
        self.assertTrue(conn.is_open)
        props = conn._impl.server_properties
        self.assertEqual(props["product"], "Wharf")
        for cap in ("publisher_confirms", "basic.nack", "consumer_cancel_notify", "connection.blocked",
                    "authentication_failure_close", "per_consumer_qos", "exchange_exchange_bindings",
                    "consumer_priorities", "direct_reply_to"):
            self.assertIs(props["capabilities"][cap], True, cap)

        chans = [conn.channel() for _ in range(3)]
        self.assertEqual(sorted(c.channel_number for c in chans), [1, 2, 3])
        chans[1].close()
        self.assertTrue(chans[1].is_closed)
        self.assertTrue(chans[0].is_open and chans[2].is_open)
        # The freed number is handed out again and works.
        again = conn.channel()
        self.assertTrue(again.is_open)
        conn.close()
        self.assertTrue(conn.is_closed)
        self.assertNotIn("connection error", self.broker.output())

    def test_wrong_password_is_access_refused(self):
        with self.assertRaises(pika.exceptions.ProbableAuthenticationError) as ctx:
            pika.BlockingConnection(self.broker.params(credentials=pika.PlainCredentials("guest", "not-guest")))
        self.assertIn("(403)", str(ctx.exception))
        self.assertIn("ACCESS_REFUSED", str(ctx.exception))

    def test_unknown_vhost_is_not_allowed(self):
        with self.assertRaises(pika.exceptions.ProbableAccessDeniedError) as ctx:
            pika.BlockingConnection(self.broker.params(virtual_host="no-such-vhost"))
        self.assertIn("(530)", str(ctx.exception))
        self.assertIn("no-such-vhost", str(ctx.exception))

    def test_channel_error_leaves_the_connection_usable(self):
        # A soft error (404) closes only its channel, as RabbitMQ does.
        conn = pika.BlockingConnection(self.broker.params())
        ch = conn.channel()
        with self.assertRaises(pika.exceptions.ChannelClosedByBroker) as ctx:
            ch.queue_declare("missing", passive=True)
        self.assertEqual(ctx.exception.reply_code, 404)
        self.assertIn("NOT_FOUND - no queue 'missing' in vhost '/'", ctx.exception.reply_text)
        ch2 = conn.channel()
        self.assertEqual(ch2.queue_declare("q").method.queue, "q")
        conn.close()

    def test_rabbitmq_c_client_gets_the_same_answers(self):
        # amqp-tools (rabbitmq-c): a second, independent client implementation.
        tool = shutil.which("amqp-declare-queue")
        self.assertIsNotNone(tool, "amqp-tools is not installed (scripts/deps.sh test)")
        port = self.broker.port

        def run(url):
            r = subprocess.run([tool, "--url", url, "-q", "q"], capture_output=True, text=True, timeout=10)
            return r.returncode, r.stdout + r.stderr

        code, out = run(f"amqp://guest:guest@127.0.0.1:{port}")
        self.assertEqual(code, 0, out)  # logged in, opened a channel, declared the queue
        self.assertEqual(out.strip(), "q")  # the tool prints the name from declare-ok
        code, out = run(f"amqp://guest:wrong@127.0.0.1:{port}")
        self.assertIn("403", out)
        code, out = run(f"amqp://guest:guest@127.0.0.1:{port}/elsewhere")
        self.assertIn("530", out)

    @wharf_only("signals the broker process")
    def test_broker_shutdown_tells_connected_clients(self):
        conn = pika.BlockingConnection(self.broker.params())
        conn.channel()
        self.broker.proc.send_signal(signal.SIGTERM)
        with self.assertRaises(pika.exceptions.ConnectionClosedByBroker) as ctx:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                conn.process_data_events(time_limit=0.2)
        self.assertEqual(ctx.exception.reply_code, 320)
        self.assertIn("CONNECTION_FORCED - broker shutdown", ctx.exception.reply_text)


if __name__ == "__main__":
    import unittest
    unittest.main()

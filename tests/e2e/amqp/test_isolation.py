"""Bad input on one connection leaves the others serving."""

import socket

import pika

from harness import wharf_only, BrokerTest, method, method_ids, raw_handshake, read_frame


class IsolationTest(BrokerTest):
    @wharf_only("RabbitMQ may reset the socket instead of closing it")
    def test_garbage_from_one_client_does_not_disturb_another(self):
        good = pika.BlockingConnection(self.broker.params())

        # Not AMQP at all: the broker answers with its protocol header and hangs up.
        junk = socket.create_connection(("127.0.0.1", self.broker.port))
        junk.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        junk.settimeout(5)
        self.assertEqual(junk.recv(8), b"AMQP\x00\x00\x09\x01")
        self.assertEqual(junk.recv(8), b"")  # closed
        junk.close()

        # A valid header, then a frame with a bad frame-end octet: 501.
        bad = socket.create_connection(("127.0.0.1", self.broker.port))
        bad.sendall(b"AMQP\x00\x00\x09\x01")
        f = read_frame(bad)
        self.assertEqual(method_ids(f[2]), (10, 10))  # connection.start
        bad.sendall(b"\x01\x00\x00\x00\x00\x00\x04\x00\x0a\x00\x0b\xff" + b"\xde\xad\xbe\xef" * 64)
        f = read_frame(bad)
        self.assertEqual(method_ids(f[2]), (10, 50))  # connection.close
        self.assertEqual(int.from_bytes(f[2][4:6], "big"), 501)

        # Random bytes after the header on yet another connection.
        noise = socket.create_connection(("127.0.0.1", self.broker.port))
        noise.sendall(b"AMQP\x00\x00\x09\x01" + bytes(range(256)) * 8)

        # The first client still works, and new clients are served.
        ch = good.channel()
        self.assertTrue(ch.is_open)
        good.process_data_events(time_limit=0.2)
        self.assertTrue(good.is_open)
        other = pika.BlockingConnection(self.broker.params())
        self.assertTrue(other.channel().is_open)
        other.close()
        good.close()
        bad.close()
        noise.close()

    @wharf_only("RabbitMQ may reset the socket instead of closing it")
    def test_frame_for_an_unopened_channel_is_channel_error(self):
        s = raw_handshake(self.broker.port, heartbeat=0)
        s.sendall(method(7, 50, 10, b"\x00\x00" + b"\x01q" + b"\x00" + b"\x00\x00\x00\x00"))  # queue.declare
        f = read_frame(s)
        self.assertEqual(method_ids(f[2]), (10, 50))
        self.assertEqual(int.from_bytes(f[2][4:6], "big"), 504)
        s.sendall(method(0, 10, 51))  # close-ok
        s.settimeout(5)
        self.assertEqual(s.recv(1), b"")
        s.close()


if __name__ == "__main__":
    import unittest
    unittest.main()

"""Framing edge cases over a raw socket: bodies, escaping, line ends, repeated headers, limits, garbage.

Every broken-frame case also checks that the broker only dropped the offending
connection: another connection still works, and a message the broker took
before (receipted) is still there.
"""

import unittest

from harness import StompTest, uniq

MAX_BODY = 1024
MAX_HEADER_LINE = 256
MAX_HEADERS = 16


class Framing(StompTest):
    shared_broker = True
    broker_args = ("--stomp-max-body-bytes", str(MAX_BODY), "--stomp-max-header-line-bytes", str(MAX_HEADER_LINE),
                   "--stomp-max-headers", str(MAX_HEADERS))

    def round_trip(self, version, send_bytes_for, receipt="sent"):
        """Subscribes to a new queue, writes what send_bytes_for(destination) gives, returns the MESSAGE."""
        q = "/queue/" + uniq("q")
        r = self.raw(connect=True, version=version)
        r.send_frame("SUBSCRIBE", [("destination", q), ("id", "s"), ("receipt", "sub")])
        f = r.read_frame()
        self.assertEqual((f.command, f.header("receipt-id")), ("RECEIPT", "sub"), f)
        r.send(send_bytes_for(q))
        got = {}
        while len(got) < 2:
            f = r.read_frame()
            self.assertIsNotNone(f, f"connection ended; got {got}")
            self.assertNotEqual(f.command, "ERROR", f)
            got[f.command] = f
        self.assertEqual(got["RECEIPT"].header("receipt-id"), receipt)
        return got["MESSAGE"]

    def test_content_length_body_with_nuls(self):
        body = b"a\x00b\x00\x00c" + bytes(range(256))
        for version in ("1.0", "1.1", "1.2"):
            with self.subTest(version=version):
                m = self.round_trip(version, lambda q: (
                    f"SEND\ndestination:{q}\nreceipt:sent\ncontent-length:{len(body)}\n\n").encode() + body + b"\x00")
                self.assertEqual(m.body, body)
                self.assertEqual(m.header("content-length"), str(len(body)))

    def test_nul_terminated_body(self):
        m = self.round_trip("1.2", lambda q: f"SEND\ndestination:{q}\nreceipt:sent\n\nhello\nworld\x00".encode())
        self.assertEqual(m.body, b"hello\nworld")

    def test_empty_body(self):
        m = self.round_trip("1.2", lambda q: f"SEND\ndestination:{q}\nreceipt:sent\n\n\x00".encode())
        self.assertEqual(m.body, b"")

    def test_header_escaping_round_trip(self):
        value = 'a:b\nc\\d: e'
        escaped = value.replace("\\", "\\\\").replace("\n", "\\n").replace(":", "\\c")
        for version in ("1.1", "1.2"):
            with self.subTest(version=version):
                m = self.round_trip(version, lambda q: (
                    f"SEND\ndestination:{q}\nreceipt:sent\nx-odd:{escaped}\n\nbody\x00").encode())
                self.assertEqual(m.header("x-odd"), value)

    def test_carriage_return_escape_in_1_2(self):
        m = self.round_trip("1.2", lambda q: (
            f"SEND\ndestination:{q}\nreceipt:sent\nx-cr:one\\rtwo\n\nbody\x00").encode())
        self.assertEqual(m.header("x-cr"), "one\rtwo")

    def test_escaped_header_name_round_trip(self):
        m = self.round_trip("1.2", lambda q: (
            f"SEND\ndestination:{q}\nreceipt:sent\nx\\cname:v\n\nbody\x00").encode())
        self.assertEqual(m.header("x:name"), "v")

    def test_carriage_return_escape_is_an_error_in_1_1(self):
        self.check_rejected(b"SEND\ndestination:/queue/x\nx-cr:a\\rb\n\nbody\x00", version="1.1")

    def test_crlf_line_ends_in_1_2(self):
        m = self.round_trip("1.2", lambda q: (
            f"SEND\r\ndestination:{q}\r\nreceipt:sent\r\nx-k:v\r\n\r\nbody\x00").encode())
        self.assertEqual(m.body, b"body")
        self.assertEqual(m.header("x-k"), "v", "CR kept in a header value")

    def test_repeated_header_first_wins(self):
        m = self.round_trip("1.2", lambda q: (
            f"SEND\ndestination:{q}\nreceipt:sent\nx-color:red\nx-color:blue\n\nbody\x00").encode())
        self.assertEqual(m.header("x-color"), "red")
        self.assertEqual([v for n, v in m.headers if n == "x-color"], ["red"], "repeated header passed on twice")

    def test_repeated_property_header_first_wins(self):
        # Headers that become message properties follow the same rule as the others.
        m = self.round_trip("1.2", lambda q: (
            f"SEND\ndestination:{q}\nreceipt:sent\npersistent:true\npersistent:false\npriority:7\npriority:2\n"
            f"content-type:text/a\ncontent-type:text/b\nexpires:0\nexpires:1\n\nbody\x00").encode())
        self.assertEqual(m.header("persistent"), "true")
        self.assertEqual(m.header("priority"), "7")
        self.assertEqual(m.header("content-type"), "text/a")
        self.assertEqual(m.header("expires"), "0", "a second expires header was applied")

    def test_heart_beat_eols_between_frames_are_ignored(self):
        m = self.round_trip("1.2", lambda q: (
            f"\n\r\n\nSEND\ndestination:{q}\nreceipt:sent\n\nbody\x00\n\n").encode())
        self.assertEqual(m.body, b"body")

    def test_frame_split_across_writes(self):
        q = "/queue/" + uniq("q")
        r = self.raw(connect=True)
        data = f"SEND\ndestination:{q}\nreceipt:done\ncontent-length:5\n\nab\x00cd\x00".encode()
        for i in range(len(data)):
            r.send(data[i:i + 1])
        f = r.read_frame()
        self.assertEqual((f.command, f.header("receipt-id")), ("RECEIPT", "done"), f)
        r.send_frame("SUBSCRIBE", [("destination", q), ("id", "s")])
        f = r.read_frame()
        self.assertEqual((f.command, f.body), ("MESSAGE", b"ab\x00cd"), f)

    # ---- broken input: ERROR, close, and nobody else notices ----

    def check_rejected(self, bad, *expect_in_message, version="1.2"):
        """Stores a message, sends `bad` on another connection, expects ERROR + close; the message is still there."""
        q = "/queue/" + uniq("q")
        keeper = self.raw(connect=True)
        keeper.send_frame("SEND", [("destination", q), ("receipt", "kept")], b"before")
        f = keeper.read_frame()
        self.assertEqual(f.header("receipt-id"), "kept", f)

        r = self.raw(connect=True, version=version)
        r.send(bad)
        f = r.read_frame()
        self.assertIsNotNone(f, "no ERROR frame before the close")
        self.assertEqual(f.command, "ERROR", f)
        for word in expect_in_message:
            self.assertIn(word, ((f.header("message") or "") + f.body.decode(errors="replace")).lower(), f)
        self.assertTrue(r.wait_closed(), "connection left open after ERROR")

        # The keeper's connection still works, and the message is there.
        keeper.send_frame("SUBSCRIBE", [("destination", q), ("id", "s")])
        f = keeper.read_frame()
        self.assertEqual((f.command, f.body), ("MESSAGE", b"before"), f)
        fresh = self.raw(connect=True)
        fresh.send_frame("SEND", [("destination", q), ("receipt", "fresh")], b"after")
        f = fresh.read_frame()
        self.assertEqual(f.header("receipt-id"), "fresh", f)
        f = keeper.read_frame()
        self.assertEqual((f.command, f.body), ("MESSAGE", b"after"), f)

    def test_oversize_body_content_length(self):
        body = b"x" * (MAX_BODY + 1)
        self.check_rejected(f"SEND\ndestination:/queue/big\ncontent-length:{len(body)}\n\n".encode() + body + b"\x00")

    def test_oversize_body_nul_terminated(self):
        self.check_rejected(b"SEND\ndestination:/queue/big\n\n" + b"x" * (MAX_BODY * 2) + b"\x00")

    def test_body_at_limit_is_fine(self):
        body = b"y" * MAX_BODY
        m = self.round_trip("1.2", lambda q: (
            f"SEND\ndestination:{q}\nreceipt:sent\ncontent-length:{len(body)}\n\n").encode() + body + b"\x00")
        self.assertEqual(m.body, body)

    def test_oversize_header_line(self):
        self.check_rejected(b"SEND\ndestination:/queue/x\nx-long:" + b"h" * (MAX_HEADER_LINE * 2) + b"\n\nb\x00")

    def test_too_many_headers(self):
        headers = "".join(f"x-h{i}:v\n" for i in range(MAX_HEADERS + 1))
        self.check_rejected(f"SEND\ndestination:/queue/x\n{headers}\nb\x00".encode())

    def test_garbage_bytes(self):
        self.check_rejected(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\n\x00\xff\n\n\x00")

    def test_endless_garbage_line(self):
        # No line end ever comes: the line limit ends the wait.
        self.check_rejected(bytes(range(1, 10)) * (MAX_HEADER_LINE // 4))

    def test_unknown_command(self):
        self.check_rejected(b"FROB\ndestination:/queue/x\n\n\x00")

    def test_header_without_colon(self):
        self.check_rejected(b"SEND\ndestination:/queue/x\nnocolonhere\n\nbody\x00")

    def test_bad_escape(self):
        self.check_rejected(b"SEND\ndestination:/queue/x\nx-bad:a\\tb\n\nbody\x00")

    def test_content_length_not_followed_by_nul(self):
        self.check_rejected(b"SEND\ndestination:/queue/x\ncontent-length:2\n\nabc\x00")

    def test_bad_content_length(self):
        self.check_rejected(b"SEND\ndestination:/queue/x\ncontent-length:12x\n\nabc\x00")

    def test_send_without_destination(self):
        self.check_rejected(b"SEND\nreceipt:r\n\nabc\x00", "destination")

    def test_limits_apply_before_login(self):
        r = self.raw()
        r.send(b"CONNECT\naccept-version:1.2\nx-junk:" + b"j" * (MAX_HEADER_LINE * 4) + b"\n\n\x00")
        f = r.read_frame()
        self.assertIsNotNone(f, "no ERROR for an oversize CONNECT")
        self.assertEqual(f.command, "ERROR", f)
        self.assertTrue(r.wait_closed())

    def test_error_carries_receipt_id(self):
        r = self.raw(connect=True)
        r.send_frame("SEND", [("destination", "/nowhere/x"), ("receipt", "r-77")], b"x")
        f = r.read_frame()
        self.assertEqual(f.command, "ERROR", f)
        self.assertEqual(f.header("receipt-id"), "r-77")
        self.assertTrue(r.wait_closed())


if __name__ == "__main__":
    unittest.main()

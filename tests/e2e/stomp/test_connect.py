"""CONNECT: version negotiation, CONNECTED headers, logins, virtual hosts, heart-beats."""

import unittest

import stomp.exception

from harness import QUIET_S, StompTest, add_user, add_vhost, uniq, wait_until

PASSWORD = "s3cret"


class Negotiation(StompTest):
    shared_broker = True

    def connected(self, headers):
        r = self.raw()
        r.send_frame("CONNECT", [("login", "guest"), ("passcode", "guest"), *headers])
        f = r.read_frame()
        self.assertIsNotNone(f, "no answer to CONNECT")
        return r, f

    def test_highest_common_version_wins(self):
        for offer, want in (("1.0,1.1,1.2", "1.2"), ("1.1,1.0", "1.1"), ("1.0", "1.0"), ("1.2", "1.2"),
                            ("1.1, 2.0", "1.1")):
            with self.subTest(offer=offer):
                _, f = self.connected([("accept-version", offer), ("host", "/")])
                self.assertEqual(f.command, "CONNECTED", f)
                self.assertEqual(f.header("version"), want)

    def test_no_accept_version_is_1_0(self):
        _, f = self.connected([])
        self.assertEqual(f.command, "CONNECTED", f)
        # 1.0 has no version header requirement, but if present it says 1.0.
        self.assertIn(f.header("version"), (None, "1.0"))
        self.assertIsNone(f.header("heart-beat"), "1.0 has no heart-beating")

    def test_unsupported_versions_only_get_error_listing_ours(self):
        r, f = self.connected([("accept-version", "2.0,3.1"), ("host", "/")])
        self.assertEqual(f.command, "ERROR", f)
        versions = (f.header("version") or "").split(",")
        self.assertEqual(sorted(versions), ["1.0", "1.1", "1.2"])
        self.assertTrue(r.wait_closed(), "connection left open after a version mismatch")

    def test_connected_headers(self):
        conn, lst = self.stomp("1.2", heartbeats=(0, 0))
        f = lst.connected
        self.assertEqual(f.headers.get("version"), "1.2")
        self.assertTrue(f.headers.get("server", "").startswith("Wharf/"), f.headers)
        self.assertTrue(f.headers.get("session"), f.headers)
        self.assertEqual(f.headers.get("heart-beat"), "0,0")
        # Sessions are told apart.
        _, lst2 = self.stomp("1.2")
        self.assertNotEqual(lst2.connected.headers.get("session"), f.headers.get("session"))

    def test_stomp_command_connects(self):
        r = self.raw()
        r.send_frame("STOMP", [("accept-version", "1.2"), ("host", "/"), ("login", "guest"), ("passcode", "guest")])
        f = r.read_frame()
        self.assertEqual(f.command, "CONNECTED", f)
        self.assertEqual(f.header("version"), "1.2")
        # And the session works: a receipted SEND.
        r.send_frame("SEND", [("destination", "/queue/" + uniq("q")), ("receipt", "r1")], b"x")
        f = r.read_frame()
        self.assertEqual((f.command, f.header("receipt-id")), ("RECEIPT", "r1"), f)

    def test_connect_without_login_is_the_default_user(self):
        r = self.raw()
        r.send_frame("CONNECT", [("accept-version", "1.2"), ("host", "/")])
        f = r.read_frame()
        self.assertEqual(f.command, "CONNECTED", f)
        r.send_frame("SEND", [("destination", "/queue/" + uniq("q")), ("receipt", "r1")], b"x")
        self.assertEqual(r.read_frame().header("receipt-id"), "r1")

    def test_second_connect_is_an_error(self):
        r = self.raw(connect=True)
        r.send_frame("CONNECT", [("accept-version", "1.2"), ("host", "/")])
        f = r.read_frame()
        self.assertEqual(f.command, "ERROR", f)
        self.assertTrue(r.wait_closed())

    def test_frame_before_connect_is_an_error(self):
        r = self.raw()
        r.send_frame("SEND", [("destination", "/queue/x")], b"x")
        f = r.read_frame()
        self.assertEqual(f.command, "ERROR", f)
        self.assertTrue(r.wait_closed())

    def test_bad_passcode_is_refused(self):
        for version in ("1.0", "1.1", "1.2"):
            with self.subTest(version=version):
                with self.assertRaises(stomp.exception.ConnectFailedException):
                    self.stomp(version, login="guest", passcode="wrong")
                r = self.raw()
                r.send_frame("CONNECT", [("accept-version", version), ("host", "/"), ("login", "guest"),
                                         ("passcode", "wrong")])
                f = r.read_frame()
                self.assertEqual(f.command, "ERROR", f)
                self.assertIn("guest", f.header("message") or "")
                self.assertTrue(r.wait_closed())

    def test_unknown_login_is_refused(self):
        r = self.raw()
        r.send_frame("CONNECT", [("accept-version", "1.2"), ("host", "/"), ("login", uniq("nobody")),
                                 ("passcode", "x")])
        f = r.read_frame()
        self.assertEqual(f.command, "ERROR", f)
        self.assertTrue(r.wait_closed())


class Version10(StompTest):
    """STOMP 1.0 clients: no subscription ids or NACK, ACK by message-id, no header escaping."""
    shared_broker = True

    def test_1_0_subscribe_ack_unsubscribe_by_destination(self):
        q = "/queue/" + uniq("q")
        r = self.raw(connect=True, version="1.0")
        r.send_frame("SUBSCRIBE", [("destination", q), ("ack", "client"), ("receipt", "sub")])
        f = r.read_frame()
        self.assertEqual(f.header("receipt-id"), "sub", f)
        r.send_frame("SEND", [("destination", q), ("x-colon", "a:b")], b"one")
        f = r.read_frame()
        self.assertEqual((f.command, f.body), ("MESSAGE", b"one"), f)
        self.assertEqual(f.header("x-colon"), "a:b", "1.0 values are not escaped")
        self.assertIsNone(f.header("ack"), "1.0 has no ack header")
        r.send_frame("ACK", [("message-id", f.header("message-id")), ("receipt", "acked")])
        self.assertEqual(r.read_frame().header("receipt-id"), "acked")
        r.send_frame("UNSUBSCRIBE", [("destination", q), ("receipt", "unsub")])
        self.assertEqual(r.read_frame().header("receipt-id"), "unsub")
        r.send_frame("SEND", [("destination", q), ("receipt", "two")], b"two")
        f = r.read_frame()
        self.assertEqual((f.command, f.header("receipt-id")), ("RECEIPT", "two"), f)
        self.assertIsNone(r.read_frame(timeout=QUIET_S), "a message after UNSUBSCRIBE")
        # "one" was acked, "two" waits.
        c, lc = self.stomp("1.0")
        c.subscribe(q, id=None)
        self.assertEqual([m.body for m in lc.wait_messages(1)], ["two"])
        wait_until(lambda: len(lc.messages) > 1, QUIET_S)
        self.assertEqual(lc.bodies(), ["two"])

    def test_1_0_has_no_nack(self):
        r = self.raw(connect=True, version="1.0")
        r.send_frame("NACK", [("message-id", "x")])
        f = r.read_frame()
        self.assertEqual(f.command, "ERROR", f)
        self.assertIn("NACK", f.header("message"))
        self.assertTrue(r.wait_closed())

    def test_1_0_backslash_is_literal(self):
        q = "/queue/" + uniq("q")
        r = self.raw(connect=True, version="1.0")
        r.send_frame("SUBSCRIBE", [("destination", q), ("receipt", "sub")])
        self.assertEqual(r.read_frame().header("receipt-id"), "sub")
        r.send_frame("SEND", [("destination", q), ("x-path", r"C:\temp\n")], b"p")
        f = r.read_frame()
        self.assertEqual(f.header("x-path"), r"C:\temp\n")


class VirtualHosts(StompTest):
    """The host header picks a vhost that exists; any other value means the default one."""
    shared_broker = True

    @classmethod
    def prepare(cls, broker):
        cls.vhost = uniq("vh")
        cls.user = uniq("user")
        add_vhost(broker.data_dir, cls.vhost)
        add_user(broker.data_dir, cls.user, PASSWORD, cls.vhost, ".*", ".*", ".*")
        # CONNECT headers are never unescaped: a passcode with ':' and '\\' is taken as is.
        cls.odd_user, cls.odd_password = uniq("odd"), "p:a\\ss\\c"
        add_user(broker.data_dir, cls.odd_user, cls.odd_password, "/", ".*", ".*", ".*")
        cls.reader = uniq("reader")
        add_user(broker.data_dir, cls.reader, PASSWORD, "/", ".*", "^nothing$", ".*")
        cls.picky = uniq("picky")
        add_user(broker.data_dir, cls.picky, PASSWORD, "/", ".*", ".*", r"^rd\.")

    def test_host_header_selects_existing_vhost(self):
        q = uniq("q")
        a, la = self.stomp(login=self.user, passcode=PASSWORD, headers={"host": self.vhost})
        self.subscribe_receipted(a, la, "/queue/" + q, "s")
        # The same queue name in "/" is another queue: a guest in "/" sending there is not seen.
        g, lg = self.stomp(headers={"host": "/"})
        self.send_receipted(g, lg, "/queue/" + q, "in-default")
        b, lb = self.stomp(login=self.user, passcode=PASSWORD, headers={"host": self.vhost})
        self.send_receipted(b, lb, "/queue/" + q, "in-vhost")
        got = la.wait_messages(1)
        self.assertEqual([m.body for m in got], ["in-vhost"])
        wait_until(lambda: len(la.messages) > 1, QUIET_S)
        self.assertEqual(la.bodies(), ["in-vhost"], "a message of another vhost arrived")

    def test_unknown_host_means_default_vhost(self):
        q = uniq("q")
        a, la = self.stomp(headers={"host": "no-such-vhost.example.com"})
        self.subscribe_receipted(a, la, "/queue/" + q, "s")
        b, lb = self.stomp(headers={"host": "/"})
        self.send_receipted(b, lb, "/queue/" + q, "hello")
        self.assertEqual([m.body for m in la.wait_messages(1)], ["hello"])

    def test_passcode_with_colon_and_backslash(self):
        c, lc = self.stomp(login=self.odd_user, passcode=self.odd_password)
        self.assertTrue(c.is_connected())
        r = self.raw()
        r.send_frame("CONNECT", [("accept-version", "1.2"), ("host", "/"), ("login", self.odd_user),
                                 ("passcode", self.odd_password)])
        self.assertEqual(r.read_frame().command, "CONNECTED")

    def test_write_permission_is_checked(self):
        c, lc = self.stomp(login=self.reader, passcode=PASSWORD)
        c.send("/queue/" + uniq("q"), "x", receipt="r")
        err = lc.wait_error()
        self.assertIsNotNone(err, "a SEND without write permission was taken")
        self.assertIn("Access refused", err.headers.get("message", ""))
        self.assertNotIn("r", lc.receipts)

    def test_read_permission_is_checked(self):
        c, lc = self.stomp(login=self.picky, passcode=PASSWORD)
        self.subscribe_receipted(c, lc, "/queue/rd." + uniq("q"), "ok")
        c.subscribe("/queue/" + uniq("q"), "refused", receipt="r")
        err = lc.wait_error()
        self.assertIsNotNone(err, "a SUBSCRIBE without read permission was taken")
        self.assertIn("Access refused", err.headers.get("message", ""))

    def test_user_without_access_to_vhost_is_refused(self):
        # The user has permissions only in cls.vhost; "/" is refused.
        r = self.raw()
        r.send_frame("CONNECT", [("accept-version", "1.2"), ("host", "/"), ("login", self.user),
                                 ("passcode", PASSWORD)])
        f = r.read_frame()
        self.assertEqual(f.command, "ERROR", f)
        self.assertTrue(r.wait_closed())


class HeartBeats(StompTest):
    # The least interval the server holds clients to: small, so silence is noticed quickly.
    broker_args = ("--stomp-heartbeat-ms", "100", "--stomp-connect-timeout-ms", "1000")
    shared_broker = True

    def test_server_sends_heart_beats_when_asked(self):
        r = self.raw()
        r.send_frame("CONNECT", [("accept-version", "1.2"), ("host", "/"), ("login", "guest"),
                                 ("passcode", "guest"), ("heart-beat", "0,100")])
        f = r.read_frame()
        self.assertEqual(f.command, "CONNECTED", f)
        sx, sy = (int(x) for x in f.header("heart-beat").split(","))
        self.assertGreater(sx, 0, "server does not offer to send heart-beats though asked")
        self.assertEqual(sy, 0, "server expects beats though the client offered none")
        # Several EOLs arrive, and no frame in between.
        self.assertIsNone(r.read_frame(timeout=max(5 * sx / 1000, 1.0)))
        self.assertFalse(r.eof, "connection closed")
        self.assertTrue(wait_until(lambda: r.read_frame(timeout=0.2) is None and r.heartbeats >= 3),
                        f"only {r.heartbeats} heart-beats arrived")

    def test_no_heart_beats_unless_asked(self):
        r = self.raw()
        r.send_frame("CONNECT", [("accept-version", "1.2"), ("host", "/"), ("login", "guest"),
                                 ("passcode", "guest"), ("heart-beat", "0,0")])
        f = r.read_frame()
        self.assertEqual(f.header("heart-beat"), "0,0")
        self.assertIsNone(r.read_frame(timeout=QUIET_S))
        self.assertEqual(r.heartbeats, 0)
        self.assertFalse(r.eof)

    def test_stomp_py_keeps_connection_alive_with_beats(self):
        # Intervals with room for a loaded machine: stomp.py gives up after 1.5 intervals.
        conn, lst = self.stomp("1.2", heartbeats=(1000, 1000))
        self.assertTrue(wait_until(lambda: lst.heartbeats >= 3), "stomp.py saw no server heart-beats")
        self.assertTrue(conn.is_connected())
        self.assertFalse(lst.disconnected)
        q = "/queue/" + uniq("q")
        self.send_receipted(conn, lst, q, "still here")

    def test_connection_without_connect_is_closed(self):
        r = self.raw()
        self.assertTrue(r.wait_closed(), "a socket that never sent CONNECT was kept open")

    def test_silent_client_is_disconnected(self):
        r = self.raw()
        r.send_frame("CONNECT", [("accept-version", "1.2"), ("host", "/"), ("login", "guest"),
                                 ("passcode", "guest"), ("heart-beat", "100,0")])
        f = r.read_frame()
        self.assertEqual(f.command, "CONNECTED", f)
        _, sy = (int(x) for x in f.header("heart-beat").split(","))
        self.assertGreater(sy, 0, "server does not expect the heart-beats offered")
        # We never send anything again: the server must hang up.
        self.assertTrue(r.wait_closed(), "a silent client was not disconnected")

    def test_malformed_heart_beat_header_is_an_error(self):
        r = self.raw()
        r.send_frame("CONNECT", [("accept-version", "1.2"), ("host", "/"), ("heart-beat", "soon")])
        f = r.read_frame()
        self.assertEqual(f.command, "ERROR", f)
        self.assertIn("heart-beat", f.header("message"))

    def test_beating_client_is_not_disconnected(self):
        r = self.raw()
        r.send_frame("CONNECT", [("accept-version", "1.2"), ("host", "/"), ("login", "guest"),
                                 ("passcode", "guest"), ("heart-beat", "1000,0")])
        f = r.read_frame()
        self.assertEqual(f.command, "CONNECTED", f)
        _, sy = (int(x) for x in f.header("heart-beat").split(","))
        self.assertEqual(sy, 1000)
        # Beat at a quarter of the agreed interval for longer than the disconnect window
        # (twice the interval), leaving room for a loaded machine.
        beats = 0
        while beats < 10:
            r.send(b"\n")
            beats += 1
            self.assertIsNone(r.read_frame(timeout=sy / 1000 / 4))
            self.assertFalse(r.eof, f"disconnected after {beats} beats")
        r.send_frame("SEND", [("destination", "/queue/" + uniq("q")), ("receipt", "alive")], b"x")
        f = r.read_frame()
        self.assertEqual(f.header("receipt-id"), "alive", f)


if __name__ == "__main__":
    unittest.main()

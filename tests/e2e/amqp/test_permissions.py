"""Users, vhost access and configure/write/read permissions.

Users are made before the broker starts (harness.add_user: `wharf user add`
and friends on the data directory, rabbitmqctl on an external broker). One
broker serves the whole class; every test uses its own queue and exchange
names.

In vhost V:
    admin   configure ".*"     write ".*"     read ".*"     (sets the stage)
    limited configure "^cfg\\." write "^wr\\."  read "^rd\\."
    nobody  has no permissions anywhere.
"""

import unittest

import pika
import pika.exceptions

from harness import BrokerTest, add_user, add_vhost, uniq
from pika_util import get_bodies, publish_all

PASSWORD = "s3cret-pw"


class PermissionTest(BrokerTest):
    shared_broker = True

    @classmethod
    def prepare(cls, broker):
        cls.vhost = uniq("vhost")
        cls.admin, cls.limited, cls.nobody = uniq("admin"), uniq("limited"), uniq("nobody")
        add_vhost(broker.data_dir, cls.vhost)
        add_user(broker.data_dir, cls.admin, PASSWORD, cls.vhost, ".*", ".*", ".*")
        add_user(broker.data_dir, cls.limited, PASSWORD, cls.vhost, r"^cfg\.", r"^wr\.", r"^rd\.")
        add_user(broker.data_dir, cls.nobody, PASSWORD)

    def login(self, user, password=PASSWORD, vhost=None):
        return self.connect(credentials=pika.PlainCredentials(user, password),
                            virtual_host=self.vhost if vhost is None else vhost)

    def setUp(self):
        super().setUp()
        self.admin_ch = self.login(self.admin).channel()
        self.admin_ch.confirm_delivery()
        self.conn = self.login(self.limited)

    def name(self, prefix):
        """A name under one of the permission prefixes (cfg., wr., rd., other.)."""
        return prefix + "." + self.uniq("n")

    def refused(self, fn, *args, **kw):
        text = self.assertChannelClosed(403, fn, *args, **kw)
        self.assertIn("ACCESS_REFUSED", text)
        self.assertTrue(self.conn.is_open, "403 closes the channel, not the connection")
        return text

    def test_wrong_password_is_refused(self):
        with self.assertRaises((pika.exceptions.ProbableAuthenticationError,
                                pika.exceptions.AuthenticationError)) as ctx:
            self.login(self.limited, password="not-" + PASSWORD)
        self.assertIn("403", str(ctx.exception))
        self.assertIn("ACCESS_REFUSED", str(ctx.exception))
        # Unknown users get the same answer as wrong passwords.
        with self.assertRaises((pika.exceptions.ProbableAuthenticationError,
                                pika.exceptions.AuthenticationError)) as ctx:
            self.login(uniq("ghost"))
        self.assertIn("ACCESS_REFUSED", str(ctx.exception))

    def test_vhost_without_permissions_is_not_allowed(self):
        for user, vhost in ((self.nobody, self.vhost), (self.nobody, "/"), (self.limited, "/")):
            with self.assertRaises(pika.exceptions.ProbableAccessDeniedError) as ctx:
                self.login(user, vhost=vhost)
            self.assertIn("530", str(ctx.exception))
            self.assertIn("NOT_ALLOWED", str(ctx.exception))
        # guest has no permissions in the new vhost either.
        with self.assertRaises(pika.exceptions.ProbableAccessDeniedError):
            self.connect(virtual_host=self.vhost)

    def test_configure_permission_governs_declare_and_delete(self):
        ch = self.conn.channel()
        q = ch.queue_declare(self.name("cfg")).method.queue
        x = self.name("cfg")
        ch.exchange_declare(x, "fanout")
        text = self.refused(self.conn.channel().queue_declare, self.name("wr"))
        self.assertIn(self.limited, text)
        self.refused(self.conn.channel().exchange_declare, self.name("other"), "direct")
        # Server-named queues are amq.gen-..., outside ^cfg\.
        self.refused(self.conn.channel().queue_declare, "", exclusive=True)
        # Deleting needs configure too.
        other = self.name("rd")
        self.admin_ch.queue_declare(other)
        self.refused(self.conn.channel().queue_delete, other)
        ch = self.conn.channel()
        ch.queue_delete(q)
        ch.exchange_delete(x)

    def test_write_permission_governs_publish(self):
        fanout = self.name("wr")
        self.admin_ch.exchange_declare(fanout, "fanout")
        q = self.name("rd")
        self.admin_ch.queue_declare(q)
        self.admin_ch.queue_bind(q, fanout)
        denied = self.name("other")
        self.admin_ch.exchange_declare(denied, "fanout")
        self.admin_ch.queue_bind(q, denied)

        ch = self.conn.channel()
        ch.confirm_delivery()
        publish_all(ch, fanout, "", ["allowed"])
        self.assertEqual(get_bodies(self.admin_ch, q), ["allowed"])

        ch = self.conn.channel()
        ch.confirm_delivery()
        text = self.refused(ch.basic_publish, denied, "", b"denied")
        self.assertIn(denied, text)
        # The default exchange is checked as "amq.default": not under ^wr\.
        ch = self.conn.channel()
        ch.confirm_delivery()
        text = self.refused(ch.basic_publish, "", q, b"via default")
        self.assertIn("amq.default", text)
        self.assertEqual(get_bodies(self.admin_ch, q), [])

    def test_read_permission_governs_consume_and_get(self):
        readable, unreadable = self.name("rd"), self.name("cfg")
        for q in (readable, unreadable):
            self.admin_ch.queue_declare(q)
            publish_all(self.admin_ch, "", q, ["m"])
        ch = self.conn.channel()
        self.assertEqual(get_bodies(ch, readable), ["m"])
        ch.basic_consume(readable, lambda *a: None)
        self.refused(self.conn.channel().basic_consume, unreadable, lambda *a: None)
        self.refused(self.conn.channel().basic_get, unreadable)
        self.assertEqual(get_bodies(self.admin_ch, unreadable), ["m"])  # untouched

    def test_bind_needs_write_on_the_queue_and_read_on_the_exchange(self):
        wr_q, rd_q = self.name("wr"), self.name("rd")
        rd_x, wr_x = self.name("rd"), self.name("wr")
        for q in (wr_q, rd_q):
            self.admin_ch.queue_declare(q)
        for x in (rd_x, wr_x):
            self.admin_ch.exchange_declare(x, "fanout")
        self.conn.channel().queue_bind(wr_q, rd_x)
        self.refused(self.conn.channel().queue_bind, rd_q, rd_x)  # no write on the queue
        self.refused(self.conn.channel().queue_bind, wr_q, wr_x)  # no read on the exchange
        publish_all(self.admin_ch, rd_x, "", ["bound"])
        self.assertEqual(get_bodies(self.admin_ch, wr_q), ["bound"])


if __name__ == "__main__":
    unittest.main()

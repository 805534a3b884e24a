"""The offline administration commands (wharf user / vhost / permissions) and
the broker authenticating pika clients against what they stored.

Each test provisions a fresh data dir with the CLI before the broker starts,
then connects with pika as the users it made.
"""

import subprocess
import sys
import unittest

import pika
import pika.exceptions

from harness import Broker, wharf_bin, wharf_only


def wharf(data_dir, *args, stdin=None):
    """Runs `wharf ARGS --data-dir DATA_DIR`; returns (exit code, stdout, stderr)."""
    r = subprocess.run([wharf_bin(), *args, "--data-dir", data_dir], input=stdin, capture_output=True, text=True,
                       timeout=30)
    return r.returncode, r.stdout, r.stderr


@wharf_only("the offline CLI edits a Wharf data dir")
class CliTest(unittest.TestCase):
    def setUp(self):
        self.broker = Broker()  # not started: the CLI works on its data dir first

    def tearDown(self):
        running = self.broker.proc is not None
        code = self.broker.stop()
        print(f"--- broker output ({self.id()}) ---\n{self.broker.output()}\n--- end ---", file=sys.stdout)
        if running:
            self.assertEqual(code, 0, "broker did not stop cleanly on SIGTERM")

    def ok(self, *args, stdin=None):
        code, out, err = wharf(self.broker.data_dir, *args, stdin=stdin)
        self.assertEqual(code, 0, f"wharf {' '.join(args)}: {out}{err}")
        return out

    def connect(self, user, password, vhost="/"):
        return pika.BlockingConnection(
            self.broker.params(credentials=pika.PlainCredentials(user, password), virtual_host=vhost))

    def test_provisioned_user_logs_in_to_its_vhost_and_nowhere_else(self):
        self.ok("user", "add", "app", "s3cret", "--tags", "monitoring,policymaker")
        self.ok("user", "add", "outsider", "pw")
        self.ok("vhost", "add", "shop")
        self.ok("permissions", "set", "--vhost", "shop", "app", "^app\\.", "^(app\\..*|amq\\.default)$", "^app\\.")
        users = self.ok("user", "list", "-q")
        self.assertIn("app\t[monitoring, policymaker]\tfalse", users.splitlines())
        self.assertIn("guest\t[administrator]\ttrue", users.splitlines())
        self.assertEqual(self.ok("vhost", "list", "--quiet").split(), ["/", "shop"])
        self.assertIn("app\tshop\t^app\\.\t^(app\\..*|amq\\.default)$\t^app\\.",
                      self.ok("permissions", "list", "-q", "--vhost", "shop").splitlines())
        self.broker.start()

        conn = self.connect("app", "s3cret", "shop")
        self.assertTrue(conn.is_open)
        ch = conn.channel()
        # The stored expressions decide what the user may do inside the vhost.
        ch.queue_declare("app.orders")
        ch.basic_publish("", "app.orders", b"order 1")
        method, _, body = ch.basic_get("app.orders", auto_ack=True)
        self.assertEqual(body, b"order 1")
        with self.assertRaises(pika.exceptions.ChannelClosedByBroker) as ctx:
            ch.queue_declare("billing")
        self.assertEqual(ctx.exception.reply_code, 403)
        self.assertIn("ACCESS_REFUSED", ctx.exception.reply_text)
        conn.close()

        with self.assertRaises(pika.exceptions.ProbableAuthenticationError) as ctx:
            self.connect("app", "wrong", "shop")
        self.assertIn("ACCESS_REFUSED", str(ctx.exception))
        # The log line is read from the broker's output by another thread: wait for it.
        self.assertTrue(self.broker.wait_for("login refused using PLAIN: invalid credentials for user 'app'"),
                        self.broker.output())

        # A valid user without permissions on the vhost: 530 at connection.open.
        with self.assertRaises(pika.exceptions.ProbableAccessDeniedError) as ctx:
            self.connect("outsider", "pw", "shop")
        self.assertIn("(530)", str(ctx.exception))
        self.assertIn("NOT_ALLOWED - access to vhost 'shop' refused for user 'outsider'", str(ctx.exception))
        with self.assertRaises(pika.exceptions.ProbableAccessDeniedError):
            self.connect("guest", "guest", "shop")

        # guest keeps RabbitMQ's defaults on "/" (from loopback, where we are).
        self.connect("guest", "guest").close()

    def test_broker_holds_the_data_dir_and_changes_apply_at_the_next_start(self):
        self.broker.start()
        code, out, err = wharf(self.broker.data_dir, "user", "add", "late", "pw")
        self.assertEqual(code, 69, out + err)
        self.assertIn("a running broker holds it", err)
        self.assertIn("stop the broker first", err)

        # Offline now: the same commands work and the broker reads them on start.
        self.assertEqual(self.broker.stop(keep_data=True), 0)
        self.ok("user", "add", "late", stdin="from-stdin\n")  # the password is read from stdin
        self.ok("permissions", "set", "late", ".*", ".*", ".*")  # --vhost defaults to /
        self.ok("user", "delete", "guest")
        self.broker.restart()

        self.connect("late", "from-stdin").close()
        with self.assertRaises(pika.exceptions.ProbableAuthenticationError):
            self.connect("guest", "guest")

    def test_errors_are_worded_as_rabbitmqctl_and_exit_non_zero(self):
        d = self.broker.data_dir
        self.ok("user", "add", "bob", "pw")
        cases = [
            (("user", "add", "bob", "pw"), 70, 'User "bob" already exists'),
            (("user", "delete", "nobody"), 67, 'User "nobody" does not exist'),
            (("user", "passwd", "nobody", "x"), 67, 'User "nobody" does not exist'),
            (("vhost", "delete", "nowhere"), 65, 'Virtual host "nowhere" does not exist'),
            (("permissions", "set", "--vhost", "nowhere", "bob", ".*", ".*", ".*"), 65,
             'Virtual host "nowhere" does not exist'),
            (("permissions", "set", "nobody", ".*", ".*", ".*"), 67, 'User "nobody" does not exist'),
            (("permissions", "set", "bob", "(", ".*", ".*"), 65, "invalid configure permission expression '('"),
        ]
        for args, want_code, want_text in cases:
            code, out, err = wharf(d, *args)
            self.assertEqual(code, want_code, f"{args}: {out}{err}")
            self.assertTrue(err.startswith("Error:\n"), err)
            self.assertIn(want_text, err)
        # An empty password is refused rather than making a user who cannot log in.
        code, _, err = wharf(d, "user", "add", "carol", stdin="")
        self.assertEqual(code, 65)
        self.assertIn("no password given", err)
        # Idempotent, as rabbitmqctl: adding an existing vhost, clearing absent permissions.
        self.ok("vhost", "add", "v")
        self.ok("vhost", "add", "v")
        self.ok("permissions", "clear", "--vhost", "v", "bob")
        self.ok("permissions", "set", "--vhost", "v", "bob", "", "", "")
        self.ok("permissions", "clear", "--vhost", "v", "bob")
        self.assertNotIn("bob", self.ok("permissions", "list", "-q"))
        self.ok("vhost", "delete", "v")
        self.assertEqual(self.ok("vhost", "list", "-q").split(), ["/"])
        self.assertEqual(self.ok("user", "list"), "Listing users ...\nuser\ttags\tloopback_only\n"
                                                  "bob\t[]\tfalse\nguest\t[administrator]\ttrue\n")


if __name__ == "__main__":
    unittest.main()

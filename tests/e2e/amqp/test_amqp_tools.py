"""rabbitmq-c's command line tools (amqp-tools) as a second client
implementation: declare, publish, get, consume and delete through them, and
messages crossing between them and pika intact.

Observed tool conventions (Debian amqp-tools 0.11): amqp-get prints the body
and exits 0, exits 2 when the queue is empty and 1 on a broker error;
amqp-consume runs its command once per message with the body on stdin;
amqp-delete-queue prints the number of messages deleted.
"""

import shutil
import subprocess
import unittest

import pika
import pika.exceptions

from harness import BrokerTest
from pika_util import Inbox, get_all, publish_all, wait_until

TOOLS = ("amqp-publish", "amqp-consume", "amqp-get", "amqp-declare-queue", "amqp-delete-queue")
TOOL_TIMEOUT_S = 20


class AmqpToolsTest(BrokerTest):
    def setUp(self):
        missing = [t for t in TOOLS if shutil.which(t) is None]
        # Fail, not skip: a missing client must not pass for a working broker.
        self.assertEqual(missing, [], "amqp-tools is not installed (scripts/deps.sh test)")
        super().setUp()

    def tool(self, name, *args, stdin=None):
        r = subprocess.run([name, "--url", self.broker.url(), *args], input=stdin, capture_output=True,
                           timeout=TOOL_TIMEOUT_S)
        return r.returncode, r.stdout, r.stderr.decode(errors="replace")

    def ok(self, name, *args):
        code, out, err = self.tool(name, *args)
        self.assertEqual(code, 0, f"{name} {args}: {err}")
        return out

    def test_declare_publish_get_consume(self):
        q = self.uniq("q")
        self.assertEqual(self.ok("amqp-declare-queue", "-q", q, "--durable").decode().strip(), q)
        # pika sees a durable queue: a transient redeclare is inequivalent.
        ch = self.channel()
        ch.queue_declare(q, durable=True, passive=True)
        self.assertChannelClosed(406, ch.queue_declare, q, durable=False)

        for body in ("one", "two", "three", "four"):
            self.ok("amqp-publish", "-r", q, "-b", body)
        self.assertEqual(self.ok("amqp-get", "-q", q), b"one")
        # -c 2: the command runs once per message, reading the body from stdin.
        self.assertEqual(self.ok("amqp-consume", "-q", q, "-c", "2", "cat"), b"twothree")
        self.assertEqual(self.ok("amqp-get", "-q", q), b"four")
        code, out, _ = self.tool("amqp-get", "-q", q)
        self.assertEqual((code, out), (2, b""))  # get-empty

    def test_server_named_queue(self):
        name = self.ok("amqp-declare-queue", "-q", "").decode().strip()
        self.assertTrue(name.startswith("amq.gen-"), name)
        self._names.append(name)

    def test_properties_cross_between_clients(self):
        q = self.uniq("q")
        ch = self.channel()
        ch.queue_declare(q)
        self.ok("amqp-publish", "-r", q, "-p", "-C", "application/json", "-E", "identity", "-t", "replies",
                "-H", "trace: abc", "-H", "tenant: t1", "-b", '{"n": 1}')
        (method, props, body), = get_all(ch, q)
        self.assertEqual(body, b'{"n": 1}')
        self.assertEqual((method.exchange, method.routing_key), ("", q))
        self.assertEqual((props.delivery_mode, props.content_type, props.content_encoding, props.reply_to),
                         (2, "application/json", "identity", "replies"))
        self.assertEqual(props.headers, {"trace": "abc", "tenant": "t1"})

        # Bytes from pika come out of amqp-get unchanged: newlines, NUL, high bytes.
        payload = b"line 1\nline 2\x00\xff\xfe end"
        ch.basic_publish("", q, payload)
        self.assertEqual(self.ok("amqp-get", "-q", q), payload)

    def test_publish_lines_from_stdin(self):
        q = self.uniq("q")
        self.channel().queue_declare(q)
        code, _, err = self.tool("amqp-publish", "-r", q, "-l", stdin=b"a\nb\nc\n")
        self.assertEqual(code, 0, err)
        # One message per line, each keeping its newline.
        self.assertEqual([b for _, _, b in get_all(self.channel(), q)], [b"a\n", b"b\n", b"c\n"])

    def test_consume_binds_a_queue_to_an_exchange(self):
        key = self.uniq("key")
        # amqp-consume -e/-r declares a server-named queue bound to amq.topic.
        proc = subprocess.Popen(["amqp-consume", "--url", self.broker.url(), "-e", "amq.topic", "-r", key + ".*",
                                 "-c", "3", "cat"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            ch = self.channel()
            ch.confirm_delivery()

            def bound():
                # Routed (not returned) once amqp-consume has bound its queue.
                try:
                    ch.basic_publish("amq.topic", key + ".probe", b"probe;", mandatory=True)
                    return True
                except pika.exceptions.UnroutableError:
                    return False

            wait_until(bound, "amqp-consume to bind its queue")
            self.ok("amqp-publish", "-e", "amq.topic", "-r", key + ".a", "-b", "a;")
            self.ok("amqp-publish", "-e", "amq.topic", "-r", key + ".not.matching", "-b", "x;")
            self.ok("amqp-publish", "-e", "amq.topic", "-r", key + ".b", "-b", "b;")
            out, err = proc.communicate(timeout=TOOL_TIMEOUT_S)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self.assertEqual(proc.returncode, 0, err.decode(errors="replace"))
        self.assertEqual(out, b"probe;a;b;")

    def test_consume_with_prefetch_acks_as_it_goes(self):
        q = self.uniq("q")
        ch = self.channel()
        ch.queue_declare(q)
        ch.confirm_delivery()
        publish_all(ch, "", q, [f"{i};" for i in range(5)])
        self.assertEqual(self.ok("amqp-consume", "-q", q, "-p", "1", "-c", "3", "cat"), b"0;1;2;")
        # The three consumed were acked; the other two are still there. (The
        # 4th may have been sent to amqp-consume after it acked the 3rd and
        # before it closed: then it comes back redelivered, so the flag is
        # not checked.)
        self.assertEqual([b for _, _, b in get_all(ch, q)], [b"3;", b"4;"])

    def test_delete_queue(self):
        q = self.uniq("q")
        ch = self.channel()
        ch.queue_declare(q)
        ch.confirm_delivery()
        publish_all(ch, "", q, ["a", "b"])
        code, _, err = self.tool("amqp-delete-queue", "-q", q, "--if-empty")
        self.assertNotEqual(code, 0)
        self.assertIn("406", err)
        self.assertEqual(self.ok("amqp-delete-queue", "-q", q).decode().strip(), "2")
        code, _, err = self.tool("amqp-get", "-q", q)
        self.assertEqual(code, 1)
        self.assertIn("404", err)
        inbox = Inbox()
        self.assertChannelClosed(404, self.channel().basic_consume, q, inbox)


if __name__ == "__main__":
    unittest.main()

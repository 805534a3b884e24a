"""STOMP and AMQP (pika) and Kafka (confluent-kafka) on the same entities, with the header mapping
of src/stomp/message_map.h."""

import re
import time
import unittest

import pika
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from harness import WAIT_S, StompTest, uniq, wait_until


def amqp_get(ch, queue):
    """basic_get until a message is there (or the deadline passes: (None, None, None))."""
    got = [None]

    def poll():
        got[0] = ch.basic_get(queue, auto_ack=True)
        return got[0][0] is not None

    wait_until(poll)
    return got[0]


class CrossProtocol(StompTest):
    shared_broker = True

    def test_stomp_send_to_amqp_consumer(self):
        q = uniq("q")
        p, lp = self.stomp()
        self.send_receipted(p, lp, f"/queue/{q}", "héllo", **{
            "content-type": "text/plain", "persistent": "true", "priority": "7", "correlation-id": "corr-1",
            "reply-to": "/queue/answers", "type": "greeting", "x-customer": "c42", "region": "eu"})
        ch = self.channel()
        method, props, body = amqp_get(ch, q)
        self.assertIsNotNone(method, "the STOMP message did not reach the AMQP consumer")
        self.assertEqual(body, "héllo".encode())
        self.assertEqual(props.content_type, "text/plain")
        self.assertEqual(props.delivery_mode, 2)
        self.assertEqual(props.priority, 7)
        self.assertEqual(props.correlation_id, "corr-1")
        self.assertEqual(props.reply_to, "/queue/answers")
        self.assertEqual(props.type, "greeting")
        self.assertEqual(props.headers.get("x-customer"), "c42")
        self.assertEqual(props.headers.get("region"), "eu")
        for frame_only in ("destination", "receipt", "content-length"):
            self.assertNotIn(frame_only, props.headers or {})

    def test_stomp_non_persistent_is_transient_in_amqp(self):
        q = uniq("q")
        p, lp = self.stomp()
        self.send_receipted(p, lp, f"/queue/{q}", "t")
        method, props, _ = amqp_get(self.channel(), q)
        self.assertIsNotNone(method)
        self.assertNotEqual(props.delivery_mode, 2)

    def test_amqp_publish_to_stomp_subscriber(self):
        q = uniq("q")
        ch = self.channel()
        ch.queue_declare(q, durable=True)
        c, lc = self.stomp()
        self.subscribe_receipted(c, lc, f"/amq/queue/{q}", "s")
        ch.confirm_delivery()
        ch.basic_publish("", q, b"from amqp\x00with nul", pika.BasicProperties(
            content_type="application/octet-stream", delivery_mode=2, priority=3, correlation_id="c-9",
            reply_to="replies", type="t1", app_id="app", headers={"x-text": "v", "x-num": 12, "x-flag": True}))
        m = lc.wait_messages(1)
        self.assertEqual(len(m), 1, "the AMQP message did not reach the STOMP subscriber")
        h = m[0].headers
        self.assertEqual(m[0].body, "from amqp\x00with nul")
        self.assertEqual(h.get("content-type"), "application/octet-stream")
        self.assertEqual(h.get("persistent"), "true")
        self.assertEqual(h.get("priority"), "3")
        self.assertEqual(h.get("correlation-id"), "c-9")
        self.assertEqual(h.get("reply-to"), "replies")
        self.assertEqual(h.get("type"), "t1")
        self.assertEqual(h.get("app-id"), "app")
        self.assertEqual(h.get("x-text"), "v")
        self.assertEqual(h.get("x-num"), "12")
        self.assertIn(h.get("x-flag"), ("true", "True", "1"))

    def test_amqp_header_names_and_values_are_escaped_for_stomp(self):
        q = uniq("q")
        ch = self.channel()
        ch.queue_declare(q)
        c12, l12 = self.stomp("1.2")
        self.subscribe_receipted(c12, l12, f"/amq/queue/{q}", "s")
        ch.basic_publish("", q, b"x", pika.BasicProperties(headers={"a:b": "c\nd:e\\f", "plain": "p"}))
        m = l12.wait_messages(1)
        self.assertEqual(len(m), 1)
        self.assertEqual(m[0].headers.get("a:b"), "c\nd:e\\f")
        # 1.0 cannot escape: the name with ':' is left out, values end at a line break.
        # After its DISCONNECT receipt the first subscriber gets nothing more.
        c12.disconnect(receipt="bye")
        self.assertTrue(l12.wait_receipt("bye"))
        r = self.raw(connect=True, version="1.0")
        r.send_frame("SUBSCRIBE", [("destination", f"/amq/queue/{q}")])
        ch.basic_publish("", q, b"y", pika.BasicProperties(headers={"a:b": "gone", "multi": "one\ntwo", "plain": "p"}))
        f = r.read_frame()
        self.assertEqual(f.body, b"y", f)
        self.assertIsNone(f.header("a"))
        self.assertEqual(f.header("multi"), "one")
        self.assertEqual(f.header("plain"), "p")

    def test_expiry_and_message_id_both_ways(self):
        q = uniq("q")
        p, lp = self.stomp()
        now = int(time.time() * 1000)
        self.send_receipted(p, lp, f"/queue/{q}", "e", expires=str(now + 600_000), **{"amqp-message-id": "mid-1"})
        ch = self.channel()
        method, props, _ = amqp_get(ch, q)
        self.assertIsNotNone(method)
        self.assertEqual(props.message_id, "mid-1")
        self.assertIsNotNone(props.expiration, "expires did not become an AMQP expiration")
        self.assertTrue(0 < int(props.expiration) <= 600_000, props.expiration)
        # And back: an AMQP expiration shows as an absolute expires.
        q2 = uniq("q")
        ch.queue_declare(q2)
        c, lc = self.stomp()
        self.subscribe_receipted(c, lc, f"/amq/queue/{q2}", "s")
        ch.basic_publish("", q2, b"f", pika.BasicProperties(expiration="600000", message_id="mid-2"))
        m = lc.wait_messages(1)[0]
        self.assertEqual(m.headers.get("amqp-message-id"), "mid-2")
        self.assertEqual(int(m.headers["expires"]), int(m.headers["timestamp"]) + 600_000)

    def test_amqp_to_stomp_queue_destination(self):
        # A queue STOMP made with /queue/ is the AMQP queue of that name.
        q = uniq("q")
        c, lc = self.stomp()
        self.subscribe_receipted(c, lc, f"/queue/{q}", "s")
        ch = self.channel()
        ch.queue_declare(q, passive=True)
        ch.basic_publish("", q, b"via default exchange")
        self.assertEqual([x.body for x in lc.wait_messages(1)], ["via default exchange"])
        self.assertEqual(lc.messages[0].headers["destination"], f"/queue/{q}")

    def test_amqp_topic_exchange_reaches_stomp_topic(self):
        t = uniq("t").replace(".", "_") + ".created"
        c, lc = self.stomp()
        self.subscribe_receipted(c, lc, "/topic/" + t.split(".")[0] + ".*", "s")
        self.channel().basic_publish("amq.topic", t, b"event")
        self.assertEqual([x.body for x in lc.wait_messages(1)], ["event"])
        self.assertEqual(lc.messages[0].headers["destination"], f"/topic/{t}")

    def test_stomp_send_to_exchange_declared_by_amqp(self):
        x, q = uniq("x"), uniq("q")
        ch = self.channel()
        ch.exchange_declare(x, "direct")
        ch.queue_declare(q)
        ch.queue_bind(q, x, "blue")
        p, lp = self.stomp()
        self.send_receipted(p, lp, f"/exchange/{x}/red", "red one")
        self.send_receipted(p, lp, f"/exchange/{x}/blue", "blue one")
        method, _, body = amqp_get(ch, q)
        self.assertEqual(body, b"blue one")
        self.assertIsNone(ch.basic_get(q, auto_ack=True)[0], "a message with another key was routed")
        # And a STOMP subscriber on that exchange gets its key too.
        c, lc = self.stomp()
        self.subscribe_receipted(c, lc, f"/exchange/{x}/red", "s")
        self.send_receipted(p, lp, f"/exchange/{x}/red", "red two")
        self.assertEqual([m.body for m in lc.wait_messages(1)], ["red two"])

    def test_stomp_send_to_missing_exchange_is_an_error(self):
        p, lp = self.stomp()
        p.send(f"/exchange/{uniq('nope')}/k", "x", receipt="r-x")
        err = lp.wait_error()
        self.assertIsNotNone(err)
        self.assertEqual(err.headers.get("receipt-id"), "r-x")
        self.assertIn("exchange", (err.headers.get("message", "") + err.body).lower())

    def test_virtual_topic_group_queue_declared_over_amqp(self):
        # Consumer.<group>.VirtualTopic.<X> declared by an AMQP client gets its copy of
        # what STOMP sends to /topic/VirtualTopic.<X>, as a STOMP-created one does.
        topic = "VirtualTopic." + uniq("vt").replace(".", "-")
        group_q = "Consumer.amqp." + topic
        ch = self.channel()
        ch.queue_declare(group_q, durable=True)
        p, lp = self.stomp()
        self.send_receipted(p, lp, "/topic/" + topic, "for every group")
        method, _, body = amqp_get(ch, group_q)
        self.assertIsNotNone(method, "the virtual topic message did not reach the AMQP-declared group queue")
        self.assertEqual(body, b"for every group")

    def kafka_conf(self, **extra):
        m = re.search(r"kafka listening on \S+ \(port (\d+)\)", self.broker.output())
        self.assertIsNotNone(m, "the broker did not log its Kafka port")
        c = {"bootstrap.servers": f"127.0.0.1:{m.group(1)}", "broker.address.family": "v4"}
        c.update(extra)
        return c

    def test_stomp_to_kafka_through_stream(self):
        s = uniq("stream").replace(".", "-")
        ch = self.channel()
        ch.queue_declare(s, durable=True, arguments={"x-queue-type": "stream"})
        p, lp = self.stomp()
        for i in range(3):
            self.send_receipted(p, lp, f"/amq/queue/{s}", f"rec{i}", **{
                "content-type": "text/plain", "x-seq": str(i), "correlation-id": f"k{i}"})
        c = Consumer(self.kafka_conf(**{"group.id": uniq("g"), "enable.auto.commit": False}))
        try:
            c.assign([TopicPartition(s, 0, OFFSET_BEGINNING)])
            got = []
            deadline = time.monotonic() + WAIT_S * 3
            while len(got) < 3 and time.monotonic() < deadline:
                for m in c.consume(num_messages=3 - len(got), timeout=0.5):
                    self.assertIsNone(m.error(), m.error())
                    got.append(m)
        finally:
            c.close()
        self.assertEqual([m.value() for m in got], [b"rec0", b"rec1", b"rec2"])
        headers = dict(got[1].headers() or [])
        self.assertEqual(headers.get("x-seq"), b"1")
        # Properties travel as wharf.<name> record headers (docs/amqp-streams.md), so a Kafka
        # reader can tell them from application headers.
        self.assertEqual(headers.get("wharf.content-type"), b"text/plain")
        self.assertEqual(headers.get("wharf.correlation-id"), b"k1")
        for frame_only in ("destination", "receipt", "content-length"):
            self.assertNotIn(frame_only, headers)


if __name__ == "__main__":
    unittest.main()

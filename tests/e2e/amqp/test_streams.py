"""Stream queues across protocols: x-queue-type stream is the Kafka topic of the same name.

pika (python3-pika) publishes and consumes with x-stream-offset; confluent-kafka
(python3-confluent-kafka, librdkafka) produces to and consumes from the same
topic. Each test starts its own broker (harness.py) and learns its Kafka port
from the "kafka listening on ... (port N)" log line.
"""

import datetime
import re
import time
import unittest

import pika
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

from harness import BrokerTest

CLIENT_TIMEOUT_S = 30


def kafka_conf(broker, **extra):
    m = re.search(r"kafka listening on \S+ \(port (\d+)\)", broker.output())
    assert m, "the broker did not log its Kafka port"
    c = {"bootstrap.servers": f"127.0.0.1:{m.group(1)}", "broker.address.family": "v4"}
    c.update(extra)
    return c


def create_topic(broker, name, partitions):
    admin = AdminClient(kafka_conf(broker))
    fs = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)],
                             operation_timeout=30)
    fs[name].result(timeout=CLIENT_TIMEOUT_S)


def produce(broker, topic, records, **extra):
    """records: dicts with value, key, headers, timestamp, partition (each optional but value)."""
    p = Producer(kafka_conf(broker, **extra))
    errors = []
    for r in records:
        kw = {k: v for k, v in r.items() if k in ("key", "headers", "timestamp", "partition")}
        p.produce(topic, r["value"], on_delivery=lambda err, _m: errors.append(err) if err else None, **kw)
    assert p.flush(CLIENT_TIMEOUT_S) == 0, "producer did not deliver everything"
    assert errors == [], errors


def kafka_read(broker, topic, partitions, expected):
    """Reads `expected` records from the start of `partitions` (no group); fails on consumer errors."""
    c = Consumer(kafka_conf(broker, **{"group.id": "unused", "enable.auto.commit": False}))
    try:
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        got = []
        deadline = time.monotonic() + CLIENT_TIMEOUT_S
        while len(got) < expected and time.monotonic() < deadline:
            for m in c.consume(num_messages=expected - len(got), timeout=0.5):
                assert m.error() is None, m.error()
                got.append(m)
        return got
    finally:
        c.close()


class Reader:
    """A pika stream consumer that collects deliveries (method, properties, body)."""

    def __init__(self, conn, queue, offset=None, prefetch=100, ack=True):
        self.conn = conn
        self.ch = conn.channel()
        self.ch.basic_qos(prefetch_count=prefetch)
        self.got = []
        self.ack = ack
        args = {} if offset is None else {"x-stream-offset": offset}
        self.tag = self.ch.basic_consume(queue, self._on, arguments=args)

    def _on(self, ch, method, props, body):
        self.got.append((method, props, body))
        if self.ack:
            ch.basic_ack(method.delivery_tag)

    def wait_for(self, n):
        deadline = time.monotonic() + CLIENT_TIMEOUT_S
        while len(self.got) < n and time.monotonic() < deadline:
            self.conn.process_data_events(time_limit=0.2)
        return self.got

    def settle_for(self, seconds):
        """Processes events for a while: for checks that nothing more arrives."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.conn.process_data_events(time_limit=0.1)

    def offsets(self):
        return [p.headers["x-stream-offset"] for _, p, _ in self.got]

    def bodies(self):
        return [b for _, _, b in self.got]


def header_dict(kafka_msg):
    return {k: v for k, v in (kafka_msg.headers() or [])}


class StreamTest(BrokerTest):
    def setUp(self):
        super().setUp()
        self.conns = []

    def tearDown(self):
        # Before the broker stops (addCleanup would run after tearDown).
        for c in self.conns:
            if c.is_open:
                c.close()
        super().tearDown()

    def connect(self):
        c = pika.BlockingConnection(self.broker.params())
        self.conns.append(c)
        return c

    def declare_stream(self, ch, name):
        return ch.queue_declare(name, durable=True, arguments={"x-queue-type": "stream"})

    def test_pika_publish_kafka_consume(self):
        conn = self.connect()
        ch = conn.channel()
        self.declare_stream(ch, "orders")
        ch.exchange_declare("shop", "direct")
        ch.queue_bind("orders", "shop", "order.created")
        ch.confirm_delivery()
        for i in range(10):
            ch.basic_publish("shop", "order.created", f"order {i}".encode(),
                             pika.BasicProperties(delivery_mode=2, content_type="text/plain",
                                                  headers={"customer": f"c{i}", "n": i}),
                             mandatory=True)
        # The default exchange reaches the stream queue by name too.
        ch.basic_publish("", "orders", b"direct to the queue", pika.BasicProperties(delivery_mode=2))

        got = kafka_read(self.broker, "orders", [0], 11)
        self.assertEqual([m.value() for m in got], [f"order {i}".encode() for i in range(10)] +
                         [b"direct to the queue"])
        self.assertEqual([m.key() for m in got], [b"order.created"] * 10 + [b"orders"])
        self.assertEqual([m.offset() for m in got], list(range(11)))
        h = header_dict(got[3])
        self.assertEqual(h["customer"], b"c3")
        self.assertEqual(h["n"], b"3")  # integers are decimal text for Kafka readers
        self.assertEqual(h["wharf.content-type"], b"text/plain")
        self.assertEqual(h["wharf.delivery-mode"], b"2")
        self.assertEqual(h["wharf.exchange"], b"shop")

        # The same records read back over AMQP come back whole.
        r = Reader(self.connect(), "orders", "first")
        r.wait_for(11)
        self.assertEqual(r.offsets(), list(range(11)))
        method, props, body = r.got[3]
        self.assertEqual(body, b"order 3")
        self.assertEqual((method.exchange, method.routing_key), ("shop", "order.created"))
        self.assertEqual(props.content_type, "text/plain")
        self.assertEqual(props.delivery_mode, 2)
        self.assertEqual(props.headers["customer"], "c3")
        self.assertEqual(props.headers["n"], 3)

    def test_kafka_produce_pika_consume_with_offsets(self):
        conn = self.connect()
        self.declare_stream(conn.channel(), "events")
        base_s = int(time.time()) - 1000
        # One batch, gzip-compressed, with explicit timestamps 10 s apart.
        produce(self.broker, "events",
                [{"value": f"event {i}".encode(), "key": f"k{i}".encode(),
                  "headers": [("source", b"kafka"), ("seq", str(i).encode())],
                  "timestamp": (base_s + 10 * i) * 1000} for i in range(10)],
                **{"compression.type": "gzip", "linger.ms": 100})

        first = Reader(conn, "events", "first")
        first.wait_for(10)
        self.assertEqual(first.offsets(), list(range(10)))
        self.assertEqual(first.bodies(), [f"event {i}".encode() for i in range(10)])
        method, props, _ = first.got[4]
        self.assertEqual(method.routing_key, "k4")
        self.assertEqual(props.headers["source"], "kafka")
        self.assertEqual(props.headers["seq"], "4")
        self.assertFalse(method.redelivered)

        at7 = Reader(conn, "events", 7)
        self.assertEqual(at7.wait_for(3) and at7.offsets(), [7, 8, 9])

        last = Reader(conn, "events", "last")
        self.assertEqual(last.wait_for(1) and last.offsets(), [9])

        # Timestamps ('T', seconds): the first record stamped at or after it.
        ts = datetime.datetime.fromtimestamp(base_s + 55, tz=datetime.timezone.utc).replace(tzinfo=None)
        since = Reader(conn, "events", ts)
        self.assertEqual(since.wait_for(4) and since.offsets(), [6, 7, 8, 9])

        # "next" (also the default) sees only what is appended after it started.
        nxt = Reader(conn, "events", "next")
        default = Reader(conn, "events")
        produce(self.broker, "events", [{"value": b"late", "key": b"kl"}])
        self.assertEqual(nxt.wait_for(1) and nxt.offsets(), [10])
        self.assertEqual(default.wait_for(1) and default.bodies(), [b"late"])
        # The live readers get it too, after what they had.
        self.assertEqual(first.wait_for(11) and first.offsets(), list(range(11)))

    def test_prefetch_is_credit(self):
        conn = self.connect()
        ch = conn.channel()
        self.declare_stream(ch, "credit")
        ch.confirm_delivery()
        for i in range(10):
            ch.basic_publish("", "credit", str(i).encode())
        r = Reader(conn, "credit", "first", prefetch=3, ack=False)
        r.wait_for(3)
        r.settle_for(0.5)
        self.assertEqual(r.offsets(), [0, 1, 2], "more deliveries than the prefetch")
        # An ack (multiple) gives the credit back; a nack gives it back too and
        # nothing is requeued: a stream is read, never consumed.
        r.ch.basic_ack(r.got[1][0].delivery_tag, multiple=True)
        r.wait_for(5)
        r.ch.basic_nack(r.got[2][0].delivery_tag, requeue=True)
        r.wait_for(6)
        r.settle_for(0.3)
        self.assertEqual(r.offsets(), [0, 1, 2, 3, 4, 5])
        r.ack = True
        for m, _, _ in r.got[3:]:
            r.ch.basic_ack(m.delivery_tag)
        r.wait_for(10)
        self.assertEqual(r.offsets(), list(range(10)))

    def test_adopt_multi_partition_topic_and_bind_exchange(self):
        create_topic(self.broker, "clicks", 3)
        produce(self.broker, "clicks", [{"value": f"kafka {p}".encode(), "partition": p} for p in range(3)],
                **{"compression.type": "lz4"})
        conn = self.connect()
        ch = conn.channel()
        ok = self.declare_stream(ch, "clicks")  # adopts the existing topic
        self.assertEqual(ok.method.queue, "clicks")
        admin = AdminClient(kafka_conf(self.broker))
        self.assertEqual(len(admin.list_topics(timeout=CLIENT_TIMEOUT_S).topics["clicks"].partitions), 3)

        ch.exchange_declare("web", "direct")
        for key in ("home", "cart", "checkout", "search"):
            ch.queue_bind("clicks", "web", key)
        ch.confirm_delivery()
        sent = []
        for i in range(40):
            key = ("home", "cart", "checkout", "search")[i % 4]
            body = f"amqp {key} {i}".encode()
            ch.basic_publish("web", key, body, pika.BasicProperties(delivery_mode=2), mandatory=True)
            sent.append((key, body))
        with self.assertRaises(pika.exceptions.UnroutableError):
            ch.basic_publish("web", "unbound", b"nowhere", mandatory=True)

        got = kafka_read(self.broker, "clicks", [0, 1, 2], 43)
        amqp = [(m.key().decode(), m.value()) for m in got if m.value().startswith(b"amqp")]
        self.assertEqual(sorted(amqp), sorted(sent))
        self.assertEqual(sorted(m.value() for m in got if m.value().startswith(b"kafka")),
                         [b"kafka 0", b"kafka 1", b"kafka 2"])
        # One routing key stays in one partition, in publish order.
        by_key = {}
        for m in got:
            if m.key():
                by_key.setdefault(m.key(), set()).add(m.partition())
        self.assertTrue(all(len(ps) == 1 for ps in by_key.values()), by_key)
        self.assertGreater(len({m.partition() for m in got if m.key()}), 1, "every key hashed to one partition")

        # An AMQP consumer reads every partition.
        r = Reader(self.connect(), "clicks", "first")
        r.wait_for(43)
        self.assertEqual(sorted(r.bodies()), sorted(m.value() for m in got))
        for key, _ in sent[:4]:
            in_order = [b for m, _, b in r.got if m.routing_key == key]
            self.assertEqual(in_order, [b for k, b in sent if k == key])

    def test_exchange_bound_directly_to_kafka_topic(self):
        create_topic(self.broker, "audit", 1)
        conn = self.connect()
        ch = conn.channel()
        ch.exchange_declare("logs", "topic")
        ch.exchange_bind("audit", "logs", "audit.#", arguments={"x-destination": "kafka-topic"})
        ch.confirm_delivery()
        ch.basic_publish("logs", "audit.login", b"alice logged in", mandatory=True)
        got = kafka_read(self.broker, "audit", [0], 1)
        self.assertEqual((got[0].key(), got[0].value()), (b"audit.login", b"alice logged in"))
        ch.exchange_unbind("audit", "logs", "audit.#", arguments={"x-destination": "kafka-topic"})
        with self.assertRaises(pika.exceptions.UnroutableError):
            ch.basic_publish("logs", "audit.login", b"after unbind", mandatory=True)
        with self.assertRaises(pika.exceptions.ChannelClosedByBroker) as e:
            ch.exchange_bind("no-such-topic", "logs", "#", arguments={"x-destination": "kafka-topic"})
        self.assertEqual(e.exception.reply_code, 404)

    def test_retention_arguments_become_topic_configs(self):
        ch = self.connect().channel()
        ch.queue_declare("kept", durable=True, arguments={
            "x-queue-type": "stream", "x-max-age": "2D", "x-max-length-bytes": 50_000_000,
            "x-stream-max-segment-size-bytes": 5_000_000})
        res = ConfigResource(ConfigResource.Type.TOPIC, "kept")
        admin = AdminClient(kafka_conf(self.broker))
        configs = admin.describe_configs([res])[res].result(timeout=CLIENT_TIMEOUT_S)
        self.assertEqual(configs["retention.ms"].value, str(2 * 86400 * 1000))
        self.assertEqual(configs["retention.bytes"].value, "50000000")
        self.assertEqual(configs["segment.bytes"].value, "5000000")
        with self.assertRaises(pika.exceptions.ChannelClosedByBroker) as e:
            ch.queue_declare("bad-age", durable=True, arguments={"x-queue-type": "stream", "x-max-age": "soon"})
        self.assertEqual(e.exception.reply_code, 406)
        # The refused declare left no queue behind.
        ch = self.connect().channel()
        with self.assertRaises(pika.exceptions.ChannelClosedByBroker) as e:
            ch.queue_declare("bad-age", passive=True)
        self.assertEqual(e.exception.reply_code, 404)

    def test_topic_deleted_under_the_stream(self):
        conn = self.connect()
        ch = conn.channel()
        self.declare_stream(ch, "fleeting")
        cancelled = []
        r = Reader(conn, "fleeting", "first")
        r.ch.add_on_cancel_callback(lambda frame: cancelled.append(frame.method.consumer_tag))
        admin = AdminClient(kafka_conf(self.broker))
        admin.delete_topics(["fleeting"], operation_timeout=30)["fleeting"].result(timeout=CLIENT_TIMEOUT_S)
        deadline = time.monotonic() + CLIENT_TIMEOUT_S
        while not cancelled and time.monotonic() < deadline:
            conn.process_data_events(time_limit=0.2)
        self.assertEqual(cancelled, [r.tag])
        # Publishing to the queue now has nowhere to go: nacked.
        ch.confirm_delivery()
        with self.assertRaises(pika.exceptions.NackError):
            ch.basic_publish("", "fleeting", b"lost")
        # A passive declare finds the queue and creates nothing.
        ch.queue_declare("fleeting", passive=True)
        self.assertNotIn("fleeting", admin.list_topics(timeout=CLIENT_TIMEOUT_S).topics)
        ch.basic_qos(prefetch_count=1)
        with self.assertRaises(pika.exceptions.ChannelClosedByBroker) as e:
            ch.basic_consume("fleeting", lambda *a: None)
        self.assertEqual(e.exception.reply_code, 404)
        # Declaring it again brings the topic back.
        ch = conn.channel()
        self.declare_stream(ch, "fleeting")
        self.assertIn("fleeting", admin.list_topics(timeout=CLIENT_TIMEOUT_S).topics)

    def test_consumer_rules(self):
        conn = self.connect()
        ch = conn.channel()
        self.declare_stream(ch, "rules")
        # A prefetch is required (RabbitMQ: 406 on the channel).
        with self.assertRaises(pika.exceptions.ChannelClosedByBroker) as e:
            ch.basic_consume("rules", lambda *a: None, arguments={"x-stream-offset": "first"})
        self.assertEqual(e.exception.reply_code, 406)
        ch = conn.channel()
        ch.basic_qos(prefetch_count=10)
        with self.assertRaises(pika.exceptions.ChannelClosedByBroker) as e:
            ch.basic_consume("rules", lambda *a: None, arguments={"x-stream-offset": "sometime"})
        self.assertEqual(e.exception.reply_code, 406)
        # Automatic acks are not supported (RabbitMQ: 540 on the connection).
        ch = conn.channel()
        ch.basic_qos(prefetch_count=10)
        with self.assertRaises(pika.exceptions.ConnectionClosedByBroker) as e:
            ch.basic_consume("rules", lambda *a: None, auto_ack=True)
        self.assertEqual(e.exception.reply_code, 540)
        # Stream queues are durable, shared and named by the client.
        ch = self.connect().channel()
        with self.assertRaises(pika.exceptions.ChannelClosedByBroker) as e:
            ch.queue_declare("transient-stream", durable=False, arguments={"x-queue-type": "stream"})
        self.assertEqual(e.exception.reply_code, 406)

    def test_cancel_and_close_stop_reading(self):
        conn = self.connect()
        ch = conn.channel()
        self.declare_stream(ch, "tail")
        r = Reader(conn, "tail", "next")
        r.ch.basic_cancel(r.tag)
        other = Reader(conn, "tail", "next")
        produce(self.broker, "tail", [{"value": b"x"}])
        other.wait_for(1)
        r.settle_for(0.3)
        self.assertEqual(r.got, [], "a cancelled stream consumer got a delivery")
        # Closing a channel with a waiting stream consumer, then the
        # connection, leaves the broker serving others.
        w = Reader(conn, "tail", "next")
        w.ch.close()
        conn.close()
        r2 = Reader(self.connect(), "tail", "first")
        self.assertEqual(r2.wait_for(1) and r2.bodies(), [b"x"])


if __name__ == "__main__":
    unittest.main()

"""Small helpers around confluent-kafka (librdkafka) shared by several tests."""

import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

CLIENT_TIMEOUT_S = 60


def conf(broker, **overrides):
    """Client configuration for `broker`; keyword names use _ for . (acks=..., linger_ms=...)."""
    c = {"bootstrap.servers": broker.bootstrap, "broker.address.family": "v4"}
    c.update({k.replace("_", "."): v for k, v in overrides.items()})
    return c


def create_topic(broker, topic, partitions):
    admin = AdminClient(conf(broker))
    futures = admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)],
                                  operation_timeout=30)
    futures[topic].result(timeout=CLIENT_TIMEOUT_S)


class DeliveryLog:
    """Delivery reports of one producer: successes as messages, failures as (message, error)."""

    def __init__(self):
        self.delivered = []
        self.failed = []

    def __call__(self, err, msg):
        if err is None:
            self.delivered.append(msg)
        else:
            self.failed.append((msg, err))


def flush(producer, expected_delivered, log, test):
    """Flushes and asserts every one of `expected_delivered` messages was acknowledged without error."""
    left = producer.flush(CLIENT_TIMEOUT_S)
    test.assertEqual(left, 0, "producer could not deliver everything before the timeout")
    test.assertEqual([str(e) for _, e in log.failed], [], "delivery reports with errors")
    test.assertEqual(len(log.delivered), expected_delivered)


def read_partitions(broker, topic, partitions, expected, **overrides):
    """Reads `expected` messages from the start of the given partitions without a group.

    Fails on any consumer error. Returns the messages in arrival order, which
    within one partition is offset order.
    """
    c = Consumer(conf(broker, group_id="unused-assign-only", enable_auto_commit=False, **overrides))
    try:
        c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        got = []
        deadline = time.monotonic() + CLIENT_TIMEOUT_S
        while len(got) < expected and time.monotonic() < deadline:
            # consume() waits until it has num_messages or the timeout passed: ask only for what is missing.
            for m in c.consume(num_messages=min(1000, expected - len(got)), timeout=0.5):
                if m.error():
                    raise KafkaException(m.error())
                got.append(m)
        return got
    finally:
        c.close()


def end_offsets(broker, topic, partitions):
    """The log end offset (high watermark) of each partition, as {partition: offset}."""
    c = Consumer(conf(broker, group_id="unused-watermarks"))
    try:
        return {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=CLIENT_TIMEOUT_S)[1]
                for p in partitions}
    finally:
        c.close()


def is_benign(err):
    """Consumer-side events that are not failures (end of partition)."""
    return err.code() == KafkaError._PARTITION_EOF


__all__ = ["Consumer", "Producer", "TopicPartition", "OFFSET_BEGINNING", "KafkaError", "KafkaException",
           "conf", "create_topic", "DeliveryLog", "flush", "read_partitions", "end_offsets", "is_benign", "CLIENT_TIMEOUT_S"]

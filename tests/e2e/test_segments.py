#!/usr/bin/python3
"""Logs of many small segments: random reads, reads by time, and retention.

Topics get tiny segments and index intervals through per-topic configs, so a
few hundred kilobytes make dozens of segments. Seeking anywhere must return
exactly the record asked for, before and after a restart; looking up by
timestamp must find the first record at or after it; retention must drop old
segments (moving the log start) and keep everything after the new start intact.
"""

import os
import random
import time

from confluent_kafka.admin import AdminClient, NewTopic

import harness
from confluent_util import (CLIENT_TIMEOUT_S, Consumer, DeliveryLog, KafkaError, Producer, TopicPartition, conf,
                            end_offsets, flush)

SMALL_SEGMENTS = {"segment.bytes": "16384", "index.interval.bytes": "512"}
# Record i gets timestamp T0_MS + 1000 * i: one second apart, all within the
# last few hours so that the default time retention (7 days) keeps them.
T0_MS = (int(time.time()) - 4 * 3600) * 1000


class SegmentsTest(harness.BrokerTestCase):
    # Retention runs every 200 ms instead of every five minutes.
    BROKER_ARGS = ("--topics-retention-check-interval-ms", "200")

    def produce(self, topic, count, start=0, timestamp=lambda i: T0_MS + 1000 * i):
        log = DeliveryLog()
        # Small batches: many index entries and many batches per segment.
        p = Producer(conf(self.broker, acks="all", linger_ms=1, batch_num_messages=7))
        for i in range(start, start + count):
            p.produce(topic, value=f"record {i} ".encode() + b"." * 150, partition=0, timestamp=timestamp(i),
                      on_delivery=log)
            p.poll(0)
        flush(p, count, log, self)
        return log

    def first_from(self, consumer, topic, offset):
        """The first record a consumer gets after seeking to `offset`."""
        consumer.assign([TopicPartition(topic, 0, offset)])
        deadline = time.monotonic() + CLIENT_TIMEOUT_S
        while time.monotonic() < deadline:
            m = consumer.poll(0.5)
            if m is None:
                continue
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    continue
                self.fail(f"reading from {offset}: {m.error()}")
            return m
        self.fail(f"nothing read from offset {offset}")

    def test_random_seeks_and_time_lookups_across_segments_and_restart(self):
        topic = self.unique("segments")
        create_topic_with(self.broker, topic, SMALL_SEGMENTS)
        n = 3000
        self.produce(topic, n)
        self.assertEqual(end_offsets(self.broker, topic, (0,)), {0: n})
        self.assertGreater(len(list_segment_files(self.broker, topic)), 20, "the topic should span many segments")

        rng = random.Random(11)
        probes = [0, n - 1] + rng.sample(range(n), 40)
        for life in ("before restart", "after restart"):
            with self.subTest(life):
                # A short fetch wait: each new assign() otherwise waits for the
                # previous position's long poll (the protocol answers a
                # connection's requests in order, as Kafka does).
                c = Consumer(conf(self.broker, group_id="unused", enable_auto_commit=False, fetch_wait_max_ms=5))
                # Time lookups go through a consumer with nothing assigned, for the same reason.
                lookups = Consumer(conf(self.broker, group_id="unused"))
                try:
                    for off in probes:
                        m = self.first_from(c, topic, off)
                        self.assertEqual((m.offset(), m.value().split(b" ")[1]), (off, str(off).encode()))
                        self.assertEqual(m.timestamp()[1], T0_MS + 1000 * off)
                    # By time: the first record whose timestamp is at or after t.
                    for i in probes:
                        for t, want in ((T0_MS + 1000 * i, i), (T0_MS + 1000 * i - 400, i)):
                            (tp,) = lookups.offsets_for_times([TopicPartition(topic, 0, t)], timeout=CLIENT_TIMEOUT_S)
                            self.assertEqual(tp.offset, want, f"lookup of t0+{t - T0_MS} ms")
                    (tp,) = lookups.offsets_for_times([TopicPartition(topic, 0, T0_MS + 1000 * n)],
                                                      timeout=CLIENT_TIMEOUT_S)
                    self.assertEqual(tp.offset, -1, "a time after the last record finds nothing")
                finally:
                    c.close()
                    lookups.close()
            self.broker.restart()

    def test_retention_by_size_moves_the_log_start_and_keeps_the_rest(self):
        topic = self.unique("retain-bytes")
        create_topic_with(self.broker, topic, dict(SMALL_SEGMENTS, **{"retention.bytes": "65536"}))
        n = 3000  # about 600 KB, ten times the limit
        self.produce(topic, n)
        # Retention runs every 200 ms; once it has caught up the partition
        # holds at least retention.bytes and less than one segment more.
        def kept_bytes():
            return sum(size for _, size in list_segment_files(self.broker, topic))
        harness.wait_until(lambda: kept_bytes() < 65536 + 16384, CLIENT_TIMEOUT_S,
                           "retention to bring the partition near retention.bytes")
        self.assertGreaterEqual(kept_bytes(), 65536, "retention deleted more than it had to")
        start = log_start(self.broker, topic)
        self.assertGreater(start, 0)
        self.assert_tail_intact(topic, start, n)

        # A consumer that asks for offset 0 is told it is gone and, with
        # auto.offset.reset=earliest, starts at the new log start.
        c = Consumer(conf(self.broker, group_id=self.unique("late"), auto_offset_reset="earliest",
                          enable_auto_commit=False))
        try:
            m = self.first_from(c, topic, 0)
            self.assertGreaterEqual(m.offset(), start)
            self.assertEqual(m.value().split(b" ")[1], str(m.offset()).encode())
        finally:
            c.close()

        # After a restart the log still starts there.
        self.broker.restart()
        self.assertGreaterEqual(log_start(self.broker, topic), start)
        self.assert_tail_intact(topic, log_start(self.broker, topic), n)

    def test_retention_by_time_drops_old_records_only(self):
        topic = self.unique("retain-time")
        create_topic_with(self.broker, topic, dict(SMALL_SEGMENTS, **{"retention.ms": "60000"}))
        # Old records (a day ago), then fresh ones that must survive.
        old_ms = int(time.time() * 1000) - 86_400_000
        self.produce(topic, 1500, timestamp=lambda i: old_ms + i)
        self.produce(topic, 100, start=1500, timestamp=lambda i: int(time.time() * 1000))
        start = harness.wait_until(lambda: log_start(self.broker, topic), CLIENT_TIMEOUT_S,
                                   "retention to delete expired segments")
        self.assertLessEqual(start, 1500, "fresh records were deleted")
        self.assert_tail_intact(topic, start, 1600)

    def assert_tail_intact(self, topic, start, end):
        c = Consumer(conf(self.broker, group_id="unused", enable_auto_commit=False))
        try:
            c.assign([TopicPartition(topic, 0, start)])
            got = []
            deadline = time.monotonic() + CLIENT_TIMEOUT_S
            while len(got) < end - start:
                self.assertLess(time.monotonic(), deadline, f"read {len(got)} of {end - start} records after {start}")
                for m in c.consume(num_messages=min(1000, end - start - len(got)), timeout=0.5):
                    self.assertIsNone(m.error())
                    got.append((m.offset(), m.value().split(b" ")[1]))
            self.assertEqual(got, [(o, str(o).encode()) for o in range(start, end)])
        finally:
            c.close()


def create_topic_with(broker, topic, config):
    admin = AdminClient(conf(broker))
    admin.create_topics([NewTopic(topic, 1, 1, config=config)])[topic].result(timeout=CLIENT_TIMEOUT_S)


def log_start(broker, topic):
    """The partition's first offset (ListOffsets earliest); 0 until retention deletes something."""
    c = Consumer(conf(broker, group_id="unused"))
    try:
        return c.get_watermark_offsets(TopicPartition(topic, 0), timeout=CLIENT_TIMEOUT_S)[0]
    finally:
        c.close()


def list_segment_files(broker, topic):
    """(name, size) of the partition's segment files, as the user sees them on disk."""
    d = os.path.join(broker.data_dir, f"{topic}-0")
    out = []
    for f in sorted(os.listdir(d)):
        if f.endswith(".log"):
            try:
                out.append((f, os.path.getsize(os.path.join(d, f))))
            except FileNotFoundError:
                pass  # retention deleted it just now
    return out


if __name__ == "__main__":
    harness.main()

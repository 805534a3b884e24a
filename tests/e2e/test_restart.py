#!/usr/bin/python3
"""Durability across clean restarts (SIGTERM, start again on the same data dir and port).

Records, topics with their partition counts, and a group's committed offsets
(with their metadata) are all still there afterwards; new records continue
the old offsets; a producer that lived through the restart goes on without
errors or duplicates; a new group member resumes exactly where the group
committed.
"""

import time

from kafka import KafkaConsumer
from kafka import TopicPartition as KTopicPartition
from kafka.structs import OffsetAndMetadata

import harness
from confluent_util import (CLIENT_TIMEOUT_S, Consumer, DeliveryLog, KafkaException, Producer, TopicPartition,
                            conf, create_topic, end_offsets, flush, read_partitions)

PARTITIONS = (0, 1, 2)


class RestartTest(harness.BrokerTestCase):
    BROKER_ARGS = ("--groups-initial-rebalance-delay-ms", "500")

    def snapshot(self, topic, count):
        """Every record as {(partition, offset): (key, value, headers)}."""
        got = read_partitions(self.broker, topic, PARTITIONS, count)
        return {(m.partition(), m.offset()): (m.key(), m.value(), m.headers()) for m in got}

    def produce(self, producer, topic, start, count, log):
        for i in range(start, start + count):
            producer.produce(topic, key=f"k{i}".encode(), value=f"record {i}".encode() * (1 + i % 7),
                             headers=[("i", str(i).encode())], partition=PARTITIONS[i % len(PARTITIONS)],
                             on_delivery=log)
            producer.poll(0)

    def group_consumer(self, group, topic):
        c = Consumer(conf(self.broker, group_id=group, auto_offset_reset="earliest", enable_auto_commit=False,
                          session_timeout_ms=6000, heartbeat_interval_ms=500))
        c.subscribe([topic])
        return c

    def kafka_python_committed(self, group, topic, commit=None):
        """Optionally commits {partition: (offset, metadata)}; returns what the group has committed."""
        c = KafkaConsumer(bootstrap_servers=self.broker.bootstrap, group_id=group, enable_auto_commit=False)
        try:
            if commit:
                c.commit({KTopicPartition(topic, p): OffsetAndMetadata(o, md) for p, (o, md) in commit.items()})
            out = {}
            for p in PARTITIONS:
                md = c.committed(KTopicPartition(topic, p), metadata=True)
                out[p] = (md.offset, md.metadata)
            return out
        finally:
            c.close()

    def test_records_topics_and_committed_offsets_survive_restarts(self):
        topic = self.unique("durable")
        group = self.unique("durable-group")
        create_topic(self.broker, topic, len(PARTITIONS))

        # acks=1: acknowledged before any fsync, so only a proper shutdown
        # flush keeps these; an idempotent producer that outlives the restarts.
        log = DeliveryLog()
        producer = Producer(conf(self.broker, acks="1", enable_idempotence=False, linger_ms=5,
                                 compression_type="lz4"))
        idem_log = DeliveryLog()
        idem = Producer(conf(self.broker, enable_idempotence=True, message_timeout_ms=CLIENT_TIMEOUT_S * 1000))
        self.produce(producer, topic, 0, 3000, log)
        flush(producer, 3000, log, self)
        self.produce(idem, topic, 3000, 300, idem_log)
        flush(idem, 300, idem_log, self)
        before = self.snapshot(topic, 3300)
        self.assertEqual(len(before), 3300)

        # The group commits part way, with metadata (kafka-python: confluent-kafka
        # 1.7 cannot set commit metadata; the group does not care who commits).
        commits = {0: (17, "seventeen"), 1: (0, "zero"), 2: (1100, "all of it")}
        self.assertEqual(self.kafka_python_committed(group, topic, commits), commits)

        total = 3300
        for restart in range(2):
            with self.subTest(restart=restart + 1):
                self.broker.restart()  # asserts a clean exit on SIGTERM
                meta = Producer(conf(self.broker)).list_topics(topic, timeout=CLIENT_TIMEOUT_S)
                self.assertEqual(sorted(meta.topics[topic].partitions), list(PARTITIONS))
                self.assertEqual(sum(end_offsets(self.broker, topic, PARTITIONS).values()), total)
                after = self.snapshot(topic, total)
                self.assertEqual(after, before, "records changed across the restart")

                self.assertEqual(self.kafka_python_committed(group, topic), commits)
                probe = Consumer(conf(self.broker, group_id=group))
                committed = probe.committed([TopicPartition(topic, p) for p in PARTITIONS], timeout=CLIENT_TIMEOUT_S)
                probe.close()
                self.assertEqual({tp.partition: tp.offset for tp in committed},
                                 {p: o for p, (o, _) in commits.items()})

                # The producer that lived through the restart carries on; new
                # records follow the old ones in every partition.
                ends = end_offsets(self.broker, topic, PARTITIONS)
                mark = len(idem_log.delivered)
                self.produce(idem, topic, total, 30, idem_log)
                flush(idem, mark + 30, idem_log, self)
                for m in idem_log.delivered[mark:]:
                    self.assertGreaterEqual(m.offset(), ends[m.partition()])
                total += 30
                before = self.snapshot(topic, total)
                self.assertEqual(len(before), total, "a record was written twice or lost")

        # A new member resumes at the committed offsets, not at the start or the end.
        c = self.group_consumer(group, topic)
        try:
            start = {p: o for p, (o, _) in commits.items()}
            want = {pos: rec for pos, rec in before.items() if pos[1] >= start[pos[0]]}
            got = {}
            deadline = time.monotonic() + CLIENT_TIMEOUT_S
            while len(got) < len(want):
                self.assertLess(time.monotonic(), deadline,
                                f"got {len(got)} of {len(want)} records after the committed offsets")
                # consume() waits for all num_messages or the timeout, so ask for what is missing.
                for m in c.consume(num_messages=len(want) - len(got), timeout=0.5):
                    if m.error():
                        raise KafkaException(m.error())
                    got[(m.partition(), m.offset())] = (m.key(), m.value(), m.headers())
            self.assertEqual(got, want)
        finally:
            c.close()


if __name__ == "__main__":
    harness.main()

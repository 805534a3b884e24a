#!/usr/bin/python3
"""kafka-python (pure Python, its own protocol code, not librdkafka) against Wharf.

Produce, consume in a group, commit, resume in a new member from the
committed offsets, and seek/replay with a manually assigned consumer.
"""

import logging
import time

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.structs import OffsetAndMetadata

import harness

PARTITIONS = (0, 1, 2)
TIMEOUT_S = 60


class KafkaPythonTest(harness.BrokerTestCase):
    BROKER_ARGS = ("--groups-initial-rebalance-delay-ms", "500")

    def setUp(self):
        super().setUp()
        self.topic = self.unique("kp")
        admin = KafkaAdminClient(bootstrap_servers=self.broker.bootstrap)
        try:
            admin.create_topics([NewTopic(self.topic, num_partitions=len(PARTITIONS), replication_factor=1)])
        finally:
            admin.close()
        self.tps = [TopicPartition(self.topic, p) for p in PARTITIONS]

    def produce(self, count, start=0):
        """Sends `count` records round-robin over the partitions; returns {(partition, offset): record}."""
        producer = KafkaProducer(bootstrap_servers=self.broker.bootstrap, acks="all", linger_ms=5)
        try:
            futures = []
            for i in range(start, start + count):
                rec = (f"k{i}".encode(), f"value {i}".encode(), [("n", str(i).encode())])
                fut = producer.send(self.topic, key=rec[0], value=rec[1], headers=rec[2],
                                    partition=PARTITIONS[i % len(PARTITIONS)])
                futures.append((rec, fut))
            producer.flush(TIMEOUT_S)
            sent = {}
            for rec, fut in futures:
                md = fut.get(timeout=TIMEOUT_S)
                sent[(md.partition, md.offset)] = rec
            return sent
        finally:
            producer.close(TIMEOUT_S)

    def consumer(self, **kw):
        return KafkaConsumer(bootstrap_servers=self.broker.bootstrap, enable_auto_commit=False,
                             auto_offset_reset="earliest", consumer_timeout_ms=TIMEOUT_S * 1000, **kw)

    def drain(self, consumer, count):
        """Polls until `count` records arrived; returns {(partition, offset): (key, value, headers)}."""
        got = {}
        deadline = time.monotonic() + TIMEOUT_S
        while len(got) < count:
            self.assertLess(time.monotonic(), deadline, f"got {len(got)} of {count} records")
            for records in consumer.poll(timeout_ms=200).values():
                for r in records:
                    self.assertNotIn((r.partition, r.offset), got, "record delivered twice")
                    got[(r.partition, r.offset)] = (r.key, r.value, list(r.headers))
        return got

    def test_group_commit_and_resume_from_committed_offsets(self):
        group = self.unique("kp-group")
        sent = self.produce(90)
        self.assertEqual(sorted(sent), [(p, o) for p in PARTITIONS for o in range(30)])

        first = self.consumer(group_id=group)
        first.subscribe([self.topic])
        got = self.drain(first, len(sent))
        self.assertEqual(got, sent)
        # Commit part way: the next member of the group must start exactly here.
        resume_at = {self.tps[0]: 10, self.tps[1]: 0, self.tps[2]: 29}
        first.commit({tp: OffsetAndMetadata(o, "resume") for tp, o in resume_at.items()})
        for tp, o in resume_at.items():
            self.assertEqual(first.committed(tp), o)
        first.close()

        second = self.consumer(group_id=group)
        second.subscribe([self.topic])
        want = {k: v for k, v in sent.items() if k[1] >= resume_at[self.tps[k[0]]]}
        self.assertEqual(self.drain(second, len(want)), want)
        second.commit()  # everything it consumed
        second.close()

        # A third member gets nothing old, only what is produced after the commit.
        more = self.produce(6, start=90)
        third = self.consumer(group_id=group)
        third.subscribe([self.topic])
        self.assertEqual(self.drain(third, len(more)), more)
        third.commit()
        for tp in self.tps:
            self.assertEqual(third.committed(tp), 32)
        third.close()

    def test_seek_and_replay(self):
        sent = self.produce(60)
        c = self.consumer()  # no group: manual assignment, positions only
        try:
            c.assign(self.tps)
            self.assertEqual(c.beginning_offsets(self.tps), {tp: 0 for tp in self.tps})
            self.assertEqual(c.end_offsets(self.tps), {tp: 20 for tp in self.tps})
            self.assertEqual(self.drain(c, 60), sent)

            # Replay one partition from the middle.
            c.seek(self.tps[1], 15)
            c.pause(self.tps[0], self.tps[2])
            self.assertEqual(self.drain(c, 5), {k: v for k, v in sent.items() if k[0] == 1 and k[1] >= 15})
            c.resume(self.tps[0], self.tps[2])

            # Replay everything again from the beginning.
            c.seek_to_beginning()
            self.assertEqual(self.drain(c, 60), sent)

            # From the end, only new records show up.
            c.seek_to_end()
            for tp in self.tps:
                self.assertEqual(c.position(tp), 20)
            more = self.produce(3, start=60)
            self.assertEqual(self.drain(c, 3), more)

            # Offsets by timestamp: everything was written after t=0 and before now.
            self.assertEqual({tp: ot.offset for tp, ot in c.offsets_for_times({tp: 0 for tp in self.tps}).items()},
                             {tp: 0 for tp in self.tps})
            future_ms = int(time.time() * 1000) + 3_600_000
            self.assertEqual(c.offsets_for_times({tp: future_ms for tp in self.tps}), {tp: None for tp in self.tps})
        finally:
            c.close()


if __name__ == "__main__":
    # kafka-python logs connection chatter at WARNING; keep it for failures only.
    logging.basicConfig(level=logging.ERROR)
    harness.main()

#!/usr/bin/python3
"""Topic and group administration through the clients' admin APIs.

Topics are created with configs that take effect, grown, deleted and created
again under the same name; a deleted topic or group stays deleted across a
restart. Groups are listed, described, their offsets read and deleted.
"""

import logging
import time

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, ConfigResource, NewPartitions, NewTopic
from kafka import KafkaAdminClient, KafkaConsumer
from kafka import TopicPartition as KTopicPartition
from kafka.structs import OffsetAndMetadata

import harness
from confluent_util import CLIENT_TIMEOUT_S, Consumer, DeliveryLog, Producer, conf, end_offsets, read_partitions


class TopicAdminTest(harness.BrokerTestCase):
    BROKER_ARGS = ("--groups-initial-rebalance-delay-ms", "300")

    def admin(self):
        # One client per test: futures fail once their AdminClient is gone.
        if getattr(self, "_admin", None) is None:
            self._admin = AdminClient(conf(self.broker))
        return self._admin

    def create(self, topic, partitions, replication_factor=1, config=None):
        fut = self.admin().create_topics([NewTopic(topic, partitions, replication_factor, config=config or {})],
                                         operation_timeout=30)[topic]
        fut.result(timeout=CLIENT_TIMEOUT_S)

    def create_error(self, topic, partitions, replication_factor=1):
        with self.assertRaises(KafkaException) as cm:
            self.create(topic, partitions, replication_factor)
        return cm.exception.args[0].code()

    def topics(self):
        md = self.admin().list_topics(timeout=CLIENT_TIMEOUT_S)
        return {name: len(t.partitions) for name, t in md.topics.items() if not name.startswith("__")}

    def produce(self, topic, values, partition=0, **overrides):
        log = DeliveryLog()
        p = Producer(conf(self.broker, acks="all", **overrides))
        for v in values:
            p.produce(topic, value=v, partition=partition, on_delivery=log)
        p.flush(CLIENT_TIMEOUT_S)
        return log

    def test_topic_lifecycle(self):
        topic = self.unique("admin")
        self.create(topic, 2, config={"retention.ms": "3600000", "max.message.bytes": "200000"})
        self.assertEqual(self.topics().get(topic), 2)

        res = ConfigResource(ConfigResource.Type.TOPIC, topic)
        configs = self.admin().describe_configs([res])[res].result(timeout=CLIENT_TIMEOUT_S)
        self.assertEqual(configs["retention.ms"].value, "3600000")
        self.assertEqual(configs["max.message.bytes"].value, "200000")

        # The topic's own size limit applies, not the broker default (1 MB).
        # One producer per record: the limit is per batch, and the two must not share one.
        ok = self.produce(topic, [b"x" * 100_000], message_max_bytes=1_000_000)
        self.assertEqual(([len(m.value()) for m in ok.delivered], ok.failed), ([100_000], []))
        too_big = self.produce(topic, [b"y" * 300_000], message_max_bytes=1_000_000)
        self.assertEqual([e.code() for _, e in too_big.failed], [KafkaError.MSG_SIZE_TOO_LARGE])

        self.assertEqual(self.create_error(topic, 3), KafkaError.TOPIC_ALREADY_EXISTS)
        self.assertEqual(self.create_error(self.unique("rf3"), 1, replication_factor=3),
                         KafkaError.INVALID_REPLICATION_FACTOR)

        # Grow to five partitions; the new ones take records.
        self.admin().create_partitions([NewPartitions(topic, 5)])[topic].result(timeout=CLIENT_TIMEOUT_S)
        self.assertEqual(self.topics().get(topic), 5)
        log = self.produce(topic, [b"in the new partition"], partition=4)
        self.assertEqual([(m.partition(), m.offset()) for m in log.delivered], [(4, 0)])

        # Delete, then create again under the same name: nothing of the old topic is left.
        self.admin().delete_topics([topic], operation_timeout=30)[topic].result(timeout=CLIENT_TIMEOUT_S)
        harness.wait_until(lambda: topic not in self.topics(), CLIENT_TIMEOUT_S, "the deleted topic to disappear")
        self.create(topic, 1)
        self.assertEqual(self.topics().get(topic), 1)
        self.assertEqual(end_offsets(self.broker, topic, (0,)), {0: 0})
        log = self.produce(topic, [b"second life"])
        self.assertEqual([m.offset() for m in log.delivered], [0])

        # A restart brings back neither the old topic's partitions nor its records.
        self.broker.restart()
        self.assertEqual(self.topics().get(topic), 1)
        self.assertEqual([m.value() for m in read_partitions(self.broker, topic, (0,), 1)], [b"second life"])
        self.assertEqual(end_offsets(self.broker, topic, (0,)), {0: 1})

    def test_group_follows_new_partitions(self):
        topic = self.unique("grow")
        self.create(topic, 2)
        group = self.unique("grow-group")
        # A short metadata refresh so the member notices the new partitions soon.
        c = Consumer(conf(self.broker, group_id=group, auto_offset_reset="earliest", enable_auto_commit=False,
                          topic_metadata_refresh_interval_ms=500, session_timeout_ms=6000,
                          heartbeat_interval_ms=500))
        try:
            c.subscribe([topic])
            got = []

            def poll_for(n):
                deadline = time.monotonic() + CLIENT_TIMEOUT_S
                while len(got) < n:
                    self.assertLess(time.monotonic(), deadline, f"got {len(got)} of {n}: {got}")
                    for m in c.consume(num_messages=n - len(got), timeout=0.2):
                        self.assertIsNone(m.error())
                        got.append((m.partition(), m.value()))

            harness.wait_until(lambda: c.consume(num_messages=1, timeout=0.1) == [] and len(c.assignment()) == 2,
                               CLIENT_TIMEOUT_S, "the member to get both partitions")
            self.admin().create_partitions([NewPartitions(topic, 4)])[topic].result(timeout=CLIENT_TIMEOUT_S)
            # Records in the new partitions reach the member once it was rebalanced onto them.
            for p in (2, 3):
                self.produce(topic, [f"p{p}".encode()], partition=p)
            poll_for(2)
            self.assertEqual(sorted(got), [(2, b"p2"), (3, b"p3")])
            self.assertEqual(sorted(tp.partition for tp in c.assignment()), [0, 1, 2, 3])
            # The old partitions still work after that rebalance. (Records sent
            # to them before it could come twice: this member commits nothing.)
            for p in (0, 1):
                self.produce(topic, [f"p{p}".encode()], partition=p)
            poll_for(4)
            self.assertEqual(sorted(got), [(p, f"p{p}".encode()) for p in range(4)])
        finally:
            c.close()

    def test_group_list_describe_offsets_delete(self):
        topic = self.unique("groups")
        self.create(topic, 2)
        for p in (0, 1):
            flush_log = self.produce(topic, [f"{p}-{i}".encode() for i in range(10)], partition=p)
            self.assertEqual(len(flush_log.delivered), 10)
        group = self.unique("admin-group")
        tps = [KTopicPartition(topic, p) for p in (0, 1)]

        member = KafkaConsumer(topic, bootstrap_servers=self.broker.bootstrap, group_id=group,
                               enable_auto_commit=False, auto_offset_reset="earliest")
        admin = KafkaAdminClient(bootstrap_servers=self.broker.bootstrap)
        try:
            deadline = time.monotonic() + CLIENT_TIMEOUT_S
            while not member.assignment():
                self.assertLess(time.monotonic(), deadline, "the member never got partitions")
                member.poll(timeout_ms=200)
            member.commit({tps[0]: OffsetAndMetadata(4, ""), tps[1]: OffsetAndMetadata(7, "")})

            self.assertIn(group, [g for g, _ in admin.list_consumer_groups()])
            (desc,) = admin.describe_consumer_groups([group])
            self.assertEqual((desc.group, desc.state, desc.protocol_type), (group, "Stable", "consumer"))
            self.assertEqual(len(desc.members), 1)
            offsets = admin.list_consumer_group_offsets(group)
            self.assertEqual({tp.partition: om.offset for tp, om in offsets.items()}, {0: 4, 1: 7})

            member.close()
            # An empty group can be deleted; its offsets go with it, also across a restart.
            self.assertEqual([(g, err.errno) for g, err in admin.delete_consumer_groups([group])], [(group, 0)])
            self.assertNotIn(group, [g for g, _ in admin.list_consumer_groups()])
        finally:
            admin.close()
            member.close()
        self.broker.restart()
        admin = KafkaAdminClient(bootstrap_servers=self.broker.bootstrap)
        try:
            self.assertNotIn(group, [g for g, _ in admin.list_consumer_groups()])
            self.assertEqual(admin.list_consumer_group_offsets(group), {})
        finally:
            admin.close()


if __name__ == "__main__":
    logging.basicConfig(level=logging.ERROR)
    harness.main()

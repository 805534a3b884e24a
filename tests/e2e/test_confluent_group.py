#!/usr/bin/python3
"""A confluent-kafka consumer group against Wharf's group coordinator.

Three members share a six-partition topic: every partition belongs to exactly
one member and every message reaches exactly one member once. When a member
leaves, the other two take over its partitions and continue from the offsets
it committed: nothing committed is delivered again, nothing is lost.
"""

import time

import harness
from confluent_util import (CLIENT_TIMEOUT_S, Consumer, DeliveryLog, KafkaException, Producer, TopicPartition,
                            conf, create_topic, end_offsets, flush)

PARTITIONS = tuple(range(6))
PER_PARTITION = 100


class Member:
    """One group member, polled by the test's single thread; commits after each batch it is handed."""

    def __init__(self, test, name, group, topic, strategy):
        self.name = name
        self.received = []  # (partition, offset, value)
        self.c = Consumer(conf(test.broker, group_id=group, client_id=name, auto_offset_reset="earliest",
                               enable_auto_commit=False, session_timeout_ms=6000, heartbeat_interval_ms=500,
                               partition_assignment_strategy=strategy))
        self.c.subscribe([topic])

    def poll_once(self):
        msgs = self.c.consume(num_messages=500, timeout=0.1)
        for m in msgs:
            if m.error():
                raise KafkaException(m.error())
            self.received.append((m.partition(), m.offset(), m.value()))
        if msgs:
            # Synchronous: once this returns the group has the offsets, so a
            # later owner of the partition must not see these messages again.
            self.c.commit(asynchronous=False)

    def partitions(self):
        return {tp.partition for tp in self.c.assignment()}


class ConfluentGroupTest(harness.BrokerTestCase):
    # A short first-rebalance delay keeps the test quick; it still lets three
    # members that subscribe together join one generation.
    BROKER_ARGS = ("--groups-initial-rebalance-delay-ms", "1000")

    def produce_round(self, topic, label):
        log = DeliveryLog()
        p = Producer(conf(self.broker, acks="all", linger_ms=5))
        for part in PARTITIONS:
            for i in range(PER_PARTITION):
                p.produce(topic, value=f"{label}-{part}-{i}".encode(), partition=part, on_delivery=log)
        flush(p, len(PARTITIONS) * PER_PARTITION, log, self)
        return {m.value() for m in log.delivered}

    def poll_until(self, members, done, what):
        deadline = time.monotonic() + CLIENT_TIMEOUT_S
        while not done():
            self.assertLess(time.monotonic(), deadline, f"timed out waiting for {what}")
            for m in members:
                m.poll_once()

    def assert_owned_exactly_once(self, members):
        """Every partition is assigned to one member only, and together they hold all of them."""
        owned = [m.partitions() for m in members]
        for m, parts in zip(members, owned):
            self.assertTrue(parts, f"{m.name} was assigned nothing")
        self.assertEqual(sorted(p for parts in owned for p in parts), list(PARTITIONS))
        return {p: m for m, parts in zip(members, owned) for p in parts}

    def stable(self, members):
        owned = [m.partitions() for m in members]
        return all(owned) and sorted(p for parts in owned for p in parts) == list(PARTITIONS)

    def received_since(self, members, marks):
        return [(m, r) for m in members for r in m.received[marks[m.name]:]]

    def run_group(self, strategy):
        topic = self.unique("group")
        group = self.unique("g")
        create_topic(self.broker, topic, len(PARTITIONS))
        members = [Member(self, f"member-{i}", group, topic, strategy) for i in range(3)]
        try:
            self.poll_until(members, lambda: self.stable(members), "three members to share six partitions")
            owner = self.assert_owned_exactly_once(members)

            # Round A: each message exactly once, at the member owning its partition.
            sent_a = self.produce_round(topic, "A")
            self.poll_until(members, lambda: sum(len(m.received) for m in members) >= len(sent_a),
                            "the group to receive round A")
            got_a = [(m, r) for m in members for r in m.received]
            self.assertEqual(sorted(r[2] for _, r in got_a), sorted(sent_a), "round A not received exactly once")
            for m, (part, _, value) in got_a:
                self.assertIs(m, owner[part], f"{value!r} went to {m.name}, not the owner of partition {part}")
            # Same assignment as before: round A caused no rebalance.
            self.assertEqual(self.assert_owned_exactly_once(members), owner)

            # One member leaves; the other two must take over all six partitions.
            leaver = members.pop()
            left_parts = leaver.partitions()
            leaver.c.close()
            self.poll_until(members, lambda: self.stable(members), "two members to take over six partitions")
            owner = self.assert_owned_exactly_once(members)
            self.assertTrue(left_parts <= set(owner), "the leaver's partitions were not taken over")

            # Round B reaches the remaining two exactly once. Round A records sit
            # below round B in every partition, so a redelivery of anything
            # committed in round A would arrive before round B is complete.
            marks = {m.name: len(m.received) for m in members}
            sent_b = self.produce_round(topic, "B")
            self.poll_until(members, lambda: len(self.received_since(members, marks)) >= len(sent_b),
                            "the remaining members to receive round B")
            got_b = self.received_since(members, marks)
            redelivered = sorted(r[2] for _, r in got_b if r[2] in sent_a)
            self.assertEqual(redelivered, [], "committed round A messages were delivered again")
            self.assertEqual(sorted(r[2] for _, r in got_b), sorted(sent_b), "round B not received exactly once")
            for m, (part, _, value) in got_b:
                self.assertIs(m, owner[part], f"{value!r} went to {m.name}, not the owner of partition {part}")

            # The group's committed offsets are the end of every partition.
            committed = members[0].c.committed([TopicPartition(topic, p) for p in PARTITIONS],
                                               timeout=CLIENT_TIMEOUT_S)
            self.assertEqual({tp.partition: tp.offset for tp in committed},
                             end_offsets(self.broker, topic, PARTITIONS))
            self.assertEqual(set(end_offsets(self.broker, topic, PARTITIONS).values()), {2 * PER_PARTITION})
        finally:
            for m in members:
                m.c.close()

    def test_eager_rebalance_hands_over_partitions_exactly_once(self):
        # librdkafka's default: range, then roundrobin; every member gives up
        # everything on a rebalance.
        self.run_group("range,roundrobin")

    def test_cooperative_rebalance_hands_over_partitions_exactly_once(self):
        # Incremental (KIP-429): members keep their partitions and only the
        # leaver's move; the broker sees the same JoinGroup/SyncGroup calls.
        self.run_group("cooperative-sticky")


if __name__ == "__main__":
    harness.main()

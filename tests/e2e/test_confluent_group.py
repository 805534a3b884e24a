#!/usr/bin/python3
"""A confluent-kafka consumer group against Wharf's group coordinator.

Three members share a six-partition topic: every partition belongs to exactly
one member and every message reaches exactly one member once. When a member
leaves, the other two take over its partitions and continue from the offsets
it committed: nothing committed is delivered again, nothing is lost. A static
member (group.instance.id) that restarts gets its partitions back without
disturbing the others.
"""

import harness
from confluent_util import CLIENT_TIMEOUT_S, TopicPartition, create_topic, end_offsets
from group_util import PARTITIONS, PER_PARTITION, GroupTestCase, Member


class ConfluentGroupTest(GroupTestCase):

    def run_leave(self, strategy):
        topic = self.unique("group")
        group = self.unique("g")
        create_topic(self.broker, topic, len(PARTITIONS))
        members = [Member(self.broker, f"member-{i}", group, topic, strategy) for i in range(3)]
        try:
            owner = self.wait_stable(members, "three members to share six partitions")
            self.round(topic, "A", members, owner, "round A")
            # Same owners as before: round A caused no rebalance.
            self.assertEqual(self.assert_owned_exactly_once(members), owner)

            # One member leaves; the other two must take over all six partitions
            # and start where the leaver committed.
            leaver = members.pop()
            left_parts = leaver.partitions()
            leaver.close()
            owner = self.wait_stable(members, "two members to take over six partitions")
            self.assertTrue(left_parts <= set(owner), "the leaver's partitions were not taken over")
            self.round(topic, "B", members, owner, "round B after the leave")

            # The group's committed offsets are the end of every partition.
            committed = members[0].c.committed([TopicPartition(topic, p) for p in PARTITIONS],
                                               timeout=CLIENT_TIMEOUT_S)
            self.assertEqual({tp.partition: tp.offset for tp in committed}, {p: 2 * PER_PARTITION for p in PARTITIONS})
            self.assertEqual(end_offsets(self.broker, topic, PARTITIONS), {p: 2 * PER_PARTITION for p in PARTITIONS})
        finally:
            for m in members:
                m.close()

    def test_eager_rebalance_hands_over_partitions_exactly_once(self):
        # librdkafka's default: range, then roundrobin; every member gives up
        # everything on a rebalance.
        self.run_leave("range,roundrobin")

    def test_cooperative_rebalance_hands_over_partitions_exactly_once(self):
        # Incremental (KIP-429): members keep their partitions and only the
        # leaver's move; the broker sees the same JoinGroup/SyncGroup calls.
        self.run_leave("cooperative-sticky")

    def test_static_member_restart_keeps_its_partitions_without_a_rebalance(self):
        topic = self.unique("static")
        group = self.unique("g-static")
        create_topic(self.broker, topic, len(PARTITIONS))
        members = [Member(self.broker, f"static-{i}", group, topic, instance_id=f"instance-{i}") for i in range(3)]
        try:
            owner = self.wait_stable(members, "three static members to share six partitions")
            self.round(topic, "A", members, owner, "round A")

            # KIP-345: a static member that closes sends no LeaveGroup; coming
            # back under the same instance id within the session timeout, it
            # gets its old partitions and the others are not rebalanced.
            rebalances = {m.name: m.rebalances for m in members[:2]}
            old = members.pop()
            old_parts = old.partitions()
            old.close()
            members.append(Member(self.broker, "static-2-again", group, topic, instance_id="instance-2"))
            owner = self.wait_stable(members, "the static member to come back")
            self.assertEqual(members[2].partitions(), old_parts, "the returning static member got other partitions")
            self.round(topic, "B", members, owner, "round B after the static member came back")
            self.assertEqual({m.name: m.rebalances for m in members[:2]}, rebalances,
                             "the members that stayed were rebalanced")
        finally:
            for m in members:
                m.close()


if __name__ == "__main__":
    harness.main()

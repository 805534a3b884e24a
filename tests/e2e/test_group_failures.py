#!/usr/bin/python3
"""Consumer groups when something dies: a member (kill -9), or the broker (restart).

A member that crashes never says goodbye; the coordinator must notice when
its session times out and give its partitions to the others, who start at
its committed offsets. A broker restart under a live group must not lose the
group's committed offsets: members carry on, and nothing committed before the
restart is delivered again.
"""

import harness
from confluent_util import create_topic
from group_util import PARTITIONS, GroupTestCase, Member, MemberProcess


class GroupFailureTest(GroupTestCase):

    def test_crashed_member_is_expired_and_its_partitions_move_on(self):
        topic = self.unique("crash-member")
        group = self.unique("g-crash")
        create_topic(self.broker, topic, len(PARTITIONS))
        crasher = MemberProcess(self.broker, "member-process", group, topic)
        members = [Member(self.broker, f"member-{i}", group, topic) for i in range(2)] + [crasher]
        try:
            owner = self.wait_stable(members, "three members (one in its own process) to share six partitions")
            self.round(topic, "A", members, owner, "round A")

            # Everything the process reported is committed; now it dies without a LeaveGroup.
            crashed_parts = crasher.partitions()
            crasher.kill()
            members.remove(crasher)
            # Expiry takes the session timeout (6 s) plus a rejoin.
            owner = self.wait_stable(members, "the survivors to take over after the session timeout")
            self.assertTrue(crashed_parts <= set(owner))
            self.round(topic, "B", members, owner, "round B after the crash")
        finally:
            for m in members:
                m.close()

    def test_group_carries_on_across_a_broker_restart(self):
        topic = self.unique("restart-group")
        group = self.unique("g-restart")
        create_topic(self.broker, topic, len(PARTITIONS))
        members = [Member(self.broker, f"member-{i}", group, topic, tolerate_commit_errors=True) for i in range(2)]
        try:
            owner = self.wait_stable(members, "two members to share six partitions")
            sent_a = self.round(topic, "A", members, owner, "round A")
            self.assertEqual([m.uncommitted for m in members], [set(), set()], "commits failed with no restart")

            self.broker.restart()
            marks = {m.name: len(m.received) for m in members}
            sent_b = self.produce_round(topic, "B")
            self.poll_until(members, lambda: {r[2] for m in members for r in m.received[marks[m.name]:]} >= sent_b,
                            "the group to receive round B after the restart")
            got = [r[2] for m in members for r in m.received[marks[m.name]:]]
            self.assertEqual([v for v in got if v in sent_a], [], "committed round A messages were delivered again")
            # Commits refused while the group re-formed may bring messages back;
            # anything else must arrive once.
            uncommitted = set().union(*(m.uncommitted for m in members))
            dups = sorted({v for v in got if got.count(v) > 1} - uncommitted)
            self.assertEqual(dups, [], "messages delivered twice although their commit succeeded")
            self.wait_stable(members, "the group to be whole again after the restart")
        finally:
            for m in members:
                m.close()


if __name__ == "__main__":
    harness.main()

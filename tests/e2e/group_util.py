"""Consumer-group members (in this process or in their own) and checks shared by the group tests.

All members of a test are polled round-robin by the test's one thread, so a
test reads like the story it tells; a member in its own process
(group_member.py) exists so it can be killed -9 like a crashed application.
"""

import json
import os
import subprocess
import sys
import threading
import time

import harness
from confluent_util import CLIENT_TIMEOUT_S, Consumer, DeliveryLog, KafkaException, Producer, conf, flush

PARTITIONS = tuple(range(6))
PER_PARTITION = 100
HERE = os.path.dirname(os.path.abspath(__file__))


class Member:
    """An in-process member; commits synchronously after each batch it is handed.

    With tolerate_commit_errors a failed commit is remembered instead of
    failing the test: around a broker restart a commit may be refused, and
    then those messages may legitimately come again.
    """

    def __init__(self, broker, name, group, topic, strategy="range,roundrobin", instance_id=None,
                 tolerate_commit_errors=False):
        self.name = name
        self.received = []        # (partition, offset, value)
        self.uncommitted = set()  # values whose commit failed
        self.rebalances = 0       # assignment callbacks seen
        self.tolerate_commit_errors = tolerate_commit_errors
        extra = {"group_instance_id": instance_id} if instance_id else {}
        self.c = Consumer(conf(broker, group_id=group, client_id=name, auto_offset_reset="earliest",
                               enable_auto_commit=False, session_timeout_ms=6000, heartbeat_interval_ms=500,
                               partition_assignment_strategy=strategy, **extra))
        self.c.subscribe([topic], on_assign=self._on_assign)

    def _on_assign(self, consumer, partitions):
        self.rebalances += 1

    def poll_once(self):
        msgs = self.c.consume(num_messages=500, timeout=0.1)
        for m in msgs:
            if m.error():
                raise KafkaException(m.error())
            self.received.append((m.partition(), m.offset(), m.value()))
        if msgs:
            # Synchronous: once this returns the group has the offsets, so a
            # later owner of the partition must not see these messages again.
            try:
                self.c.commit(asynchronous=False)
            except KafkaException:
                if not self.tolerate_commit_errors:
                    raise
                self.uncommitted.update(m.value() for m in msgs)

    def partitions(self):
        return {tp.partition for tp in self.c.assignment()}

    def close(self):
        self.c.close()


class MemberProcess:
    """A member running group_member.py in a child process; see that file for what it reports."""

    def __init__(self, broker, name, group, topic):
        self.name = name
        self.received = []
        self.assigned = set()
        self.proc = subprocess.Popen([sys.executable, os.path.join(HERE, "group_member.py"), broker.bootstrap,
                                      group, topic], stdout=subprocess.PIPE, text=True,
                                     preexec_fn=harness.die_with_parent)
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stdout:
            msg = json.loads(line)
            with self._lock:
                if "assigned" in msg:
                    self.assigned = set(msg["assigned"])
                else:
                    self.received.extend((p, o, v.encode()) for p, o, v in msg["got"])

    def poll_once(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"{self.name} exited with {self.proc.returncode}")

    def partitions(self):
        with self._lock:
            return set(self.assigned)

    def kill(self):
        self.proc.kill()
        self.proc.wait()
        self._reader.join(5)

    def close(self):
        if self.proc.poll() is None:
            self.kill()


class GroupTestCase(harness.BrokerTestCase):
    # A short first-rebalance delay keeps the tests quick; it still lets
    # members that subscribe together join one generation.
    BROKER_ARGS = ("--groups-initial-rebalance-delay-ms", "1000")

    def produce_round(self, topic, label):
        """PER_PARTITION acknowledged messages in every partition; returns their values."""
        log = DeliveryLog()
        p = Producer(conf(self.broker, acks="all", linger_ms=5))
        for part in PARTITIONS:
            for i in range(PER_PARTITION):
                p.produce(topic, value=f"{label}-{part}-{i}".encode(), partition=part, on_delivery=log)
        flush(p, len(PARTITIONS) * PER_PARTITION, log, self)
        return {m.value() for m in log.delivered}

    def poll_until(self, members, done, what, timeout_s=CLIENT_TIMEOUT_S):
        deadline = time.monotonic() + timeout_s
        while not done():
            self.assertLess(time.monotonic(), deadline, f"timed out waiting for {what}")
            for m in members:
                m.poll_once()
            time.sleep(0.01)  # members in other processes get a moment too

    def stable(self, members):
        """Every member holds something and together they hold each partition once."""
        owned = [m.partitions() for m in members]
        return all(owned) and sorted(p for parts in owned for p in parts) == list(PARTITIONS)

    def assert_owned_exactly_once(self, members):
        """Returns {partition: member} after checking each partition has exactly one owner."""
        owned = [m.partitions() for m in members]
        for m, parts in zip(members, owned):
            self.assertTrue(parts, f"{m.name} was assigned nothing")
        self.assertEqual(sorted(p for parts in owned for p in parts), list(PARTITIONS))
        return {p: m for m, parts in zip(members, owned) for p in parts}

    def wait_stable(self, members, what):
        self.poll_until(members, lambda: self.stable(members), what)
        return self.assert_owned_exactly_once(members)

    def round(self, topic, label, members, owner, what):
        """Produces a round and checks `members` get exactly it, once, each message at its partition's owner.

        Messages of earlier rounds sit below this round's in every partition,
        so a redelivery of anything committed earlier arrives before this
        round is complete and shows up here as an unexpected value. Returns
        the values sent.
        """
        # Marks first: a member in its own process may consume while the
        # producer is still waiting for its acknowledgements.
        marks = {m.name: len(m.received) for m in members}
        sent = self.produce_round(topic, label)

        def new():
            return [(m, r) for m in members for r in m.received[marks[m.name]:]]

        try:
            self.poll_until(members, lambda: len(new()) >= len(sent), what)
        except AssertionError as e:
            counts = {m.name: (sorted(m.partitions()), len(m.received) - marks[m.name]) for m in members}
            raise AssertionError(f"{e}; (partitions, messages) per member: {counts}") from None
        got = new()
        self.assertEqual(sorted(r[2] for _, r in got), sorted(sent), f"{what}: not exactly the messages sent, once")
        for m, (part, _, value) in got:
            self.assertIs(m, owner[part], f"{value!r} went to {m.name}, not the owner of partition {part}")
        return sent

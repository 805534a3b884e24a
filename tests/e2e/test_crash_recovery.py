#!/usr/bin/python3
"""Kill -9 in the middle of an idempotent acks=all stream, and of offset commits.

A confluent-kafka producer sends numbered records; the broker is SIGKILLed
several times while acknowledgements are flowing and restarted on the same
data directory and port. The producer keeps going (librdkafka retries what
was in flight). Afterwards every acknowledged record must be in the log
exactly once, at the offset its acknowledgement named, and each partition
must hold the numbers in the order they were sent. The stream runs twice:
with the default producer-state snapshot interval (state rebuilt from batch
headers alone) and with frequent snapshots (snapshot plus the batches after it).

Group offsets get the same treatment: a commit the broker acknowledged must
be there after kill -9, also once the offsets file has been compacted.
"""

import os
import random
import threading

import harness
import kafka_wire as wire
from confluent_util import (CLIENT_TIMEOUT_S, Consumer, Producer, TopicPartition, conf,
                            create_topic, end_offsets, read_partitions)

PARTITIONS = (0, 1, 2)
TOTAL = 20000
KILL_AFTER_ACKS = (2000, 6000, 11000, 16000)
PADDING = "x" * 100
# Records queued while the broker is dead, before it comes back.
PRODUCED_WHILE_DOWN = 1000
WINDOW = 2000


def record(i):
    return f"{i} {PADDING}".encode()


def number(value):
    return int(value.split(b" ", 1)[0])


class CrashRecoveryTest(harness.BrokerTestCase):

    def test_sigkill_mid_stream_keeps_every_acknowledged_record_once_in_order(self):
        topic = self.unique("crash")
        create_topic(self.broker, topic, len(PARTITIONS))
        acked = []   # (partition, offset, number)
        failed = []  # (number, error)

        def on_delivery(err, msg):
            if err is None:
                acked.append((msg.partition(), msg.offset(), number(msg.value())))
            else:
                failed.append((number(msg.value()), str(err)))

        producer = Producer(conf(self.broker, enable_idempotence=True, acks="all", linger_ms=2,
                                 # Long enough to outlive the broker's downtime, so
                                 # nothing times out in the queue.
                                 message_timeout_ms=CLIENT_TIMEOUT_S * 1000,
                                 retry_backoff_ms=50, reconnect_backoff_max_ms=200))

        def send(i):
            # A stream, not a burst: at most WINDOW records wait for their
            # acknowledgement, so kills land while acks are flowing.
            while i - len(acked) - len(failed) >= WINDOW:
                producer.poll(0.01)
            while True:
                try:
                    producer.produce(topic, value=record(i), partition=PARTITIONS[i % len(PARTITIONS)],
                                     on_delivery=on_delivery)
                    producer.poll(0)
                    return
                except BufferError:  # local queue full: let deliveries drain
                    producer.poll(0.05)

        kills = list(KILL_AFTER_ACKS)
        i = 0
        while i < TOTAL:
            send(i)
            i += 1
            if kills and len(acked) >= kills[0]:
                kills.pop(0)
                self.broker.kill()
                # Keep producing into the client's queue while nothing listens.
                for _ in range(PRODUCED_WHILE_DOWN):
                    if i < TOTAL:
                        producer.produce(topic, value=record(i), partition=PARTITIONS[i % len(PARTITIONS)],
                                         on_delivery=on_delivery)
                        i += 1
                producer.poll(0.3)
                self.broker.start()
        self.assertEqual(kills, [], "the stream ended before every planned kill")
        self.assertEqual(producer.flush(CLIENT_TIMEOUT_S), 0, "records still undelivered after the timeout")

        ends = end_offsets(self.broker, topic, PARTITIONS)
        log = read_partitions(self.broker, topic, PARTITIONS, sum(ends.values()))
        stored = {p: [(m.offset(), number(m.value())) for m in log if m.partition() == p] for p in PARTITIONS}

        for p in PARTITIONS:
            with self.subTest(partition=p):
                offsets = [o for o, _ in stored[p]]
                numbers = [n for _, n in stored[p]]
                self.assertEqual(offsets, list(range(ends[p])), "log has holes or repeats")
                self.assertEqual(len(set(numbers)), len(numbers), "a record was written twice")
                self.assertEqual(numbers, sorted(numbers), "records stored out of send order")
                at = dict(stored[p])
                for part, offset, n in acked:
                    if part == p:
                        self.assertEqual(at.get(offset), n, f"acknowledged record {n} is not at offset {offset}")
        self.assertEqual(len({n for _, _, n in acked}), len(acked), "a record was acknowledged twice")
        # With a long message timeout and idempotence every record gets through.
        self.assertEqual(failed[:10], [], f"{len(failed)} records failed to deliver")
        self.assertEqual(len(acked), TOTAL)
        self.assertEqual(self.broker.starts, 1 + len(KILL_AFTER_ACKS))

    def test_acknowledged_commits_survive_sigkill_also_after_compaction(self):
        topic = self.unique("crash-commits")
        group = self.unique("crash-group")
        partitions = range(50)
        create_topic(self.broker, topic, len(partitions))

        def offsets(n):
            # Commit number n, readable back from any partition's offset.
            return {p: n * 1000 + p for p in partitions}

        # Commits go over a raw socket so the test knows exactly which ones
        # the broker acknowledged (a client library would retry behind our
        # back). ~90 bytes per partition per commit: a few hundred commits of
        # fifty partitions grow the offsets file past 1 MiB, where Wharf
        # compacts it.
        s = wire.connect(self.broker.port)
        for n in range(1, 301):
            s.sendall(wire.offset_commit_v2(n, group, topic, offsets(n)))
            self.assertEqual(wire.parse_offset_commit_v2(wire.read_frame(s)), (n, {p: 0 for p in partitions}))
        s.close()
        self.broker.restart(hard=True)
        self.assert_committed(group, topic, partitions, 300, 300)

        # Now kill while commits are in flight (several pipelined on one
        # connection): each partition must show the last acknowledged commit
        # or a later one that was sent, never an older one.
        sent = acked = 300
        stop = threading.Event()
        s = wire.connect(self.broker.port)

        def keep_committing():
            nonlocal sent, acked
            try:
                while not stop.is_set():
                    while sent < acked + 8:
                        s.sendall(wire.offset_commit_v2(sent + 1, group, topic, offsets(sent + 1)))
                        sent += 1
                    cid, errors = wire.parse_offset_commit_v2(wire.read_frame(s))
                    if cid != acked + 1 or set(errors.values()) != {0}:
                        return
                    acked = cid
            except OSError:
                return  # the broker died under us

        t = threading.Thread(target=keep_committing, daemon=True)
        t.start()
        harness.wait_until(lambda: acked >= 400 or not t.is_alive(), CLIENT_TIMEOUT_S, "a hundred more commits")
        self.assertTrue(t.is_alive(), f"committing failed before the kill, after commit #{acked}")
        self.broker.kill()
        stop.set()
        t.join(CLIENT_TIMEOUT_S)
        s.close()
        self.broker.start()
        self.assert_committed(group, topic, partitions, acked, sent)

    def assert_committed(self, group, topic, partitions, low, high):
        """Every partition's committed offset comes from a commit numbered low..high."""
        probe = Consumer(conf(self.broker, group_id=group))
        try:
            committed = probe.committed([TopicPartition(topic, p) for p in partitions], timeout=CLIENT_TIMEOUT_S)
        finally:
            probe.close()
        for tp in committed:
            n, p = divmod(tp.offset, 1000)
            self.assertEqual(p, tp.partition)
            self.assertTrue(low <= n <= high, f"partition {p}: commit #{n} survived, expected #{low}..#{high}")


    def test_torn_or_garbage_tail_is_cut_at_restart(self):
        # What a power cut can leave behind (SIGKILL alone cannot: the page
        # cache survives it): the last batch half written, or junk after it.
        topic = self.unique("torn")
        create_topic(self.broker, topic, 1)
        p = Producer(conf(self.broker, acks="all", linger_ms=50))

        def produce_batch(start):
            for i in range(start, start + 10):
                p.produce(topic, value=record(i), partition=0)
            self.assertEqual(p.flush(CLIENT_TIMEOUT_S), 0)

        for start in range(0, 100, 10):
            produce_batch(start)
        self.assertEqual(end_offsets(self.broker, topic, (0,)), {0: 100})

        def active_segment():
            d = os.path.join(self.broker.data_dir, f"{topic}-0")
            return os.path.join(d, sorted(f for f in os.listdir(d) if f.endswith(".log"))[-1])

        def numbers(count):
            return [number(m.value()) for m in read_partitions(self.broker, topic, (0,), count)]

        # Torn: the last batch loses its final bytes; it is dropped whole.
        self.broker.kill()
        seg = active_segment()
        os.truncate(seg, os.path.getsize(seg) - 5)
        self.broker.start()
        self.assertEqual(end_offsets(self.broker, topic, (0,)), {0: 90}, "the torn batch was not cut off")
        produce_batch(90)  # offsets continue from the cut
        self.assertEqual(numbers(100), list(range(100)))

        # Garbage: bytes after the last good batch are cut, nothing before them.
        self.broker.kill()
        with open(active_segment(), "ab") as f:
            f.write(random.Random(5).randbytes(37))
        self.broker.start()
        self.assertEqual(end_offsets(self.broker, topic, (0,)), {0: 100})
        produce_batch(100)
        self.assertEqual(numbers(110), list(range(110)))


class FrequentSnapshotCrashRecoveryTest(CrashRecoveryTest):
    """The same kills with producer-state snapshots every 50 ms instead of every 30 s."""
    BROKER_ARGS = ("--durability-producer-snapshot-interval-ms", "50")

    # These scenarios do not depend on producer snapshots.
    test_acknowledged_commits_survive_sigkill_also_after_compaction = None
    test_torn_or_garbage_tail_is_cut_at_restart = None


if __name__ == "__main__":
    harness.main()

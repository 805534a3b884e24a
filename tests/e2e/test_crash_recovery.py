#!/usr/bin/python3
"""Kill -9 in the middle of an idempotent acks=all stream.

A confluent-kafka producer sends numbered records; the broker is SIGKILLed
twice while acknowledgements are flowing and restarted on the same data
directory and port. The producer keeps going (librdkafka retries what was in
flight). Afterwards every acknowledged record must be in the log exactly once,
at the offset its acknowledgement named, and each partition must hold the
numbers in the order they were sent.
"""

import time

import harness
from confluent_util import CLIENT_TIMEOUT_S, Producer, conf, create_topic, end_offsets, read_partitions

PARTITIONS = (0, 1, 2)
TOTAL = 20000
KILL_AFTER_ACKS = (3000, 9000)
# Records queued while the broker is dead, before it comes back.
PRODUCED_WHILE_DOWN = 1000
WINDOW = 2000


class CrashRecoveryTest(harness.BrokerTestCase):

    def test_sigkill_mid_stream_keeps_every_acknowledged_record_once_in_order(self):
        topic = self.unique("crash")
        create_topic(self.broker, topic, len(PARTITIONS))
        acked = []   # (partition, offset, number)
        failed = []  # (number, error)

        def on_delivery(err, msg):
            if err is None:
                acked.append((msg.partition(), msg.offset(), int(msg.value())))
            else:
                failed.append((int(msg.value()), str(err)))

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
                    producer.produce(topic, value=str(i).encode(), partition=PARTITIONS[i % len(PARTITIONS)],
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
                acked_before_kill = len(acked)
                # Keep producing into the client's queue while nothing listens.
                for _ in range(PRODUCED_WHILE_DOWN):
                    if i < TOTAL:
                        producer.produce(topic, value=str(i).encode(), partition=PARTITIONS[i % len(PARTITIONS)],
                                         on_delivery=on_delivery)
                        i += 1
                producer.poll(0.3)
                self.broker.start()
                self.assertGreater(acked_before_kill, 0)
        self.assertEqual(kills, [], "the stream ended before every planned kill")
        self.assertEqual(producer.flush(CLIENT_TIMEOUT_S), 0, "records still undelivered after the timeout")

        ends = end_offsets(self.broker, topic, PARTITIONS)
        log = read_partitions(self.broker, topic, PARTITIONS, sum(ends.values()))
        stored = {p: [(m.offset(), int(m.value())) for m in log if m.partition() == p] for p in PARTITIONS}

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


if __name__ == "__main__":
    harness.main()

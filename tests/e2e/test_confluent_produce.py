#!/usr/bin/python3
"""confluent-kafka producers against Wharf: every compression codec, and idempotence.

Wharf stores batches as the producer sent them, so a consumer has to be able
to decompress whatever any producer chose, batches of different codecs mixed
in one partition included.
"""

import random

import harness
from confluent_util import Producer, DeliveryLog, conf, create_topic, end_offsets, flush, read_partitions

CODECS = ("none", "gzip", "snappy", "lz4", "zstd")


def value_for(rng, codec, i):
    # Some values compress well, some are incompressible, one is large (its
    # own batch); all differ so a mix-up between records would show.
    if i == 7:
        return (f"large {codec} ".encode() * 30000)[:300_000]
    if i % 3 == 0:
        return rng.randbytes(rng.randrange(0, 2000))
    return f"{codec} record {i} ".encode() * rng.randrange(1, 50)


class ConfluentProduceTest(harness.BrokerTestCase):

    def test_every_compression_codec_reads_back_intact(self):
        topic = self.unique("codecs")
        partitions = (0, 1)
        create_topic(self.broker, topic, len(partitions))
        rng = random.Random(1)
        expected = {}  # (partition, offset) -> (key, value, headers)
        for codec in CODECS:
            log = DeliveryLog()
            # linger lets many records share a batch, so compression has something to chew on.
            p = Producer(conf(self.broker, compression_type=codec, linger_ms=20, acks="all"))
            n = 300
            headers = {}  # delivery reports carry no headers, so remember them by key
            for i in range(n):
                key = f"{codec}-{i}".encode()
                headers[key] = [("codec", codec.encode()), ("i", str(i).encode())]
                p.produce(topic, key=key, value=value_for(rng, codec, i), headers=headers[key],
                          partition=partitions[i % len(partitions)], on_delivery=log)
                p.poll(0)
            flush(p, n, log, self)
            for m in log.delivered:
                expected[(m.partition(), m.offset())] = (m.key(), m.value(), headers[m.key()])

        # One consumer reads every codec back, batches of all five mixed in each partition.
        got = read_partitions(self.broker, topic, partitions, len(expected), check_crcs=True)
        actual = {(m.partition(), m.offset()): (m.key(), m.value(), m.headers()) for m in got}
        self.assertEqual(len(got), len(actual), "a record was read twice")
        self.assertEqual(sorted(actual), sorted(expected), "offsets read differ from offsets acknowledged")
        for pos, want in expected.items():
            self.assertEqual(actual[pos], want, f"record at partition/offset {pos} differs")
        self.assertEqual(sum(end_offsets(self.broker, topic, partitions).values()), len(expected),
                         "the log holds records nobody acknowledged")

    def test_idempotent_producer_writes_each_record_once_in_order(self):
        topic = self.unique("idempotent")
        partitions = (0, 1, 2)
        create_topic(self.broker, topic, len(partitions))
        per_partition = {p: [] for p in partitions}
        total = 0
        # Two producers one after the other: each gets its own producer id, and
        # the second one's sequences start again at 0 on partitions that
        # already hold the first one's records.
        for round_ in range(2):
            log = DeliveryLog()
            p = Producer(conf(self.broker, enable_idempotence=True, linger_ms=5,
                              max_in_flight_requests_per_connection=5, batch_num_messages=50))
            n = 1500
            for i in range(n):
                part = partitions[i % len(partitions)]
                value = f"round {round_} record {i}".encode()
                p.produce(topic, value=value, key=str(i).encode(), partition=part, on_delivery=log)
                per_partition[part].append(value)
                p.poll(0)
            flush(p, n, log, self)
            total += n

        got = read_partitions(self.broker, topic, partitions, total)
        for part in partitions:
            with self.subTest(partition=part):
                msgs = [m for m in got if m.partition() == part]
                self.assertEqual([m.offset() for m in msgs], list(range(len(per_partition[part]))))
                self.assertEqual([m.value() for m in msgs], per_partition[part])
        self.assertEqual(end_offsets(self.broker, topic, partitions),
                         {p: len(per_partition[p]) for p in partitions})


if __name__ == "__main__":
    harness.main()

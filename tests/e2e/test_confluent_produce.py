#!/usr/bin/python3
"""confluent-kafka producers against Wharf: every compression codec, and idempotence.

Wharf stores batches as the producer sent them, so a consumer has to be able
to decompress whatever any producer chose, batches of different codecs mixed
in one partition included.
"""

import logging
import random

from kafka import KafkaConsumer, TopicPartition

import harness
from confluent_util import (KafkaError, Producer, DeliveryLog, conf, create_topic, end_offsets, flush,
                            read_partitions)

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

        # A consumer whose fetch limits are smaller than most batches still
        # gets everything: the broker returns at least the first batch (KIP-74).
        # kafka-python here, so a second decompressor reads the same bytes.
        tps = [TopicPartition(topic, p) for p in partitions]
        small = KafkaConsumer(bootstrap_servers=self.broker.bootstrap, max_partition_fetch_bytes=512,
                              fetch_max_bytes=1024, enable_auto_commit=False, check_crcs=True)
        try:
            small.assign(tps)
            small.seek_to_beginning()
            got = {}
            while len(got) < len(expected):
                batch = small.poll(timeout_ms=5000)
                self.assertTrue(batch, f"tiny-fetch consumer stuck after {len(got)} of {len(expected)} records")
                for records in batch.values():
                    for r in records:
                        got[(r.partition, r.offset)] = (r.key, r.value, [(k, v) for k, v in r.headers])
            self.assertEqual(got, expected)
        finally:
            small.close()

    def test_deeply_pipelined_producer_gets_every_record_acknowledged_once(self):
        # Without idempotence librdkafka keeps up to a million requests in
        # flight per connection; one record per batch makes thousands of
        # Produce requests, far past the broker's in-flight limit (64), where
        # it stops reading. The connection must survive that, or the client
        # reconnects and resends, writing records twice.
        topic = self.unique("pipelined")
        create_topic(self.broker, topic, 1)
        log = DeliveryLog()
        p = Producer(conf(self.broker, acks="all", linger_ms=0, batch_num_messages=1,
                          max_in_flight_requests_per_connection=1_000_000))
        n = 3000
        for i in range(n):
            p.produce(topic, value=f"{i}".encode(), partition=0, on_delivery=log)
        flush(p, n, log, self)
        self.assertEqual(sorted(m.offset() for m in log.delivered), list(range(n)))
        self.assertEqual(end_offsets(self.broker, topic, (0,)), {0: n}, "records were written more than once")
        got = read_partitions(self.broker, topic, (0,), n)
        self.assertEqual(sorted(int(m.value()) for m in got), list(range(n)))

    def test_record_batch_over_max_message_bytes_is_refused_and_the_producer_goes_on(self):
        topic = self.unique("too-large")
        create_topic(self.broker, topic, 1)
        log = DeliveryLog()
        # The client's own limit is raised so the oversized batch reaches the broker.
        p = Producer(conf(self.broker, message_max_bytes=4_000_000, acks="all", linger_ms=0))
        p.produce(topic, value=b"before")
        p.flush(30)
        p.produce(topic, value=random.Random(3).randbytes(2_000_000), on_delivery=log)
        p.flush(30)
        self.assertEqual([e.code() for _, e in log.failed], [KafkaError.MSG_SIZE_TOO_LARGE])
        p.produce(topic, value=b"after", on_delivery=log)
        p.flush(30)
        self.assertEqual([m.value() for m in log.delivered], [b"after"])
        self.assertEqual([m.value() for m in read_partitions(self.broker, topic, (0,), 2)], [b"before", b"after"])
        self.assertEqual(end_offsets(self.broker, topic, (0,)), {0: 2})

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
    logging.basicConfig(level=logging.ERROR)
    harness.main()

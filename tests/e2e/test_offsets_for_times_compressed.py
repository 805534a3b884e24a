#!/usr/bin/python3
"""offsets_for_times (ListOffsets by timestamp) on compressed batches, with
confluent-kafka (librdkafka) and kafka-python.

A consumer seeking to a time must land on the first record whose timestamp is
>= that time, even when that record sits in the middle of a compressed batch.
Wharf stores batches as the producer compressed them, so it has to look inside
the batch to answer. For each codec (gzip, snappy, lz4, zstd) and client the
test produces records with explicit, distinct timestamps and a long linger so
they land in one compressed batch (checked on disk, else the test would prove
nothing), then asks offsets_for_times for times before, inside and after it,
and seeks there. The two clients frame snappy differently (raw block vs the
xerial stream) and zstd differently (with and without a content size).

Standalone: starts its own broker (WHARF_BIN, default build/wharf) on an
ephemeral port in a temporary data directory, stops it with SIGTERM.
Run: /usr/bin/python3 tests/e2e/test_offsets_for_times_compressed.py
"""

import glob
import os
import re
import shutil
import signal
import struct
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

import kafka
from confluent_kafka import Consumer, Producer, TopicPartition, TIMESTAMP_CREATE_TIME, libversion
from confluent_kafka.admin import AdminClient, NewTopic

ROOT = Path(__file__).resolve().parents[2]
WHARF_BIN = os.environ.get("WHARF_BIN", str(ROOT / "build" / "wharf"))

CODECS = {"gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}  # compression.type -> batch attribute bits
RECORDS = 10
STEP_MS = 10


class Broker:
    """One wharf process on 127.0.0.1 with an ephemeral Kafka port."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="wharf_e2e_oft_")
        self.data_dir = os.path.join(self.dir, "data")
        self.log_path = os.path.join(self.dir, "wharf.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [WHARF_BIN, "serve", "--data-dir", self.data_dir, "--kafka-listen", "127.0.0.1:0",
             "--amqp-listen", "127.0.0.1:0", "--stomp-listen", "127.0.0.1:0", "--stomp-ws-listen", "127.0.0.1:0"],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.port = self._wait_for_port(timeout=20)
        self.bootstrap = f"127.0.0.1:{self.port}"

    def _wait_for_port(self, timeout):
        # main logs "kafka listening on HOST:PORT (port N)" with the bound port.
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with open(self.log_path) as f:
                m = re.search(r"kafka listening on \S+ \(port (\d+)\)", f.read())
            if m:
                return int(m.group(1))
            if self.proc.poll() is not None:
                raise RuntimeError(f"wharf exited with {self.proc.returncode}:\n{self.output()}")
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"wharf did not report its port within {timeout}s:\n{self.output()}")

    def output(self):
        with open(self.log_path) as f:
            return f.read()

    def stop(self):
        """SIGTERM, as an operator would; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def stored_batches(data_dir, topic):
    """(base_offset, attributes, records_count) of every batch on disk for partition 0."""
    out = []
    for seg in sorted(glob.glob(os.path.join(data_dir, f"{topic}-0", "*.log"))):
        data = Path(seg).read_bytes()
        pos = 0
        while pos + 61 <= len(data):
            base_offset, batch_length = struct.unpack_from(">qi", data, pos)
            if batch_length <= 0:
                break  # preallocated tail
            attributes, = struct.unpack_from(">h", data, pos + 21)
            records_count, = struct.unpack_from(">i", data, pos + 57)
            out.append((base_offset, attributes, records_count))
            pos += 12 + batch_length
    return out


BROKER = None
ADMIN = None


def setUpModule():
    global BROKER, ADMIN
    BROKER = Broker()
    ADMIN = AdminClient({"bootstrap.servers": BROKER.bootstrap})


def tearDownModule():
    global ADMIN
    ADMIN = None
    code = BROKER.stop()
    if code != 0:
        print(BROKER.output())
    BROKER.cleanup()
    assert code == 0, f"wharf exited with {code} on SIGTERM"


def create_topic(topic):
    for fut in ADMIN.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)]).values():
        fut.result(timeout=10)


def make_records(base_ts):
    """(key, value, timestamp) of RECORDS records, STEP_MS apart. Repetitive
    values so compression pays off: both clients send a batch uncompressed
    when compressing would not shrink it."""
    return [(f"k{i}".encode(), (f"record {i} " + "the quick brown fox " * 10).encode(), base_ts + i * STEP_MS)
            for i in range(RECORDS)]


class OffsetsForTimesCase:
    """The checks, run once per client. Subclasses supply the client calls."""

    client = None

    def produce(self, topic, codec, records):
        raise NotImplementedError

    def offset_for(self, topic, ts):
        """The offset offsets_for_times answers, -1 for none."""
        raise NotImplementedError

    def first_record_from(self, topic, offset):
        """(offset, key, timestamp) of the first record read after seeking to offset."""
        raise NotImplementedError

    def check_codec(self, codec):
        topic = f"oft-{self.client}-{codec}"
        base_ts = int(time.time() * 1000) - 60_000
        create_topic(topic)
        self.produce(topic, codec, make_records(base_ts))

        # The records really are one compressed batch on disk, else this test
        # would prove nothing about compressed batches.
        batches = stored_batches(BROKER.data_dir, topic)
        self.check_stored(codec, batches)
        self.assertEqual([(b[0], b[1] & 7, b[2]) for b in batches], [(0, CODECS[codec], RECORDS)],
                         f"expected one {codec} batch of {RECORDS} records, found {batches}")

        cases = [
            ("before the batch", base_ts - 5_000, 0),
            ("the first record", base_ts, 0),
            ("exactly record 3", base_ts + 3 * STEP_MS, 3),
            ("between records 5 and 6", base_ts + 5 * STEP_MS + 1, 6),
            ("the last record", base_ts + (RECORDS - 1) * STEP_MS, RECORDS - 1),
            ("after the last record", base_ts + RECORDS * STEP_MS, -1),
        ]
        for what, ts, want in cases:
            with self.subTest(codec=codec, target=what):
                self.assertEqual(self.offset_for(topic, ts), want)

        # Seeking there, as a user does, yields the record with that time.
        start = self.offset_for(topic, base_ts + 6 * STEP_MS - 3)
        self.assertEqual(self.first_record_from(topic, start), (6, b"k6", base_ts + 6 * STEP_MS))

    def check_stored(self, codec, batches):
        pass

    def test_gzip(self):
        self.check_codec("gzip")

    def test_snappy(self):
        self.check_codec("snappy")

    def test_lz4(self):
        self.check_codec("lz4")

    def test_zstd(self):
        self.check_codec("zstd")


class ConfluentKafka(OffsetsForTimesCase, unittest.TestCase):
    """librdkafka: raw snappy blocks, LZ4 frames, zstd frames with a content size."""

    client = "confluent"

    def produce(self, topic, codec, records):
        producer = Producer({
            "bootstrap.servers": BROKER.bootstrap,
            "compression.type": codec,
            "linger.ms": 1000,          # hold the records so they share one batch
            "batch.num.messages": 1000,
            "enable.idempotence": True,
        })
        errors = []
        for key, value, ts in records:
            producer.produce(topic, value=value, key=key, partition=0, timestamp=ts,
                             on_delivery=lambda err, msg: err and errors.append(err))
        self.assertEqual(producer.flush(15), 0, "records not delivered")
        self.assertEqual(errors, [])

    def check_stored(self, codec, batches):
        # librdkafka before 2.11.1 compresses with gzip, snappy and lz4 only
        # for brokers that list Produce v0, which Wharf does for that reason.
        self.assertTrue(batches and all(b[1] & 7 != 0 for b in batches),
                        f"librdkafka {libversion()[0]} stored {codec} batches uncompressed")

    def consumer(self):
        return Consumer({"bootstrap.servers": BROKER.bootstrap, "group.id": "oft-confluent",
                         "enable.auto.commit": False})

    def offset_for(self, topic, ts):
        c = self.consumer()
        try:
            [tp] = c.offsets_for_times([TopicPartition(topic, 0, ts)], timeout=10)
            self.assertIsNone(tp.error)
            return tp.offset
        finally:
            c.close()

    def first_record_from(self, topic, offset):
        c = self.consumer()
        try:
            c.assign([TopicPartition(topic, 0, offset)])
            msg = None
            deadline = time.monotonic() + 10
            while msg is None and time.monotonic() < deadline:
                msg = c.poll(1)
            self.assertIsNotNone(msg, "no record after seeking")
            self.assertIsNone(msg.error())
            ts_type, ts = msg.timestamp()
            self.assertEqual(ts_type, TIMESTAMP_CREATE_TIME)
            return msg.offset(), msg.key(), ts
        finally:
            c.close()


class KafkaPython(OffsetsForTimesCase, unittest.TestCase):
    """kafka-python: xerial snappy-java framing (like the Java client), LZ4
    frames, zstd frames without a content size."""

    client = "kafkapython"

    def produce(self, topic, codec, records):
        producer = kafka.KafkaProducer(bootstrap_servers=BROKER.bootstrap, compression_type=codec,
                                       linger_ms=1000, batch_size=1 << 20)
        try:
            futures = [producer.send(topic, value=value, key=key, partition=0, timestamp_ms=ts)
                       for key, value, ts in records]
            producer.flush(15)
            for f in futures:
                f.get(timeout=10)
        finally:
            producer.close(5)

    def offset_for(self, topic, ts):
        c = kafka.KafkaConsumer(bootstrap_servers=BROKER.bootstrap, enable_auto_commit=False)
        try:
            tp = kafka.TopicPartition(topic, 0)
            found = c.offsets_for_times({tp: ts})[tp]
            return -1 if found is None else found.offset
        finally:
            c.close()

    def first_record_from(self, topic, offset):
        c = kafka.KafkaConsumer(bootstrap_servers=BROKER.bootstrap, enable_auto_commit=False)
        try:
            tp = kafka.TopicPartition(topic, 0)
            c.assign([tp])
            c.seek(tp, offset)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                for msgs in c.poll(timeout_ms=1000, max_records=1).values():
                    m = msgs[0]
                    self.assertEqual(m.timestamp_type, 0)  # CreateTime
                    return m.offset, m.key, m.timestamp
            self.fail("no record after seeking")
        finally:
            c.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)

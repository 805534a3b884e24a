#!/usr/bin/python3
"""Bad bytes on raw sockets close that one connection and nothing else.

Each case sends something no correct client sends: garbage, a frame cut
short, a size prefix far beyond socket.request.max.bytes, an unknown API key.
The broker must hang up on that connection (or answer with the protocol's
error) while a raw connection that is half way through sending a good request,
and a confluent-kafka producer connected the whole time, carry on unharmed.
Afterwards fresh clients of two different libraries still produce and consume.
"""

import logging
import random
import struct

from kafka import KafkaConsumer, KafkaProducer

import harness
import kafka_wire as wire
from confluent_util import DeliveryLog, Producer, conf, create_topic, flush, read_partitions

UNSUPPORTED_VERSION = 35


def garbage_text(s):
    # An HTTP request: its first four bytes read as a ~1.2 GB size prefix.
    s.sendall(b"GET / HTTP/1.1\r\nHost: wharf\r\n\r\n")


def garbage_framed(s):
    # A correctly sized frame full of noise (fixed seed: the same noise every run).
    s.sendall(wire.frame(random.Random(7).randbytes(200)))


def garbage_body(s):
    # A good Produce v9 header followed by a body that cannot be decoded (the
    # first compact string claims an impossible length).
    s.sendall(wire.frame(wire.header(wire.API_PRODUCE, 9, 1, flexible=True) + b"\xff" * 64))


def truncated_then_closed(s):
    # The size prefix promises 1000 bytes; 40 arrive, then the client stops sending.
    s.sendall(struct.pack(">i", 1000) + wire.header(wire.API_METADATA, 1, 1) + b"\x00" * 20)
    s.shutdown(2 - 1)  # SHUT_WR: EOF in the middle of the frame


def oversized_prefix(s):
    s.sendall(struct.pack(">I", 0x7FFFFFFF) + b"\x00" * 64)


def negative_prefix(s):
    s.sendall(struct.pack(">i", -1) + b"\x00" * 64)


def too_small_prefix(s):
    # Smaller than any request header.
    s.sendall(struct.pack(">i", 2) + b"\x00\x12")


def unknown_api_key(s):
    s.sendall(wire.frame(wire.header(9999, 0, 42)))


def unsupported_metadata_version(s):
    s.sendall(wire.frame(wire.header(wire.API_METADATA, 99, 43, flexible=True)))


BAD_CASES = (garbage_text, garbage_framed, garbage_body, truncated_then_closed, oversized_prefix,
             negative_prefix, too_small_prefix, unknown_api_key, unsupported_metadata_version)


class BadInputTest(harness.BrokerTestCase):

    def test_bad_connections_are_closed_and_good_clients_are_unaffected(self):
        topic = self.unique("bad-input")
        create_topic(self.broker, topic, 2)
        log = DeliveryLog()
        good = Producer(conf(self.broker, acks="all"))
        produced = 0

        def produce_one(label):
            nonlocal produced
            good.produce(topic, value=label.encode(), partition=produced % 2, on_delivery=log)
            produced += 1
            flush(good, produced, log, self)

        produce_one("before any bad input")
        for correlation_id, case in enumerate(BAD_CASES, start=100):
            with self.subTest(case=case.__name__):
                # A good raw client, served once and now half way through its next request.
                mid = wire.connect(self.broker.port)
                mid.sendall(wire.api_versions_v0(correlation_id))
                cid, err, _ = wire.parse_api_versions_v0(wire.read_frame(mid))
                self.assertEqual((cid, err), (correlation_id, 0))
                second = wire.api_versions_v0(correlation_id + 1000)
                mid.sendall(second[:7])

                bad = wire.connect(self.broker.port)
                try:
                    case(bad)
                    self.assertTrue(wire.closed_by_peer(bad), "the broker left the bad connection open")
                finally:
                    bad.close()

                # The half-sent request completes and is answered as if nothing happened.
                mid.sendall(second[7:])
                cid, err, apis = wire.parse_api_versions_v0(wire.read_frame(mid))
                self.assertEqual((cid, err), (correlation_id + 1000, 0))
                self.assertIn(wire.API_VERSIONS, apis)
                mid.close()

                # The client connected all along still gets its records acknowledged.
                produce_one(f"after {case.__name__}")
                self.assertTrue(self.broker.running(), "wharf died")

        got = read_partitions(self.broker, topic, (0, 1), produced)
        self.assertEqual(sorted(m.value() for m in got), sorted(m.value() for m in log.delivered))
        self.assert_fresh_kafka_python_client_works()

    def test_stalled_and_flooding_connections_do_not_block_others(self):
        # Many bad connections at once, plus some that stop mid-frame and just sit there.
        stalled = []
        for _ in range(10):
            s = wire.connect(self.broker.port)
            s.sendall(struct.pack(">i", 500) + wire.header(wire.API_METADATA, 1, 1))
            stalled.append(s)
        flood = [wire.connect(self.broker.port) for _ in range(50)]
        try:
            for s in flood:
                s.sendall(struct.pack(">I", 0x7FFFFFFF) + b"x" * 16)
            for s in flood:
                self.assertTrue(wire.closed_by_peer(s), "a flooding connection stayed open")
            self.assert_fresh_kafka_python_client_works()
            # The stalled ones are neither answered nor holding anybody up.
            for s in stalled:
                s.settimeout(0.05)
                self.assertFalse(wire.closed_by_peer(s), "a slow client was dropped although it broke no rule")
        finally:
            for s in flood + stalled:
                s.close()
        self.assert_fresh_kafka_python_client_works()

    def test_unsupported_api_versions_version_gets_the_protocols_error(self):
        # KIP-511: a too-new ApiVersions is answered in v0 with UNSUPPORTED_VERSION
        # and the supported range, so the client can retry; the connection stays up.
        s = wire.connect(self.broker.port)
        try:
            s.sendall(wire.frame(wire.header(wire.API_VERSIONS, 99, 5, flexible=True) + b"\x00" * 3))
            cid, err, apis = wire.parse_api_versions_v0(wire.read_frame(s))
            self.assertEqual((cid, err), (5, UNSUPPORTED_VERSION))
            self.assertIn(wire.API_VERSIONS, apis)
            s.sendall(wire.api_versions_v0(6))
            cid, err, apis = wire.parse_api_versions_v0(wire.read_frame(s))
            self.assertEqual((cid, err), (6, 0))
            self.assertIn(wire.API_PRODUCE, apis)
        finally:
            s.close()

    def assert_fresh_kafka_python_client_works(self):
        # A different client library than the one used during the attacks.
        topic = self.unique("after-bad-input")
        producer = KafkaProducer(bootstrap_servers=self.broker.bootstrap, acks="all")
        try:
            values = [f"fresh {i}".encode() for i in range(5)]
            for v in values:
                producer.send(topic, value=v).get(timeout=30)
        finally:
            producer.close(30)
        consumer = KafkaConsumer(topic, bootstrap_servers=self.broker.bootstrap, auto_offset_reset="earliest",
                                 consumer_timeout_ms=30000)
        try:
            got = []
            for r in consumer:
                got.append(r.value)
                if len(got) == len(values):
                    break
            self.assertEqual(got, values)
        finally:
            consumer.close()


if __name__ == "__main__":
    logging.basicConfig(level=logging.ERROR)
    harness.main()

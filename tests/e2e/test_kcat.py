#!/usr/bin/python3
"""kcat (librdkafka's command-line client) against Wharf.

What goes in with kcat -P must come back out of kcat -C byte for byte:
keys, values, headers (in order, duplicates kept), the partition it was sent
to, and offsets 0, 1, 2, ... in the order sent.
"""

import json
import os
import subprocess

import harness

PARTITIONS = 3
KCAT_TIMEOUT_S = 60


class KcatTest(harness.BrokerTestCase):
    # Auto-created topics get several partitions so kcat alone can make a
    # multi-partition topic (it has no create-topic command).
    BROKER_ARGS = ("--topics-default-partitions", str(PARTITIONS), "--groups-initial-rebalance-delay-ms", "100")

    def kcat(self, *args, stdin=b""):
        cmd = ["kcat", "-b", self.broker.bootstrap, "-q"] + list(args)
        res = subprocess.run(cmd, input=stdin, capture_output=True, timeout=KCAT_TIMEOUT_S)
        self.assertEqual(res.returncode, 0, f"{' '.join(cmd)} failed: {res.stderr.decode(errors='replace')}")
        return res.stdout

    def produce(self, topic, partition, pairs, headers):
        """One kcat -P run: `pairs` as key<TAB>value lines, every message carrying `headers`."""
        lines = "".join(f"{k}\t{v}\n" for k, v in pairs).encode()
        args = ["-P", "-t", topic, "-p", str(partition), "-K", "\t",
                # Idempotence keeps the order even if librdkafka ever retried.
                "-X", "enable.idempotence=true"]
        for name, value in headers:
            args += ["-H", f"{name}={value}"]
        self.kcat(*args, stdin=lines)

    def consume_json(self, topic, *extra):
        out = self.kcat("-C", "-t", topic, "-e", "-J", *extra)
        return [json.loads(line) for line in out.decode().splitlines() if line.strip()]

    def test_keys_values_headers_partitions_and_offsets_round_trip(self):
        topic = self.unique("kcat")
        sent = {}  # partition -> list of (key, value, headers)
        for p in range(PARTITIONS):
            headers = [("origin", f"partition-{p}"), ("dup", "first"), ("dup", "second")]
            pairs = [(f"key-{p}-{i}", f"value {i} of partition {p} \u00e9\u4e2d") for i in range(20 + p)]
            self.produce(topic, p, pairs, headers)
            # A second run adds to the same partition with other headers; offsets must continue.
            more = [(f"late-{p}-{i}", f"late value {i}") for i in range(3)]
            self.produce(topic, p, more, [("origin", "second-run")])
            sent[p] = [(k, v, headers) for k, v in pairs] + [(k, v, [("origin", "second-run")]) for k, v in more]

        got = {p: [] for p in range(PARTITIONS)}
        for m in self.consume_json(topic, "-o", "beginning"):
            self.assertEqual(m["topic"], topic)
            got[m["partition"]].append(m)

        for p in range(PARTITIONS):
            with self.subTest(partition=p):
                self.assertEqual([m["offset"] for m in got[p]], list(range(len(sent[p]))),
                                 "offsets are not 0..n-1 in order")
                self.assertEqual([m["key"] for m in got[p]], [k for k, _, _ in sent[p]])
                self.assertEqual([m["payload"] for m in got[p]], [v for _, v, _ in sent[p]])
                # kcat -J lists headers flat: [name, value, name, value, ...].
                self.assertEqual([m["headers"] for m in got[p]],
                                 [[x for h in hs for x in h] for _, _, hs in sent[p]])

        # Reading one partition from the middle returns exactly the tail.
        tail = self.consume_json(topic, "-p", "1", "-o", "5")
        self.assertEqual([(m["offset"], m["key"]) for m in tail],
                         [(i, k) for i, (k, _, _) in enumerate(sent[1])][5:])

        # Negative offsets count back from the end: the last two messages.
        last = self.consume_json(topic, "-p", "2", "-o", "-2")
        self.assertEqual([m["key"] for m in last], [k for k, _, _ in sent[2][-2:]])

    def test_binary_value_from_file_is_stored_as_sent(self):
        topic = self.unique("kcat-bin")
        # Every byte value, NULs and newlines included, as one message.
        blob = bytes(range(256)) * 64
        path = os.path.join(self.broker.root, "blob.bin")
        with open(path, "wb") as f:
            f.write(blob)
        self.kcat("-P", "-t", topic, "-p", "2", "-k", "bin-key", path)
        self.kcat("-P", "-t", topic, "-p", "2", "-k", "text-key", stdin=b"after the blob\n")

        # %s prints the raw value; reading exactly one message avoids delimiters.
        value = self.kcat("-C", "-t", topic, "-p", "2", "-o", "0", "-c", "1", "-f", "%s")
        self.assertEqual(value, blob)
        # -J would print the blob unescaped, so list offsets and keys by format.
        meta = self.kcat("-C", "-t", topic, "-p", "2", "-o", "beginning", "-e", "-f", "%o %k %S\n")
        self.assertEqual(meta.decode().splitlines(), ["0 bin-key %d" % len(blob), "1 text-key 14"])
        self.assertEqual(self.kcat("-C", "-t", topic, "-p", "2", "-o", "1", "-c", "1", "-f", "%s"), b"after the blob")
        # The other partitions of the topic stayed empty.
        for p in (0, 1):
            self.assertEqual(self.consume_json(topic, "-p", str(p), "-o", "beginning"), [])

    def test_balanced_consumer_group_resumes_where_it_left_off(self):
        # kcat -G joins a group, reads to the end of every partition (-e),
        # commits on exit; the next run of the same group starts after that.
        topic = self.unique("kcat-group")
        group = self.unique("kcat-g")

        def consume_group():
            out = self.kcat("-G", group, topic, "-e", "-X", "auto.offset.reset=earliest", "-f", "%p %o %s\n")
            return sorted(tuple(line.split(" ", 2)) for line in out.decode().splitlines())

        for p in range(PARTITIONS):
            self.produce(topic, p, [(f"k{p}", f"first {p}")], [])
        self.assertEqual(consume_group(), [(str(p), "0", f"first {p}") for p in range(PARTITIONS)])
        for p in range(PARTITIONS):
            self.produce(topic, p, [(f"k{p}", f"second {p}")], [])
        self.assertEqual(consume_group(), [(str(p), "1", f"second {p}") for p in range(PARTITIONS)])
        self.assertEqual(consume_group(), [], "a third run got records again")


if __name__ == "__main__":
    harness.main()

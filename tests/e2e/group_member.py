#!/usr/bin/python3
"""A consumer-group member in its own process, so a test can kill -9 it.

Usage: group_member.py BOOTSTRAP GROUP TOPIC

Reports on stdout, one JSON object per line:
  {"assigned": [partitions]}                 after each rebalance callback
  {"got": [[partition, offset, value], ...]} after each batch, once it is committed

A batch is committed synchronously before it is reported, so everything this
process reported is committed; killing it between the two only means the test
never hears of a batch that is committed, which it treats as lost.
"""

import json
import sys

from confluent_kafka import Consumer, KafkaException


def say(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main():
    bootstrap, group, topic = sys.argv[1:4]
    c = Consumer({"bootstrap.servers": bootstrap, "broker.address.family": "v4", "group.id": group,
                  "client.id": "member-process", "auto.offset.reset": "earliest", "enable.auto.commit": False,
                  "session.timeout.ms": 6000, "heartbeat.interval.ms": 500})

    def on_assign(consumer, parts):
        # Eager protocol: `parts` is the whole new assignment.
        say({"assigned": sorted(tp.partition for tp in parts)})

    def on_revoke(consumer, parts):
        say({"assigned": []})

    c.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke)
    while True:  # until killed
        msgs = c.consume(num_messages=500, timeout=0.1)
        for m in msgs:
            if m.error():
                raise KafkaException(m.error())
        if msgs:
            c.commit(asynchronous=False)
            say({"got": [[m.partition(), m.offset(), m.value().decode()] for m in msgs]})


if __name__ == "__main__":
    main()

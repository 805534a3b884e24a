"""Publisher confirms seen by an asynchronous client (pika SelectConnection
only, no blocking calls): every publish is acked once, tags increase,
unroutable mandatory messages come back before their ack, and a full
reject-publish queue nacks."""

import unittest

import pika

from harness import BrokerTest
from select_session import SelectSession


class ConfirmTest(BrokerTest):
    def session(self):
        return SelectSession(self.broker.params())

    def consume(self, s, queue, count, then):
        """Consumes `count` messages from queue with auto-ack, then calls then(bodies)."""
        bodies = []

        def on_message(ch, method, props, body):
            bodies.append(body.decode())
            if len(bodies) == count:
                ch.basic_cancel(method.consumer_tag, callback=s.step(lambda _f: then(bodies)))

        s.ch.basic_consume(queue, s.step(on_message), auto_ack=True)

    def test_every_publish_is_acked_once_with_increasing_tags(self):
        q = self.uniq("q")
        n = 200
        s = self.session()
        received = []

        def declared(_frame):
            for i in range(n):
                s.publish("", q, f"m{i}".encode(), pika.BasicProperties(delivery_mode=2))
            s.when_settled(n, lambda: self.consume(s, q, n, done))

        def done(bodies):
            received.extend(bodies)
            s.finish()

        s.run(lambda s: s.ch.queue_declare(q, durable=True, callback=s.step(declared)))

        self.assertEqual(s.settled, {tag: "ack" for tag in range(1, n + 1)})
        tags = [e[1] for e in s.events if e[0] in ("ack", "nack")]
        self.assertEqual(tags, sorted(set(tags)), "confirm tags go up, each at most once")
        self.assertEqual(received, [f"m{i}" for i in range(n)])

    def test_unroutable_mandatory_message_is_returned_before_its_ack(self):
        q = self.uniq("q")
        nowhere = self.uniq("nowhere")
        s = self.session()

        def declared(_frame):
            s.publish("", q, b"routed", mandatory=True)
            s.publish("", nowhere, b"returned", mandatory=True)
            s.publish("", nowhere, b"dropped")  # not mandatory: dropped silently, still acked
            s.publish("amq.direct", nowhere, b"returned too", mandatory=True)
            s.when_settled(4, lambda: self.consume(s, q, 1, done))

        def done(bodies):
            self.assertEqual(bodies, ["routed"])
            s.finish()

        s.run(lambda s: s.ch.queue_declare(q, callback=s.step(declared)))

        self.assertEqual(s.settled, {1: "ack", 2: "ack", 3: "ack", 4: "ack"})
        returns = [e for e in s.events if e[0] == "return"]
        self.assertEqual(returns, [("return", 312, "NO_ROUTE", nowhere, b"returned"),
                                   ("return", 312, "NO_ROUTE", nowhere, b"returned too")])
        for position, tag in ((s.events.index(returns[0]), 2), (s.events.index(returns[1]), 4)):
            first_ack = next(i for i, e in enumerate(s.events)
                             if e[0] == "ack" and (e[1] == tag or (e[2] and e[1] > tag)))
            self.assertLess(position, first_ack, f"basic.return of tag {tag} comes before its ack: {s.events}")

    def test_reject_publish_overflow_nacks_and_accepts_again_when_there_is_room(self):
        q = self.uniq("q")
        s = self.session()
        args = {"x-max-length": 2, "x-overflow": "reject-publish"}

        def declared(_frame):
            for i in range(4):
                s.publish("", q, f"m{i}".encode())
            s.when_settled(4, lambda: self.consume(s, q, 2, drained))

        def drained(bodies):
            self.assertEqual(bodies, ["m0", "m1"])
            s.publish("", q, b"m4")  # room again
            s.when_settled(5, lambda: self.consume(s, q, 1, done))

        def done(bodies):
            self.assertEqual(bodies, ["m4"])
            s.finish()

        s.run(lambda s: s.ch.queue_declare(q, arguments=args, callback=s.step(declared)))
        self.assertEqual(s.settled, {1: "ack", 2: "ack", 3: "nack", 4: "nack", 5: "ack"})

    def test_publish_to_a_missing_exchange_closes_the_channel(self):
        s = self.session()
        missing = self.uniq("x")

        s.channel_close_expected = True
        s.run(lambda s: s.publish(missing, "k", b"m"))
        closed = [e for e in s.events if e[0] == "channel-closed"]
        self.assertEqual(len(closed), 1)
        self.assertEqual(closed[0][1], 404)
        self.assertIn(missing, closed[0][2])
        self.assertEqual(s.settled, {})


if __name__ == "__main__":
    unittest.main()

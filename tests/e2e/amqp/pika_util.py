"""Small pika (BlockingConnection) helpers shared by the AMQP end-to-end tests.

Waiting is always "until a condition holds or a generous deadline passes";
the deadline only turns a hang into a readable failure, no test asserts on
how long something took.
"""

import time

import pika

WAIT_S = 10


def wait_until(predicate, what, conn=None, timeout=WAIT_S):
    """Polls predicate until truthy and returns its value; AssertionError naming `what` on timeout.

    With conn (one BlockingConnection or a list of them), their I/O is
    serviced between polls (consumer callbacks run, broker-sent methods are
    read) instead of sleeping.
    """
    conns = [] if conn is None else conn if isinstance(conn, (list, tuple)) else [conn]
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        for c in conns:
            c.process_data_events(time_limit=0.05 / len(conns))
        if not conns:
            time.sleep(0.05)


def settle(conn, seconds=0.3):
    """Services conn's I/O for a moment, so that anything the broker was about
    to send (a delivery that must NOT come) has the chance to arrive before the
    test checks that it did not."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        conn.process_data_events(time_limit=0.05)


def persistent(**kw):
    return pika.BasicProperties(delivery_mode=2, **kw)


def publish_all(ch, exchange, routing_key, bodies, properties=None, mandatory=False):
    """Publishes each body (str or bytes). On a confirm_delivery() channel each
    call returns once the broker confirmed it, so the messages are in their
    queues when this returns."""
    for body in bodies:
        ch.basic_publish(exchange, routing_key, body, properties=properties, mandatory=mandatory)


def get_all(ch, queue, auto_ack=True):
    """basic.get until get-empty; returns the list of (method, properties, body)."""
    out = []
    while True:
        method, props, body = ch.basic_get(queue, auto_ack=auto_ack)
        if method is None:
            return out
        out.append((method, props, body))


def get_bodies(ch, queue):
    """Bodies of every message in the queue, in delivery order, taken with auto-ack."""
    return [body.decode() for _, _, body in get_all(ch, queue)]


def get_one(ch, queue, what, conn=None, auto_ack=True):
    """basic.get until a message is there (e.g. one being dead-lettered); returns (method, properties, body)."""
    got = []

    def poll():
        m, p, b = ch.basic_get(queue, auto_ack=auto_ack)
        if m is not None:
            got.append((m, p, b))
        return bool(got)

    wait_until(poll, what, conn=conn)
    return got[0]


def queue_counts(ch, queue):
    """(message_count, consumer_count) from a passive queue.declare."""
    ok = ch.queue_declare(queue, passive=True).method
    return ok.message_count, ok.consumer_count


def _passive_declare_ok(conn, declare):
    """Runs a passive declare on a throwaway channel: a missing entity closes that channel with 404."""
    ch = conn.channel()
    try:
        declare(ch)
    except pika.exceptions.ChannelClosedByBroker as e:
        if e.reply_code != 404:
            raise
        return False
    ch.close()
    return True


def queue_exists(conn, queue):
    return _passive_declare_ok(conn, lambda ch: ch.queue_declare(queue, passive=True))


def exchange_exists(conn, exchange):
    return _passive_declare_ok(conn, lambda ch: ch.exchange_declare(exchange, passive=True))


class Inbox:
    """A consumer callback that records deliveries: (method, properties, body) in arrival order."""

    def __init__(self):
        self.messages = []

    def __call__(self, ch, method, props, body):
        self.messages.append((method, props, body))

    @property
    def bodies(self):
        return [b.decode() for _, _, b in self.messages]

    def __len__(self):
        return len(self.messages)


class DlxFixture:
    """Mixin for a BrokerTest: a confirming channel and a fanout dead-letter
    exchange whose one queue, self.dead, collects whatever is dead-lettered."""

    def setUp(self):
        super().setUp()
        self.conn = self.connect()
        self.ch = self.conn.channel()
        self.ch.confirm_delivery()
        self.dlx = self.uniq("dlx")
        self.ch.exchange_declare(self.dlx, "fanout")
        self.dead = self.uniq("dead")
        self.ch.queue_declare(self.dead)
        self.ch.queue_bind(self.dead, self.dlx)

    def dead_lettering_queue(self, prefix, **args):
        """A new queue dead-lettering to self.dlx, with extra queue arguments."""
        q = self.uniq(prefix)
        self.ch.queue_declare(q, arguments={"x-dead-letter-exchange": self.dlx, **args})
        return q

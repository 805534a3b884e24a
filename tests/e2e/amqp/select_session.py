"""A pika SelectConnection driven by callbacks, for tests of asynchronous clients.

SelectSession opens one connection and one channel in confirm mode and
records what the broker sends back, in arrival order, in `events`:
    ("ack" | "nack", delivery_tag, multiple)
    ("return", reply_code, reply_text, routing_key, body)
    ("channel-closed", reply_code, reply_text)
The test supplies the steps as callbacks; run() returns once one of them
calls finish(), and raises if the deadline passes first (which only turns a
hang into a failure with the events seen so far).
"""

import pika
import pika.exceptions
from pika.spec import Basic

DEADLINE_S = 15


class SelectSession:
    def __init__(self, params):
        self.params = params
        self.events = []
        self.settled = {}  # delivery tag -> "ack" | "nack", expanded from multiple=True
        self.ch = None
        self.conn = None
        self._published = 0
        self._waiters = []  # (number of tags, callback)
        self._failure = None
        self._finished = False
        # When True, the broker closing the channel ends the run normally
        # (the test then looks at the "channel-closed" event).
        self.channel_close_expected = False

    def run(self, on_ready):
        """on_ready(session) runs once the channel is open and in confirm mode."""
        self._on_ready = on_ready
        self.conn = pika.SelectConnection(self.params, on_open_callback=self._opened,
                                          on_open_error_callback=self._open_failed,
                                          on_close_callback=self._closed)
        self.conn.ioloop.call_later(DEADLINE_S, self._timed_out)
        self.conn.ioloop.start()
        self.conn.ioloop.close()
        if self._failure:
            raise AssertionError(self._failure)

    def publish(self, exchange, routing_key, body, properties=None, mandatory=False):
        """Publishes and returns the delivery tag the broker will confirm it with
        (confirm-mode tags count publishes on the channel from 1)."""
        self.ch.basic_publish(exchange, routing_key, body, properties=properties, mandatory=mandatory)
        self._published += 1
        return self._published

    def when_settled(self, count, then):
        """Calls then() once the first `count` publishes are all acked or nacked."""
        self._waiters.append((count, then))
        self._wake()

    def finish(self):
        self._finished = True
        if self.conn.is_open:
            self.conn.close()
        elif self.conn.is_closed:
            self.conn.ioloop.stop()

    def fail(self, why):
        self._failure = why
        self.finish()

    def step(self, fn):
        """Wraps a callback so an exception in it ends the run as a failure
        instead of being lost inside the I/O loop."""
        def wrapped(*args):
            try:
                return fn(*args)
            except Exception as e:  # noqa: BLE001 - reported by run()
                import traceback
                self.fail("".join(traceback.format_exception(e)))
        return wrapped

    # ---- pika callbacks ----

    def _opened(self, conn):
        conn.channel(on_open_callback=self._channel_open)

    def _open_failed(self, conn, err):
        self._failure = f"connection failed: {err!r}"
        conn.ioloop.stop()

    def _channel_open(self, ch):
        self.ch = ch
        ch.add_on_return_callback(self._returned)
        ch.add_on_close_callback(self._channel_closed)
        ch.confirm_delivery(self._confirmed, callback=self.step(lambda _frame: self._on_ready(self)))

    def _confirmed(self, frame):
        m = frame.method
        kind = "ack" if isinstance(m, Basic.Ack) else "nack"
        self.events.append((kind, m.delivery_tag, m.multiple))
        tags = range(1, m.delivery_tag + 1) if m.multiple else [m.delivery_tag]
        for tag in tags:
            if tag not in self.settled:
                self.settled[tag] = kind
        self._wake()

    def _returned(self, ch, method, props, body):
        self.events.append(("return", method.reply_code, method.reply_text, method.routing_key, body))

    def _channel_closed(self, ch, reason):
        if isinstance(reason, pika.exceptions.ChannelClosedByBroker):
            self.events.append(("channel-closed", reason.reply_code, reason.reply_text))
        if self.channel_close_expected:
            self.finish()
        elif not self._finished:
            self.fail(f"channel closed unexpectedly: {reason!r}; events: {self.events}")

    def _closed(self, conn, reason):
        if not self._finished and not self._failure:
            self._failure = f"connection closed unexpectedly: {reason!r}"
        conn.ioloop.stop()

    def _timed_out(self):
        if not self._finished:
            self.fail(f"no finish() within {DEADLINE_S}s; events so far: {self.events}")

    def _wake(self):
        ready = [w for w in self._waiters if all(t in self.settled for t in range(1, w[0] + 1))]
        for w in ready:
            self._waiters.remove(w)
            self.step(w[1])()

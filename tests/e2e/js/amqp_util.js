'use strict'
// Small helpers shared by the amqplib tests: reading a queue empty, a consumer
// that records what it is given, and confirmed publishing. They only wrap
// amqplib calls; every check of broker behaviour lives in the tests.

const { waitFor } = require('./harness')

// The body of a message as text.
function text(msg) {
  return msg.content.toString()
}

// Reads a queue empty with basic.get and no-ack, so the result is the queue's
// order. Used after publishes were confirmed, when every routed message is in
// its queue already.
async function drain(ch, queue) {
  const out = []
  for (;;) {
    const msg = await ch.get(queue, { noAck: true })
    if (msg === false) return out
    out.push(msg)
  }
}

async function drainText(ch, queue) {
  return (await drain(ch, queue)).map(text)
}

// Starts a consumer that keeps every delivery in box.messages. amqplib calls
// the callback with null when the server cancels the consumer (basic.cancel,
// e.g. because its queue was deleted); box.cancelled records that.
async function inbox(ch, queue, options = {}) {
  const box = { messages: [], cancelled: false, tag: null }
  const ok = await ch.consume(queue, msg => {
    if (msg === null) box.cancelled = true
    else box.messages.push(msg)
  }, options)
  box.tag = ok.consumerTag
  box.waitCount = (n, what = `${n} deliveries`) => waitFor(what, () => box.messages.length >= n, 15000)
  return box
}

// Publishes on a ConfirmChannel and resolves with null when the broker acks,
// or with the error amqplib reports when it nacks. Never rejects, so a test
// can publish many and look at every outcome.
function publishConfirmed(ch, exchange, routingKey, body, options = {}) {
  return new Promise(resolve => {
    ch.publish(exchange, routingKey, Buffer.from(body), options, err => resolve(err || null))
  })
}

// Publishes each body in order on a ConfirmChannel and waits for all confirms;
// throws if any was nacked, because callers rely on every message being queued.
async function publishAll(ch, exchange, routingKey, bodies, options = {}) {
  const results = await Promise.all(bodies.map(b => publishConfirmed(ch, exchange, routingKey, b, options)))
  const nacked = results.filter(r => r !== null)
  if (nacked.length) throw new Error(`${nacked.length} of ${bodies.length} publishes were nacked: ${nacked[0].message}`)
}

module.exports = { text, drain, drainText, inbox, publishConfirmed, publishAll }

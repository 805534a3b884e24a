'use strict'
// Consuming with amqplib: prefetch limits, ack/nack/reject with requeue (a
// requeued message keeps its place and comes back redelivered), dead-lettering
// with x-death on reject and on TTL expiry, priority order, basic.cancel from
// either side, and channel errors that close only their own channel.

const test = require('node:test')
const assert = require('node:assert/strict')
const { withAmqp, waitFor, sleep } = require('./harness')
const { text, drain, drainText, inbox, publishAll } = require('./amqp_util')

// How long a test watches for deliveries that must not happen. Nothing is
// asserted about time: a correct broker passes however slow the machine is,
// and a broker that ignores the limit has delivered the rest long before.
const SETTLE_MS = 300

const numbered = (prefix, n) => Array.from({ length: n }, (_, i) => `${prefix}${i}`)

test('prefetch N keeps exactly N messages unacked per consumer; each ack lets one more through', async () => {
  await withAmqp(async env => {
    const conn = await env.connect()
    const pub = await env.channel(conn, { confirm: true })
    const q = env.name('prefetch')
    await pub.assertQueue(q, { exclusive: true })
    const bodies = numbered('m', 10)
    await publishAll(pub, '', q, bodies)

    const ch = await env.channel(conn)
    await ch.prefetch(3)
    const box = await inbox(ch, q)
    await box.waitCount(3)
    await sleep(SETTLE_MS)
    assert.equal(box.messages.length, 3)
    let state = await pub.checkQueue(q)
    assert.deepEqual([state.messageCount, state.consumerCount], [7, 1], 'ready messages and consumers')

    ch.ack(box.messages[0])
    await box.waitCount(4)
    await sleep(SETTLE_MS)
    assert.equal(box.messages.length, 4)
    state = await pub.checkQueue(q)
    assert.equal(state.messageCount, 6)

    // Acking everything so far (multiple) opens all three slots at once.
    ch.ack(box.messages[3], true)
    await box.waitCount(7)
    await sleep(SETTLE_MS)
    assert.equal(box.messages.length, 7)
    ch.ackAll()
    await box.waitCount(10)
    ch.ackAll()
    assert.deepEqual(box.messages.map(text), bodies)
    await waitFor('every message acked', async () => (await pub.checkQueue(q)).messageCount === 0, 15000)
  })
})

test('nack and reject with requeue put a message back in its original place, marked redelivered', async () => {
  await withAmqp(async env => {
    const conn = await env.connect()
    const pub = await env.channel(conn, { confirm: true })
    const q = env.name('requeue')
    await pub.assertQueue(q, { exclusive: true })
    await publishAll(pub, '', q, numbered('m', 6))

    // basic.get three, give the middle one back, keep the others.
    const ch = await env.channel(conn)
    const got = []
    for (let i = 0; i < 3; i++) got.push(await ch.get(q))
    assert.deepEqual(got.map(text), ['m0', 'm1', 'm2'])
    ch.nack(got[1], false, true)
    ch.ack(got[0])
    ch.ack(got[2])

    // A consumer now sees m1 first, redelivered, then the untouched rest.
    await ch.prefetch(4)
    const box = await inbox(ch, q)
    await box.waitCount(4)
    assert.deepEqual(box.messages.map(m => [text(m), m.fields.redelivered]),
      [['m1', true], ['m3', false], ['m4', false], ['m5', false]])

    // Requeue several at once (nack multiple) and one by reject: all go back
    // in queue order, and the consumer gets them again in that order.
    await ch.cancel(box.tag)
    const [, , m4, m5] = box.messages
    ch.reject(m5, true)
    ch.nack(m4, true, true) // m1, m3 and m4: everything unacked up to m4
    await ch.prefetch(0)
    const again = await inbox(ch, q, { noAck: true })
    await again.waitCount(4)
    assert.deepEqual(again.messages.map(m => [text(m), m.fields.redelivered]),
      [['m1', true], ['m3', true], ['m4', true], ['m5', true]])
  })
})

// The x-death entry RabbitMQ adds for a message dead-lettered from queue q.
function assertDeath(msg, { reason, queue, exchange, routingKeys }) {
  const h = msg.properties.headers
  assert.ok(Array.isArray(h['x-death']), `x-death on ${text(msg)}: ${JSON.stringify(h)}`)
  assert.equal(h['x-death'].length, 1)
  const d = h['x-death'][0]
  assert.equal(d.reason, reason)
  assert.equal(d.queue, queue)
  assert.equal(d.exchange, exchange)
  assert.deepEqual(d['routing-keys'], routingKeys)
  assert.equal(d.count, 1)
  assert.equal(d.time['!'], 'timestamp', 'x-death time is an AMQP timestamp')
  assert.ok(Math.abs(d.time.value - Date.now() / 1000) < 600, 'x-death time is about now')
  assert.equal(h['x-first-death-reason'], reason)
  assert.equal(h['x-first-death-queue'], queue)
  assert.equal(h['x-first-death-exchange'], exchange)
  return d
}

test('nack without requeue dead-letters to the DLX with the dead-letter routing key and an x-death header', async () => {
  await withAmqp(async env => {
    const conn = await env.connect()
    const ch = await env.channel(conn, { confirm: true })
    const dlx = env.name('dlx')
    const dlq = env.name('dlq')
    const q = env.name('work')
    await ch.assertExchange(dlx, 'direct', { durable: false })
    await ch.assertQueue(dlq, { exclusive: true })
    await ch.bindQueue(dlq, dlx, 'dead')
    await ch.assertQueue(q, { exclusive: true, deadLetterExchange: dlx, deadLetterRoutingKey: 'dead' })
    await publishAll(ch, '', q, ['bad', 'good', 'worse'], { messageId: 'orig', headers: { origin: 'test', n: 5 } })

    const cch = await env.channel(conn)
    const box = await inbox(cch, q)
    await box.waitCount(3)
    cch.nack(box.messages[0], false, false)
    cch.ack(box.messages[1])
    cch.reject(box.messages[2], false)

    const dbox = await inbox(cch, dlq, { noAck: true })
    await dbox.waitCount(2)
    assert.deepEqual(dbox.messages.map(text), ['bad', 'worse'])
    for (const m of dbox.messages) {
      assert.equal(m.fields.exchange, dlx)
      assert.equal(m.fields.routingKey, 'dead')
      assert.equal(m.properties.messageId, 'orig')
      assert.equal(m.properties.headers.origin, 'test')
      assert.equal(m.properties.headers.n, 5)
      assertDeath(m, { reason: 'rejected', queue: q, exchange: '', routingKeys: [q] })
    }
    assert.equal((await ch.checkQueue(q)).messageCount, 0, 'nothing left in the work queue')
  })
})

test('messages past the queue TTL, or their own expiration, are dead-lettered with reason expired', async () => {
  await withAmqp(async env => {
    const conn = await env.connect()
    const ch = await env.channel(conn, { confirm: true })
    const dlx = env.name('dlx')
    const dlq = env.name('expired')
    await ch.assertExchange(dlx, 'fanout', { durable: false })
    await ch.assertQueue(dlq, { exclusive: true })
    await ch.bindQueue(dlq, dlx, '')
    const ttlQ = env.name('ttl')
    const plainQ = env.name('plain')
    await ch.assertQueue(ttlQ, { exclusive: true, messageTtl: 50, deadLetterExchange: dlx })
    await ch.assertQueue(plainQ, { exclusive: true, deadLetterExchange: dlx })

    const box = await inbox(ch, dlq, { noAck: true })
    await publishAll(ch, '', ttlQ, ['t0', 't1', 't2'])
    await box.waitCount(3, 'three messages expired from the TTL queue')
    assert.deepEqual(box.messages.map(text), ['t0', 't1', 't2'])
    for (const m of box.messages) {
      const d = assertDeath(m, { reason: 'expired', queue: ttlQ, exchange: '', routingKeys: [ttlQ] })
      assert.equal(d['original-expiration'], undefined, 'a queue TTL is not a message expiration')
    }

    await publishAll(ch, '', plainQ, ['short-lived'], { expiration: '50' })
    await box.waitCount(4, 'the message with its own expiration')
    const m = box.messages[3]
    assert.equal(text(m), 'short-lived')
    const d = assertDeath(m, { reason: 'expired', queue: plainQ, exchange: '', routingKeys: [plainQ] })
    assert.equal(d['original-expiration'], '50')
    assert.equal(m.properties.expiration, undefined, 'the dead-lettered copy does not expire again')
    assert.equal((await ch.checkQueue(ttlQ)).messageCount, 0)
    assert.equal((await ch.checkQueue(plainQ)).messageCount, 0)
  })
})

test('a priority queue delivers higher priorities first and keeps publish order within one priority', async () => {
  await withAmqp(async env => {
    const conn = await env.connect()
    const ch = await env.channel(conn, { confirm: true })
    const q = env.name('prio')
    await ch.assertQueue(q, { exclusive: true, maxPriority: 10 })
    // [body, priority]; no priority counts as 0, and above x-max-priority as
    // the maximum.
    const sent = [['a', 1], ['b', 5], ['c', 0], ['d', 9], ['e', 5], ['f', undefined], ['g', 9], ['h', 200], ['i', 10]]
    for (const [body, priority] of sent) {
      await publishAll(ch, '', q, [body], priority === undefined ? {} : { priority })
    }
    const box = await inbox(ch, q, { noAck: true })
    await box.waitCount(sent.length)
    assert.deepEqual(box.messages.map(text), ['h', 'i', 'd', 'g', 'b', 'e', 'a', 'c', 'f'])
    assert.deepEqual(box.messages.map(m => m.properties.priority), [200, 10, 9, 9, 5, 5, 1, 0, undefined],
      'the priority property is delivered as published')
  })
})

test('a cancelled consumer gets nothing more, and what it holds unacked can still be acked', async () => {
  await withAmqp(async env => {
    const conn = await env.connect()
    const ch = await env.channel(conn, { confirm: true })
    const q = env.name('cancel')
    await ch.assertQueue(q, { exclusive: true })
    await publishAll(ch, '', q, ['m0', 'm1'])
    const cch = await env.channel(conn)
    const box = await inbox(cch, q)
    await box.waitCount(2)
    await cch.cancel(box.tag)
    assert.equal(box.cancelled, false, 'a client-side cancel is not a server cancel notification')

    await publishAll(ch, '', q, ['m2', 'm3'])
    await sleep(SETTLE_MS)
    assert.deepEqual(box.messages.map(text), ['m0', 'm1'])
    const state = await ch.checkQueue(q)
    assert.deepEqual([state.messageCount, state.consumerCount], [2, 0])

    cch.ack(box.messages[1], true)
    assert.deepEqual(await drainText(cch, q), ['m2', 'm3'])
    // Acked after the cancel, so m0 and m1 are gone for good: closing the
    // channel (which requeues whatever it still holds) brings nothing back.
    await cch.close()
    assert.deepEqual(await drain(ch, q), [])
  })
})

test('deleting a queue cancels its consumers: amqplib calls the consumer with null; the channel stays open', async () => {
  await withAmqp(async env => {
    const conn = await env.connect()
    const ch = await env.channel(conn)
    const q = env.name('doomed')
    await ch.assertQueue(q, { durable: false })
    const box = await inbox(ch, q, { noAck: true })

    const other = await env.connect()
    const och = await env.channel(other)
    const { messageCount } = await och.deleteQueue(q)
    assert.equal(messageCount, 0)
    await waitFor('the consumer cancel notification', () => box.cancelled, 15000)

    // The channel that lost its consumer still works.
    assert.equal(ch.closedWith, null)
    const q2 = env.name('after-cancel')
    await ch.assertQueue(q2, { exclusive: true })
    ch.sendToQueue(q2, Buffer.from('still-here'))
    const box2 = await inbox(ch, q2, { noAck: true })
    await box2.waitCount(1)
    assert.equal(text(box2.messages[0]), 'still-here')
  })
})

test('a channel error (404, 406) closes only that channel; the connection and its other channels carry on', async () => {
  await withAmqp(async env => {
    const conn = await env.connect()
    const bystander = await env.channel(conn)
    const q = env.name('survivor')
    await bystander.assertQueue(q, { exclusive: true })

    const bad = await env.channel(conn)
    const missing = env.name('missing')
    await assert.rejects(bad.checkQueue(missing), err => err.code === 404)
    assert.equal(bad.closedWith.code, 404)
    assert.match(bad.closedWith.message, /NOT_FOUND/)
    assert.throws(() => bad.sendToQueue(q, Buffer.from('x')), /closed/i, 'a closed channel cannot be used')

    // Redeclaring with different properties: 406 PRECONDITION_FAILED.
    const bad2 = await env.channel(conn)
    await assert.rejects(bad2.assertQueue(q, { exclusive: true, durable: true, arguments: { 'x-max-length': 5 } }),
      err => err.code === 406)

    const fresh = await env.channel(conn)
    fresh.sendToQueue(q, Buffer.from('after-errors'))
    bystander.sendToQueue(q, Buffer.from('from-bystander'))
    const box = await inbox(fresh, q, { noAck: true })
    await box.waitCount(2)
    assert.deepEqual(box.messages.map(text).sort(), ['after-errors', 'from-bystander'])
    assert.equal(bystander.closedWith, null)
    assert.equal(fresh.closedWith, null)
  })
})

test('a no-ack consumer cancelled at once still gets every message handed out before cancel-ok', async () => {
  // A no-ack message is settled in its queue when it is handed out. Those still on
  // their way to the connection's shard when basic.cancel arrives must reach the
  // client before cancel-ok (amqplib keeps the consumer until then), or they are gone.
  // Only a queue on another shard than the connection can show it: 16 queues make
  // one such queue all but certain.
  await withAmqp(async env => {
    const conn = await env.connect()
    const pub = await env.channel(conn, { confirm: true })
    const perQueue = 300
    const queues = Array.from({ length: 16 }, (_, i) => env.name(`cancel${i}`))
    for (const q of queues) {
      await pub.assertQueue(q, { exclusive: true })
      await publishAll(pub, '', q, numbered('m', perQueue))
    }
    const ch = await env.channel(conn)
    for (const q of queues) {
      let received = 0
      const { consumerTag } = await ch.consume(q, () => { received++ }, { noAck: true })
      await ch.cancel(consumerTag)
      const left = (await pub.checkQueue(q)).messageCount
      assert.equal(received + left, perQueue, `${q}: ${received} delivered + ${left} left: messages lost at cancel`)
    }
  })
})

'use strict'
// Publisher confirms with amqplib's ConfirmChannel: every publish is acked,
// an unroutable mandatory message is returned before its ack, a full queue
// with x-overflow reject-publish nacks, and confirmed persistent messages in a
// durable queue are still there after the broker restarts.

const test = require('node:test')
const assert = require('node:assert/strict')
const { withAmqp } = require('./harness')
const { text, drain, drainText, publishConfirmed, publishAll } = require('./amqp_util')

test('every publish on a confirm channel is acked, and waitForConfirms resolves', async () => {
  await withAmqp(async env => {
    const conn = await env.connect()
    const ch = await env.channel(conn, { confirm: true })
    const q = env.name('confirmed')
    await ch.assertQueue(q, { exclusive: true })
    const N = 300
    const outcomes = new Array(N).fill('pending')
    for (let i = 0; i < N; i++) {
      ch.publish('', q, Buffer.from(`m${i}`), {}, err => { outcomes[i] = err ? `nack: ${err.message}` : 'ack' })
    }
    await ch.waitForConfirms()
    assert.deepEqual(outcomes, new Array(N).fill('ack'))

    const { messageCount } = await ch.checkQueue(q)
    assert.equal(messageCount, N)
    assert.deepEqual(await drainText(ch, q), outcomes.map((_, i) => `m${i}`))
  })
})

test('a mandatory message nobody can take is returned (312 NO_ROUTE) before it is acked', async () => {
  await withAmqp(async env => {
    const conn = await env.connect()
    const ch = await env.channel(conn, { confirm: true })
    const ex = env.name('nowhere')
    await ch.assertExchange(ex, 'direct', { durable: false })
    const q = env.name('somewhere')
    await ch.assertQueue(q, { exclusive: true })
    await ch.bindQueue(q, ex, 'bound')

    const events = []
    ch.on('return', msg => {
      events.push(`return ${text(msg)} ${msg.fields.replyCode} ${msg.fields.replyText} ${msg.fields.exchange} ${msg.fields.routingKey} ${msg.properties.messageId}`)
    })
    const publish = (key, body, options) => publishConfirmed(ch, ex, key, body, options)
      .then(err => events.push(`${err ? 'nack' : 'ack'} ${body}`))

    await publish('unbound', 'lost', { mandatory: true, messageId: 'id-lost' })
    await publish('bound', 'kept', { mandatory: true })
    await publish('unbound', 'dropped', {}) // not mandatory: silently dropped, still acked
    await ch.waitForConfirms()
    assert.deepEqual(events, [
      `return lost 312 NO_ROUTE ${ex} unbound id-lost`,
      'ack lost',
      'ack kept',
      'ack dropped',
    ])
    assert.deepEqual(await drainText(ch, q), ['kept'])
  })
})

test('x-overflow reject-publish nacks publishes to a full queue and acks again once there is room', async () => {
  await withAmqp(async env => {
    const conn = await env.connect()
    const ch = await env.channel(conn, { confirm: true })
    const q = env.name('bounded')
    await ch.assertQueue(q, { exclusive: true, maxLength: 2, overflow: 'reject-publish' })

    const pending = ['a', 'b', 'c', 'd'].map(b => publishConfirmed(ch, '', q, b))
    await assert.rejects(ch.waitForConfirms(), 'waitForConfirms rejects when a publish was nacked')
    const outcomes = await Promise.all(pending)
    assert.deepEqual(outcomes.map(e => e === null ? 'ack' : 'nack'), ['ack', 'ack', 'nack', 'nack'])
    assert.ok(outcomes[2] instanceof Error, 'amqplib hands the callback an error for a nack')

    // The rejected messages are gone, not queued behind the limit.
    const { messageCount } = await ch.checkQueue(q)
    assert.equal(messageCount, 2)
    const first = await ch.get(q, { noAck: true })
    assert.equal(text(first), 'a')
    assert.equal(await publishConfirmed(ch, '', q, 'e'), null, 'one slot free again')
    assert.notEqual(await publishConfirmed(ch, '', q, 'f'), null, 'full again')
    assert.deepEqual(await drainText(ch, q), ['b', 'e'])
  })
})

test('confirmed persistent messages in a durable queue survive a restart; acked ones do not come back', async t => {
  await withAmqp(async env => {
    const conn = await env.connect()
    const ch = await env.channel(conn, { confirm: true })
    const durable = env.name('durable')
    const transient = env.name('transient')
    await ch.assertQueue(durable, { durable: true })
    await ch.assertQueue(transient, { durable: false })
    const bodies = Array.from({ length: 50 }, (_, i) => `persistent-${i}`)
    await publishAll(ch, '', durable, bodies, { persistent: true, messageId: 'p' })
    await publishAll(ch, '', transient, ['gone-after-restart'], { persistent: true })

    // Ten acked, five delivered and left unacked when the broker stops.
    const rch = await env.channel(conn)
    for (let i = 0; i < 10; i++) {
      const msg = await rch.get(durable)
      assert.equal(text(msg), bodies[i])
      assert.equal(msg.properties.deliveryMode, 2)
      rch.ack(msg)
    }
    for (let i = 10; i < 15; i++) assert.equal(text(await rch.get(durable)), bodies[i])
    // A round trip on the same channel makes sure the acks were processed.
    await rch.checkQueue(durable)

    if (env.external) {
      await conn.close()
      t.diagnostic('external broker: restart part skipped')
      return
    }
    await env.broker.stop()
    await env.broker.start()

    const conn2 = await env.connect()
    const ch2 = await env.channel(conn2)
    const { messageCount } = await ch2.checkQueue(durable)
    assert.equal(messageCount, 40)
    const after = await drain(ch2, durable)
    assert.deepEqual(after.map(text), bodies.slice(10))
    assert.deepEqual(after.map(m => m.fields.redelivered), bodies.slice(10).map((_, i) => i < 5),
      'exactly the five that were delivered but not acked come back redelivered')
    for (const m of after) {
      assert.equal(m.properties.deliveryMode, 2)
      assert.equal(m.properties.messageId, 'p')
    }
    await assert.rejects(ch2.checkQueue(transient), err => err.code === 404)
  })
})

'use strict'
// amqplib against Wharf's AMQP 0-9-1 listener: logging in, routing through
// every exchange type as RabbitMQ does, exchange-to-exchange bindings, the
// alternate exchange, server-named exclusive queues, and messages whose
// properties and headers come back exactly as they were published.
//
// Routing checks publish on a ConfirmChannel and wait for the confirms, so
// every routed message is in its queue before the queues are read with
// basic.get; a message that should not have arrived is then really absent.

const test = require('node:test')
const assert = require('node:assert/strict')
const { withAmqp, waitFor } = require('./harness')
const { text, drainText, inbox, publishAll, publishConfirmed } = require('./amqp_util')

// Declares one exclusive queue per binding list entry and binds it to
// `exchange`; returns { label: queueName }.
async function bindQueues(env, ch, exchange, bindings) {
  const queues = {}
  for (const [label, keys, args] of bindings) {
    const q = env.name(`q-${label}`)
    await ch.assertQueue(q, { exclusive: true })
    for (const key of keys) await ch.bindQueue(q, exchange, key, args)
    queues[label] = q
  }
  return queues
}

async function contents(ch, queues) {
  const got = {}
  for (const [label, q] of Object.entries(queues)) got[label] = await drainText(ch, q)
  return got
}

test('guest logs in and sees the capabilities RabbitMQ clients rely on; a wrong password is refused', async () => {
  await withAmqp(async env => {
    const conn = await env.connect()
    const caps = conn.connection.serverProperties.capabilities
    for (const cap of ['publisher_confirms', 'exchange_exchange_bindings', 'basic.nack',
      'consumer_cancel_notify', 'per_consumer_qos', 'authentication_failure_close']) {
      assert.equal(caps[cap], true, `capability ${cap}`)
    }
    const bad = env.url.replace('guest:guest@', 'guest:not-the-password@')
    await assert.rejects(require('amqplib').connect(bad), err => {
      assert.match(err.message, /403/)
      assert.match(err.message, /ACCESS.REFUSED/)
      return true
    })
    // The refused login does not disturb the connection that is logged in.
    const ch = await env.channel(conn)
    await ch.checkExchange('amq.direct')
  })
})

test('direct exchange routes on the exact key; the default exchange routes to the queue named by the key', async () => {
  await withAmqp(async env => {
    const conn = await env.connect()
    const ch = await env.channel(conn, { confirm: true })
    const ex = env.name('direct')
    await ch.assertExchange(ex, 'direct', { durable: false, autoDelete: false })
    const queues = await bindQueues(env, ch, ex, [
      ['red', ['red']],
      ['redgreen', ['red', 'green']],
      ['blue', ['blue']],
    ])
    for (const key of ['red', 'green', 'blue', 'yellow', 'Red']) {
      await publishAll(ch, ex, key, [`to-${key}`])
    }
    assert.deepEqual(await contents(ch, queues), {
      red: ['to-red'],
      redgreen: ['to-red', 'to-green'],
      blue: ['to-blue'],
    })

    await publishAll(ch, '', queues.blue, ['by-name-1', 'by-name-2'])
    await publishAll(ch, 'amq.direct', queues.blue, ['not-bound']) // amq.direct has no binding for it
    assert.deepEqual(await contents(ch, queues), { red: [], redgreen: [], blue: ['by-name-1', 'by-name-2'] })
  })
})

test('fanout exchange copies every message to every bound queue whatever the keys', async () => {
  await withAmqp(async env => {
    const conn = await env.connect()
    const ch = await env.channel(conn, { confirm: true })
    const ex = env.name('fanout')
    await ch.assertExchange(ex, 'fanout', { durable: false })
    const queues = await bindQueues(env, ch, ex, [['a', ['x']], ['b', ['']], ['c', ['y', 'z']]])
    await publishAll(ch, ex, 'x', ['one'])
    await publishAll(ch, ex, 'unrelated', ['two'])
    await publishAll(ch, ex, '', ['three'])
    // A queue bound twice still gets one copy per message.
    const all = ['one', 'two', 'three']
    assert.deepEqual(await contents(ch, queues), { a: all, b: all, c: all })
  })
})

test('topic exchange: * matches exactly one word, # matches zero or more', async () => {
  await withAmqp(async env => {
    const conn = await env.connect()
    const ch = await env.channel(conn, { confirm: true })
    const ex = env.name('topic')
    await ch.assertExchange(ex, 'topic', { durable: false })
    const queues = await bindQueues(env, ch, ex, [
      ['star', ['stock.*.nyse']],
      ['hash', ['stock.#']],
      ['all', ['#']],
      ['middle', ['a.#.z']],
      ['oneword', ['*']],
      ['twoStars', ['*.*']],
    ])
    const keys = ['stock.ibm.nyse', 'stock.nyse', 'stock', 'stock.ibm.x.nyse', 'a.z', 'a.b.c.z', 'a.zz', 'x', 'x.y', 'stockx.ibm.nyse']
    for (const key of keys) await publishAll(ch, ex, key, [key])
    assert.deepEqual(await contents(ch, queues), {
      star: ['stock.ibm.nyse'],
      hash: ['stock.ibm.nyse', 'stock.nyse', 'stock', 'stock.ibm.x.nyse'],
      all: keys,
      middle: ['a.z', 'a.b.c.z'],
      oneword: ['stock', 'x'],
      twoStars: ['stock.nyse', 'a.z', 'a.zz', 'x.y'],
    })
  })
})

test('headers exchange: x-match all needs every bound header, any needs one; all is the default', async () => {
  await withAmqp(async env => {
    const conn = await env.connect()
    const ch = await env.channel(conn, { confirm: true })
    const ex = env.name('headers')
    await ch.assertExchange(ex, 'headers', { durable: false })
    const queues = await bindQueues(env, ch, ex, [
      ['all', [''], { 'x-match': 'all', format: 'pdf', type: 'report' }],
      ['any', [''], { 'x-match': 'any', format: 'pdf', type: 'report' }],
      ['implicitAll', [''], { format: 'pdf', pages: 12 }],
      ['flag', ['ignored-key'], { 'x-match': 'any', urgent: true }],
    ])
    const msgs = [
      ['m1', { format: 'pdf', type: 'report' }],
      ['m2', { format: 'pdf', type: 'log' }],
      ['m3', { format: 'zip' }],
      ['m4', { format: 'pdf', type: 'report', extra: 'x', pages: 12 }],
      ['m5', undefined],
      ['m6', { type: 'report', urgent: true }],
      ['m7', { format: 'pdf', pages: 13 }],
      ['m8', { urgent: false }],
    ]
    for (const [body, headers] of msgs) await publishAll(ch, ex, 'any-key', [body], headers ? { headers } : {})
    assert.deepEqual(await contents(ch, queues), {
      all: ['m1', 'm4'],
      any: ['m1', 'm2', 'm4', 'm6', 'm7'],
      implicitAll: ['m4'],
      flag: ['m6'],
    })
  })
})

test('exchange-to-exchange bindings forward matching messages; unbinding stops them', async () => {
  await withAmqp(async env => {
    const conn = await env.connect()
    const ch = await env.channel(conn, { confirm: true })
    const src = env.name('e2e-src')
    const dst = env.name('e2e-dst')
    await ch.assertExchange(src, 'topic', { durable: false })
    await ch.assertExchange(dst, 'fanout', { durable: false })
    await ch.bindExchange(dst, src, 'orders.#')
    const viaDst = await bindQueues(env, ch, dst, [['viaDst', ['']]])
    const direct = await bindQueues(env, ch, src, [['direct', ['orders.new']]])
    const queues = { ...viaDst, ...direct }

    await publishAll(ch, src, 'orders.new', ['new-order'])
    await publishAll(ch, src, 'orders.eu.cancelled', ['cancelled'])
    await publishAll(ch, src, 'audit.login', ['audit'])
    assert.deepEqual(await contents(ch, queues), { viaDst: ['new-order', 'cancelled'], direct: ['new-order'] })

    await ch.unbindExchange(dst, src, 'orders.#')
    await publishAll(ch, src, 'orders.new', ['after-unbind'])
    assert.deepEqual(await contents(ch, queues), { viaDst: [], direct: ['after-unbind'] })
  })
})

test('alternate exchange receives what the main exchange cannot route, and such messages are not returned', async () => {
  await withAmqp(async env => {
    const conn = await env.connect()
    const ch = await env.channel(conn, { confirm: true })
    const ae = env.name('ae')
    const main = env.name('main')
    await ch.assertExchange(ae, 'fanout', { durable: false })
    await ch.assertExchange(main, 'direct', { durable: false, alternateExchange: ae })
    const queues = {
      ...await bindQueues(env, ch, main, [['known', ['known']]]),
      ...await bindQueues(env, ch, ae, [['fallback', ['']]]),
    }
    const returned = []
    ch.on('return', msg => returned.push(text(msg)))

    await publishAll(ch, main, 'known', ['routed'])
    await publishAll(ch, main, 'unknown', ['unroutable'], { mandatory: true })
    await publishAll(ch, main, 'other', ['also-unroutable'])
    assert.deepEqual(await contents(ch, queues), { known: ['routed'], fallback: ['unroutable', 'also-unroutable'] })
    assert.deepEqual(returned, [])
  })
})

test('a server-named exclusive queue belongs to its connection and goes away with it', async () => {
  await withAmqp(async env => {
    const owner = await env.connect()
    const och = await env.channel(owner)
    const { queue, messageCount, consumerCount } = await och.assertQueue('', { exclusive: true })
    assert.match(queue, /^amq\.gen-/)
    assert.deepEqual([messageCount, consumerCount], [0, 0])
    const second = await och.assertQueue('', { exclusive: true })
    assert.notEqual(second.queue, queue, 'every server-named queue gets a fresh name')

    // Another connection may publish to it but not use it: 405 RESOURCE_LOCKED.
    const other = await env.connect()
    const pub = await env.channel(other, { confirm: true })
    assert.equal(await publishConfirmed(pub, '', queue, 'from-other'), null)
    const box = await inbox(och, queue, { noAck: true })
    await box.waitCount(1)
    assert.deepEqual(box.messages.map(text), ['from-other'])

    const locked = await env.channel(other)
    await assert.rejects(locked.consume(queue, () => {}), err => err.code === 405)
    assert.equal(locked.closedWith.code, 405)
    const locked2 = await env.channel(other)
    await assert.rejects(locked2.checkQueue(queue), err => err.code === 405)

    // Closing the owner deletes the queue; the other connection then gets 404.
    await owner.close()
    await waitFor('the exclusive queue to be deleted', async () => {
      const probe = await env.channel(other)
      try {
        await probe.checkQueue(queue)
        await probe.close()
        return false
      } catch (err) {
        assert.equal(err.code, 404)
        return true
      }
    }, 15000)
  })
})

// Header values of every kind amqplib can send: it picks the narrowest
// integer type, doubles for fractions, and typed values through {'!': type}.
const HEADERS = {
  tiny: 7,
  short: -1000,
  int: 100000,
  long: 2 ** 40,
  negative: -(2 ** 35),
  double: 3.25,
  text: 'héllo ✓',
  empty: '',
  yes: true,
  no: false,
  nothing: null,
  bytes: Buffer.from([0, 1, 0xfe, 0xff]),
  when: { '!': 'timestamp', value: 1700000000 },
  list: [1, 'two', false, [3], { four: 4 }],
  nested: { level: 2, inner: { deep: 'yes', list: [1.5, 'x'], flag: true } },
}

function propertiesFor(i) {
  return {
    contentType: 'application/json',
    contentEncoding: 'utf-8',
    correlationId: `corr-${i}`,
    replyTo: 'reply-queue',
    messageId: `msg-${i}`,
    timestamp: 1700000000 + i,
    type: 'order.created',
    appId: 'wharf-e2e-js',
    priority: 3,
    persistent: true,
    headers: { ...HEADERS, seq: i },
  }
}

function assertProperties(msg, i) {
  const want = propertiesFor(i)
  const p = msg.properties
  for (const key of ['contentType', 'contentEncoding', 'correlationId', 'replyTo', 'messageId', 'timestamp', 'type', 'appId', 'priority']) {
    assert.deepEqual(p[key], want[key], `property ${key} of message ${i}`)
  }
  assert.equal(p.deliveryMode, 2, `deliveryMode of message ${i}`)
  assert.deepEqual(p.headers, want.headers, `headers of message ${i}`)
}

test('properties, headers of every type and bodies of any size come back as published', async () => {
  await withAmqp(async env => {
    const conn = await env.connect()
    const ch = await env.channel(conn, { confirm: true })
    const q = env.name('props')
    await ch.assertQueue(q, { exclusive: true })
    // Bodies: empty, binary with every byte value, and larger than the
    // default frame_max (128 KiB) so it spans several body frames.
    const big = Buffer.alloc(300 * 1024)
    for (let i = 0; i < big.length; i++) big[i] = (i * 31 + 7) & 0xff
    const bodies = [Buffer.alloc(0), Buffer.from([...Array(256).keys()]), big, Buffer.from('{"order":42}')]
    const outcomes = await Promise.all(bodies.map((b, i) => new Promise(resolve => {
      ch.publish('', q, b, propertiesFor(i), err => resolve(err || null))
    })))
    assert.deepEqual(outcomes, bodies.map(() => null))

    // First half through a consumer (basic.deliver), second through basic.get.
    const cch = await env.channel(conn)
    await cch.prefetch(2)
    const box = await inbox(cch, q)
    await box.waitCount(2)
    await cch.cancel(box.tag)
    for (const [i, msg] of box.messages.entries()) {
      assert.ok(msg.content.equals(bodies[i]), `body ${i} (${msg.content.length} bytes)`)
      assert.equal(msg.fields.routingKey, q)
      assert.equal(msg.fields.exchange, '')
      assert.equal(msg.fields.redelivered, false)
      assertProperties(msg, i)
      cch.ack(msg)
    }
    assert.equal(box.messages.length, 2, 'prefetch 2 delivers two, then the consumer is cancelled')
    for (let i = 2; i < bodies.length; i++) {
      const msg = await cch.get(q, { noAck: true })
      assert.ok(msg, `message ${i} by basic.get`)
      assert.ok(msg.content.equals(bodies[i]), `body ${i} (${msg.content.length} bytes)`)
      assert.equal(msg.fields.messageCount, bodies.length - i - 1, 'basic.get-ok counts what is left')
      assertProperties(msg, i)
    }
    assert.equal(await cch.get(q, { noAck: true }), false)
  })
})

// RabbitMQ passes a decimal header value ('D': scale and digits) through
// unchanged, scale included (2 places of 12345 is not 1 place of 1234.5).
test('a decimal header value comes back as a decimal', async () => {
  await withAmqp(async env => {
    const conn = await env.connect()
    const ch = await env.channel(conn, { confirm: true })
    const q = env.name('decimal')
    await ch.assertQueue(q, { exclusive: true })
    const headers = { price: { '!': 'decimal', value: { places: 2, digits: 12345 } }, whole: { '!': 'decimal', value: { places: 0, digits: 7 } } }
    await publishAll(ch, '', q, ['priced'], { headers })
    const msg = await ch.get(q, { noAck: true })
    assert.ok(msg)
    assert.deepEqual(msg.properties.headers, headers)
  })
})

'use strict'
// A kafkajs producer writes keyed messages with headers to a multi-partition
// topic; a kafkajs consumer reads every one back unchanged and in order.

const test = require('node:test')
const assert = require('node:assert/strict')
const { kafkajs, withBroker, consumerOptions, waitFor, uniqueName } = require('./harness')
const { CompressionTypes } = kafkajs

const PARTITIONS = 3
const KEYS = 12
const BATCHES = 8
const PER_BATCH = 25

// Header values are Buffers on the way out of the consumer; one header is
// binary (bytes that are not valid UTF-8) and one name repeats, both of which
// Kafka allows and a broker must keep as sent.
function headersFor(seq) {
  return {
    seq: String(seq),
    'trace-id': Buffer.from([0xff, 0x00, seq & 0xff, 0xfe]),
    tag: ['first', `second-${seq}`],
  }
}

test('keyed messages with headers round-trip through a multi-partition topic', async () => {
  await withBroker(async ({ kafka, track }) => {
    const topic = uniqueName('orders')
    const admin = track(kafka.admin())
    await admin.connect()
    assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true }), true)

    // Several awaited sends so the order within a key is the order of sends;
    // every other batch is gzip-compressed, which the broker stores as sent.
    const producer = track(kafka.producer())
    await producer.connect()
    const sent = []
    const baseTime = Date.now() - 60000
    for (let b = 0; b < BATCHES; b++) {
      const messages = []
      for (let i = 0; i < PER_BATCH; i++) {
        const seq = b * PER_BATCH + i
        const m = {
          key: `key-${seq % KEYS}`,
          value: `value-${seq}-${'x'.repeat(seq % 50)}`,
          headers: headersFor(seq),
          timestamp: String(baseTime + seq),
        }
        messages.push(m)
        sent.push({ seq, ...m })
      }
      const res = await producer.send({
        topic,
        messages,
        acks: -1,
        compression: b % 2 ? CompressionTypes.GZIP : CompressionTypes.None,
      })
      for (const r of res) assert.equal(r.errorCode, 0, `produce error on partition ${r.partition}`)
    }

    const consumer = track(kafka.consumer(consumerOptions(uniqueName('reader'))))
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: true })
    const received = []
    await consumer.run({
      eachMessage: async ({ topic: t, partition, message }) => {
        received.push({ topic: t, partition, ...message })
      },
    })
    await waitFor(`${sent.length} messages`, () => received.length >= sent.length)
    await consumer.stop()
    // A duplicate would make the count reach N early; the per-seq checks below catch it.

    const bySeq = new Map()
    const partitionOfKey = new Map()
    const byPartition = new Map()
    for (const m of received) {
      assert.equal(m.topic, topic)
      const seq = Number(m.headers.seq.toString())
      assert.ok(!bySeq.has(seq), `message seq=${seq} delivered twice`)
      bySeq.set(seq, m)
      // Same key, same partition: that is the point of a key.
      const key = m.key.toString()
      if (partitionOfKey.has(key)) assert.equal(m.partition, partitionOfKey.get(key), `key ${key} split across partitions`)
      partitionOfKey.set(key, m.partition)
      if (!byPartition.has(m.partition)) byPartition.set(m.partition, [])
      byPartition.get(m.partition).push(m)
    }

    for (const s of sent) {
      const m = bySeq.get(s.seq)
      assert.ok(m, `message seq=${s.seq} never arrived`)
      assert.equal(m.key.toString(), s.key)
      assert.equal(m.value.toString(), s.value)
      assert.equal(m.timestamp, s.timestamp, `timestamp of seq=${s.seq}`)
      assert.deepEqual(Object.keys(m.headers).sort(), ['seq', 'tag', 'trace-id'])
      assert.deepEqual(m.headers['trace-id'], s.headers['trace-id'])
      assert.deepEqual(m.headers.tag.map(String), s.headers.tag)
    }

    // Keys spread over more than one partition, and within each partition the
    // offsets run 0,1,2,... and the messages come in the order they were sent.
    assert.ok(byPartition.size > 1, `all ${KEYS} keys landed in one partition`)
    for (const [partition, msgs] of byPartition) {
      msgs.forEach((m, i) => assert.equal(m.offset, String(i), `partition ${partition} offset at position ${i}`))
      for (let i = 1; i < msgs.length; i++) {
        const prev = Number(msgs[i - 1].headers.seq.toString())
        const cur = Number(msgs[i].headers.seq.toString())
        assert.ok(prev < cur, `partition ${partition}: seq ${cur} came after ${prev}`)
      }
    }

    // The broker's high watermarks agree with what was read.
    const offsets = await admin.fetchTopicOffsets(topic)
    assert.equal(offsets.length, PARTITIONS)
    for (const o of offsets) {
      const n = (byPartition.get(o.partition) || []).length
      assert.equal(o.high, String(n), `high watermark of partition ${o.partition}`)
      assert.equal(o.low, '0', `log start of partition ${o.partition}`)
    }
  })
})

test('a message sent to an explicit partition stays there, and null keys and values survive', async () => {
  await withBroker(async ({ kafka, track }) => {
    const topic = uniqueName('explicit')
    const admin = track(kafka.admin())
    await admin.connect()
    await admin.createTopics({ topics: [{ topic, numPartitions: 4 }], waitForLeaders: true })
    const producer = track(kafka.producer())
    await producer.connect()
    await producer.send({
      topic,
      messages: [
        { partition: 3, key: null, value: 'no key', headers: { h: '' } },
        { partition: 3, key: 'k', value: null },
        { partition: 1, key: 'k1', value: Buffer.alloc(200000, 7) },
      ],
    })

    const consumer = track(kafka.consumer(consumerOptions(uniqueName('reader'))))
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: true })
    const received = []
    await consumer.run({ eachMessage: async ({ partition, message }) => { received.push({ partition, ...message }) } })
    await waitFor('3 messages', () => received.length >= 3)
    await consumer.stop()

    received.sort((a, b) => a.partition - b.partition || Number(a.offset) - Number(b.offset))
    assert.equal(received.length, 3)
    const [big, noKey, noValue] = received
    assert.equal(big.partition, 1)
    assert.deepEqual(big.value, Buffer.alloc(200000, 7))
    assert.equal(noKey.partition, 3)
    assert.equal(noKey.key, null)
    assert.equal(noKey.value.toString(), 'no key')
    assert.equal(noKey.headers.h.toString(), '')
    assert.equal(noValue.partition, 3)
    assert.equal(noValue.key.toString(), 'k')
    assert.equal(noValue.value, null)
  })
})

test('producing to an unknown topic creates it with the default partition count', async () => {
  await withBroker(async ({ kafka, track }) => {
    const topic = uniqueName('auto')
    const producer = track(kafka.producer())
    await producer.connect()
    await producer.send({ topic, messages: [{ key: 'k', value: 'created on first use' }] })
    const admin = track(kafka.admin())
    await admin.connect()
    assert.ok((await admin.listTopics()).includes(topic))
    const meta = await admin.fetchTopicMetadata({ topics: [topic] })
    assert.equal(meta.topics[0].partitions.length, 1, 'topics.default_partitions is 1')
    const consumer = track(kafka.consumer(consumerOptions(uniqueName('reader'))))
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: true })
    const got = []
    await consumer.run({ eachMessage: async ({ message }) => { got.push(message.value.toString()) } })
    await waitFor('the message', () => got.length >= 1)
    assert.deepEqual(got, ['created on first use'])
  })
})

test('a batch over max.message.bytes is refused; one over the fetch size is still delivered', async () => {
  await withBroker(async ({ kafka, track }) => {
    const topic = uniqueName('big')
    const admin = track(kafka.admin())
    await admin.connect()
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true })
    const producer = track(kafka.producer({ retry: { retries: 0 } }))
    await producer.connect()
    // The default max.message.bytes is 1048588; this batch is over it.
    await assert.rejects(producer.send({ topic, messages: [{ value: Buffer.alloc(1100000, 1) }] }),
      e => e.type === 'MESSAGE_TOO_LARGE' || (e.cause && e.cause.type === 'MESSAGE_TOO_LARGE'))
    assert.equal((await admin.fetchTopicOffsets(topic))[0].high, '0', 'the refused batch was stored')

    // 600 kB with a consumer asking for at most 64 kB per fetch: a broker must
    // return the first batch whole anyway (KIP-74), or the consumer is stuck.
    const big = Buffer.alloc(600000)
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff
    await producer.send({ topic, messages: [{ value: 'small before' }, { value: big }] })
    await producer.send({ topic, messages: [{ value: 'small after' }] })
    const consumer = track(kafka.consumer(consumerOptions(uniqueName('reader'), { maxBytesPerPartition: 65536, maxBytes: 65536 })))
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: true })
    const got = []
    await consumer.run({ eachMessage: async ({ message }) => { got.push(message.value) } })
    await waitFor('3 messages', () => got.length >= 3)
    assert.equal(got.length, 3)
    assert.equal(got[0].toString(), 'small before')
    assert.ok(got[1].equals(big), 'large message corrupted')
    assert.equal(got[2].toString(), 'small after')
  })
})

// ListOffsets by timestamp, as kafkajs's fetchTopicOffsetsByTimestamp uses it:
// the answer is the first offset whose timestamp is >= the one asked for, and
// the high watermark when no message is that new.
async function offsetsByTimestamp(compression) {
  await withBroker(async ({ kafka, track }) => {
    const topic = uniqueName('by-time')
    const admin = track(kafka.admin())
    await admin.connect()
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true })
    const producer = track(kafka.producer())
    await producer.connect()
    const base = Date.now() - 3600000
    // Two batches of 20; timestamps 10 ms apart, so lookups land mid-batch.
    for (let b = 0; b < 2; b++) {
      const messages = [...Array(20).keys()].map(i => ({ value: `m${b * 20 + i}`, timestamp: String(base + 10 * (b * 20 + i)) }))
      await producer.send({ topic, messages, compression })
    }
    const at = async ts => (await admin.fetchTopicOffsetsByTimestamp(topic, ts))[0].offset
    assert.equal(await at(base - 1000), '0')
    assert.equal(await at(base), '0')
    assert.equal(await at(base + 1), '1', 'between records 0 and 1')
    assert.equal(await at(base + 70), '7', 'inside the first batch')
    assert.equal(await at(base + 205), '21', 'inside the second batch')
    assert.equal(await at(base + 390), '39')
    assert.equal(await at(base + 391), '40', 'past the newest record: the high watermark')
  })
}

test('offsets by timestamp inside uncompressed batches', () => offsetsByTimestamp(CompressionTypes.None))

test('offsets by timestamp inside gzip batches', {
  skip: 'Wharf bug: ListOffsets by timestamp returns the base offset of a compressed batch instead of the first ' +
    'record at or after the timestamp (Partition::offset_for_time does not decompress; Kafka does)',
}, () => offsetsByTimestamp(CompressionTypes.GZIP))

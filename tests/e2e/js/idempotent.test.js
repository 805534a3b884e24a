'use strict'
// Idempotent producers: kafkajs with idempotent: true writes every message
// exactly once; and, one level down, the broker recognises a resent batch as a
// duplicate (also after a restart) and refuses a sequence gap.

const test = require('node:test')
const assert = require('node:assert/strict')
const { withBroker, consumerOptions, waitFor, uniqueName } = require('./harness')

// kafkajs's own protocol layer (internal, but the version is pinned), used to
// send Produce requests with a chosen producer id and sequence number, which
// is what a producer does when it retries a batch whose response was lost.
const ConnectionPool = require('kafkajs/src/network/connectionPool')
const KafkaBroker = require('kafkajs/src/broker')
const socketFactory = require('kafkajs/src/network/socketFactory')
const { createLogger, LEVELS } = require('kafkajs/src/loggers')

async function readAll(kafka, track, topic, expected) {
  const consumer = track(kafka.consumer(consumerOptions(uniqueName('check'))))
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  const got = []
  await consumer.run({ eachMessage: async ({ partition, message }) => { got.push({ partition, ...message }) } })
  await waitFor(`${expected} messages in ${topic}`, () => got.length >= expected)
  await consumer.disconnect()
  return got
}

test('kafkajs idempotent producer delivers every message exactly once', async () => {
  await withBroker(async ({ broker, kafka, newKafka, track }) => {
    const topic = uniqueName('idem')
    const admin = track(kafka.admin())
    await admin.connect()
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true })

    const producer = track(kafka.producer({ idempotent: true, maxInFlightRequests: 1 }))
    await producer.connect()
    // Many sends at once: kafkajs queues them behind the one in-flight request
    // and numbers each partition's batches; all must be accepted in sequence.
    const SENDS = 12
    const PER_SEND = 20
    const results = await Promise.all([...Array(SENDS).keys()].map(s => producer.send({
      topic,
      messages: [...Array(PER_SEND).keys()].map(i => ({ key: `k${(s * PER_SEND + i) % 7}`, value: `v${s * PER_SEND + i}` })),
    })))
    for (const res of results) for (const r of res) assert.equal(r.errorCode, 0)

    // After a restart (the broker comes back on a new port, hence a new client)
    // a new idempotent producer gets an id and writes after the old data.
    await producer.disconnect()
    await admin.disconnect()
    await broker.stop()
    await broker.start()
    const kafka2 = newKafka()
    const producer2 = track(kafka2.producer({ idempotent: true, maxInFlightRequests: 1 }))
    await producer2.connect()
    await producer2.send({ topic, messages: [{ key: 'after', value: 'restart' }] })

    const total = SENDS * PER_SEND + 1
    const got = await readAll(kafka2, track, topic, total)
    assert.equal(got.length, total)
    const values = got.map(m => m.value.toString())
    assert.equal(new Set(values).size, total, 'a message was written twice')
    assert.ok(values.includes('restart'))
    const perPartition = new Map()
    for (const m of got) {
      const list = perPartition.get(m.partition) || []
      list.push(Number(m.offset))
      perPartition.set(m.partition, list)
    }
    for (const [p, offs] of perPartition) assert.deepEqual(offs, offs.map((_, i) => i), `offsets of partition ${p}`)
  })
})

test('a resent batch is a duplicate, even after a restart; a sequence gap is refused', async () => {
  await withBroker(async ({ broker, kafka, newKafka, track }) => {
    const topic = uniqueName('dedup')
    const admin = track(kafka.admin())
    await admin.connect()
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true })

    const logger = createLogger({ level: LEVELS.NOTHING, logCreator: () => () => {} })
    const open = async () => {
      const pool = new ConnectionPool({
        host: '127.0.0.1', port: broker.port, logger, socketFactory: socketFactory(),
        clientId: 'wharf-e2e-raw', connectionTimeout: 5000, requestTimeout: 30000,
      })
      const b = new KafkaBroker({ connectionPool: pool, logger, allowAutoTopicCreation: false })
      await b.connect()
      track(b)
      return b
    }
    const batch = (seq, n) => [...Array(n).keys()].map(i => ({ key: `s${seq + i}`, value: `record ${seq + i}` }))
    const produce = (b, pid, seq, n) => b.produce({
      acks: -1,
      producerId: pid.producerId,
      producerEpoch: pid.producerEpoch,
      topicData: [{ topic, partitions: [{ partition: 0, firstSequence: seq, messages: batch(seq, n) }] }],
    }).then(r => r.topics[0].partitions[0], e => ({ errorType: e.type }))

    let raw = await open()
    const pid = await raw.initProducerId({ transactionTimeout: 30000 })
    assert.equal(pid.errorCode, 0)
    assert.ok(Number(pid.producerId) >= 0)

    assert.equal((await produce(raw, pid, 0, 3)).baseOffset, '0')
    // The same batch again, as after a lost response: acknowledged with its
    // original offset, not written a second time.
    const dup = await produce(raw, pid, 0, 3)
    assert.equal(dup.errorCode, 0)
    assert.equal(dup.baseOffset, '0')
    assert.equal((await produce(raw, pid, 3, 3)).baseOffset, '3')
    // Sequence 10 when 6 is next: records 6..9 would be lost, so it is refused.
    assert.deepEqual(await produce(raw, pid, 10, 2), { errorType: 'OUT_OF_ORDER_SEQUENCE_NUMBER' })

    // The broker remembers the producer's sequence across a restart.
    await raw.disconnect()
    await admin.disconnect()
    await broker.stop()
    await broker.start()
    raw = await open()
    const again = await produce(raw, pid, 3, 3)
    assert.equal(again.errorCode, 0)
    assert.equal(again.baseOffset, '3', 'resent batch after a restart was written again')
    assert.equal((await produce(raw, pid, 6, 2)).baseOffset, '6')

    const kafka2 = newKafka()
    const got = await readAll(kafka2, track, topic, 8)
    assert.deepEqual(got.map(m => m.value.toString()), [...Array(8).keys()].map(i => `record ${i}`))
    const admin2 = track(kafka2.admin())
    await admin2.connect()
    assert.equal((await admin2.fetchTopicOffsets(topic))[0].high, '8')
  })
})

'use strict'
// Two kafkajs consumers in one group split a 4-partition topic between them
// and see every message exactly once; when one leaves, the other takes over
// from the committed offsets; a later member of the same group resumes after
// the committed offsets (also after an operator rewinds them) instead of
// starting over; a deleted group forgets its offsets.

const test = require('node:test')
const assert = require('node:assert/strict')
const { withBroker, consumerOptions, waitFor, uniqueName } = require('./harness')

const PARTITIONS = 4
const FIRST = 200
const SECOND = 40

// Faster heartbeats make a member notice a rebalance sooner; the session
// timeout stays well above the broker's 6 s minimum.
const GROUP_TIMING = { sessionTimeout: 10000, heartbeatInterval: 500, rebalanceTimeout: 10000 }

async function produce(producer, topic, from, count) {
  const messages = []
  for (let seq = from; seq < from + count; seq++) {
    // An explicit partition guarantees every partition, hence both members, gets data.
    messages.push({ partition: seq % PARTITIONS, key: `k${seq}`, value: `v${seq}`, headers: { seq: String(seq) } })
  }
  await producer.send({ topic, messages })
}

function startMember(kafka, track, groupId, topic, name, sink) {
  const consumer = track(kafka.consumer(consumerOptions(groupId, GROUP_TIMING)))
  const member = { name, consumer, assignment: null, received: [] }
  consumer.on(consumer.events.GROUP_JOIN, e => { member.assignment = e.payload.memberAssignment[topic] || [] })
  return (async () => {
    await consumer.connect()
    await consumer.subscribe({ topic, fromBeginning: true })
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const m = { member: name, partition, offset: Number(message.offset), seq: Number(message.headers.seq.toString()) }
        member.received.push(m)
        sink.push(m)
      },
    })
    return member
  })()
}

test('two members share a 4-partition topic; rebalance on leave; new member resumes from committed offsets', async () => {
  await withBroker(async ({ broker, kafka, newKafka, track }) => {
    const topic = uniqueName('shared')
    const groupId = uniqueName('group')
    const admin = track(kafka.admin())
    await admin.connect()
    await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true })

    const all = []
    const [a, b] = await Promise.all([
      startMember(kafka, track, groupId, topic, 'a', all),
      startMember(kafka, track, groupId, topic, 'b', all),
    ])

    // Wait for the generation that has both members: each holds two of the four
    // partitions and together they hold all of them. Producing only afterwards
    // means no rebalance can hand an unprocessed message to the other member.
    await waitFor('both members to be assigned two partitions each', () =>
      a.assignment && b.assignment && a.assignment.length === 2 && b.assignment.length === 2 &&
      new Set([...a.assignment, ...b.assignment]).size === PARTITIONS)
    const owner = new Map()
    for (const m of [a, b]) for (const p of m.assignment) owner.set(p, m.name)

    const described = await admin.describeGroups([groupId])
    const group = described.groups[0]
    assert.equal(group.groupId, groupId)
    assert.equal(group.state, 'Stable')
    assert.equal(group.protocolType, 'consumer')
    assert.equal(group.members.length, 2)

    const producer = track(kafka.producer())
    await producer.connect()
    await produce(producer, topic, 0, FIRST)

    await waitFor(`${FIRST} messages between the two members`, () => all.length >= FIRST)
    const seen = new Set()
    for (const m of all) {
      assert.ok(!seen.has(m.seq), `seq ${m.seq} delivered twice`)
      seen.add(m.seq)
      assert.equal(m.partition, m.seq % PARTITIONS)
      assert.equal(m.member, owner.get(m.partition), `partition ${m.partition} read by a member that does not own it`)
    }
    assert.equal(seen.size, FIRST)
    assert.ok(a.received.length > 0 && b.received.length > 0, 'one member got nothing')

    // One member leaves (kafkajs commits what it processed, then sends
    // LeaveGroup); the other takes over all four partitions and continues from
    // the committed offsets: new messages once each, old ones not again.
    await a.consumer.disconnect()
    await waitFor('the remaining member to own all four partitions', () => b.assignment && b.assignment.length === PARTITIONS)
    const bBefore = b.received.length
    await produce(producer, topic, FIRST, SECOND)
    await waitFor(`${SECOND} messages for the remaining member`, () => b.received.length - bBefore >= SECOND)
    const takeover = b.received.slice(bBefore)
    assert.deepEqual(takeover.filter(m => m.seq < FIRST), [], 'after the rebalance, already-committed messages came again')
    assert.equal(new Set(takeover.map(m => m.seq)).size, SECOND, 'a message came twice after the rebalance')

    await b.consumer.disconnect()
    const total = FIRST + SECOND
    const committed = await admin.fetchOffsets({ groupId, topics: [topic] })
    assert.equal(committed.length, 1)
    assert.deepEqual(
      committed[0].partitions.map(p => [p.partition, p.offset]).sort((x, y) => x[0] - y[0]),
      [...Array(PARTITIONS).keys()].map(p => [p, String(total / PARTITIONS)]))

    const { groups } = await admin.listGroups()
    assert.ok(groups.some(g => g.groupId === groupId && g.protocolType === 'consumer'), `listGroups: ${JSON.stringify(groups)}`)

    // Committed offsets are durable: the same after a clean restart (the
    // broker comes back on a new port, so the clients after this are new).
    await producer.disconnect()
    await admin.disconnect()
    assert.deepEqual(await broker.stop(), { code: 0, signal: null })
    await broker.start()
    const kafka2 = newKafka()
    const admin2 = track(kafka2.admin())
    await admin2.connect()
    const producer2 = track(kafka2.producer())
    await producer2.connect()
    const reloaded = await admin2.fetchOffsets({ groupId, topics: [topic] })
    assert.deepEqual(reloaded, committed, 'committed offsets changed across a restart')

    const afterLeave = (await admin2.describeGroups([groupId])).groups[0]
    assert.equal(afterLeave.state, 'Empty')
    assert.equal(afterLeave.members.length, 0)

    // An operator rewinds partition 0 of the (empty) group by 5 messages.
    const rewound = total / PARTITIONS - 5
    await admin2.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: String(rewound) }] })
    const start = [rewound, total / PARTITIONS, total / PARTITIONS, total / PARTITIONS]
    const reset = await admin2.fetchOffsets({ groupId, topics: [topic] })
    assert.equal(reset[0].partitions.find(p => p.partition === 0).offset, String(rewound))

    // New messages, then a brand-new member of the same group. fromBeginning
    // applies only without a committed offset, so it starts exactly at the
    // committed offsets: the 5 rewound messages of partition 0, then the new ones.
    await produce(producer2, topic, total, SECOND)
    const end = (total + SECOND) / PARTITIONS
    const expected = new Set()
    for (let p = 0; p < PARTITIONS; p++) for (let o = start[p]; o < end; o++) expected.add(o * PARTITIONS + p)
    const later = []
    const c = await startMember(kafka2, track, groupId, topic, 'c', later)
    await waitFor(`${expected.size} messages for the resumed member`, () => later.length >= expected.size)
    assert.deepEqual(later.filter(m => !expected.has(m.seq)).map(m => m.seq), [],
      'resumed member read messages before its committed offsets')
    assert.equal(new Set(later.map(m => m.seq)).size, expected.size, 'resumed member got a message twice')
    for (let p = 0; p < PARTITIONS; p++) {
      const first = later.find(m => m.partition === p)
      assert.equal(first.offset, start[p], `partition ${p} resumed at the wrong offset`)
    }
    assert.deepEqual([...c.assignment].sort(), [0, 1, 2, 3])

    await c.consumer.disconnect()
    const final = await admin2.fetchOffsets({ groupId, topics: [topic] })
    for (const p of final[0].partitions) {
      assert.equal(p.offset, String(end), `final committed offset of partition ${p.partition}`)
    }

    // Deleting the group forgets its offsets.
    await admin2.deleteGroups([groupId])
    assert.ok(!(await admin2.listGroups()).groups.some(g => g.groupId === groupId), 'deleted group still listed')
    const forgotten = await admin2.fetchOffsets({ groupId, topics: [topic] })
    for (const p of forgotten[0].partitions) assert.equal(p.offset, '-1', `offset of partition ${p.partition} after deleteGroups`)
  })
})

// Kafka keeps an empty group's metadata (protocol type "consumer") in
// __consumer_offsets, so listings look the same after a restart.
test('an empty consumer group keeps its protocol type across a restart', async () => {
  await withBroker(async ({ broker, kafka, newKafka, track }) => {
    const topic = uniqueName('meta')
    const groupId = uniqueName('group')
    const admin = track(kafka.admin())
    await admin.connect()
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true })
    const producer = track(kafka.producer())
    await producer.connect()
    await producer.send({ topic, messages: [{ value: 'x', headers: { seq: '0' } }] })
    const got = []
    const member = await startMember(kafka, track, groupId, topic, 'a', got)
    await waitFor('the message', () => got.length >= 1)
    await member.consumer.disconnect()
    await producer.disconnect()
    await admin.disconnect()
    assert.deepEqual(await broker.stop(), { code: 0, signal: null })
    await broker.start()
    const admin2 = track(newKafka().admin())
    await admin2.connect()
    const listed = (await admin2.listGroups()).groups.find(g => g.groupId === groupId)
    assert.deepEqual(listed, { groupId, protocolType: 'consumer' })
    const described = (await admin2.describeGroups([groupId])).groups[0]
    assert.equal(described.state, 'Empty')
    assert.equal(described.protocolType, 'consumer')
  })
})

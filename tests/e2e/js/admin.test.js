'use strict'
// The kafkajs admin client manages topics: create (with partitions and a
// config), list, describe metadata and configs, add partitions, delete. A
// deleted topic must be gone for good: from listings and metadata, after a
// broker restart, and a topic re-created under its name starts empty.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const { kafkajs, withBroker, uniqueName } = require('./harness')
const { ConfigResourceTypes } = kafkajs

const DEFAULT_RETENTION_MS = '604800000' // the broker's documented default (7 days)

async function topicConfig(admin, topic, names) {
  const res = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: names }],
  })
  assert.equal(res.resources.length, 1)
  const r = res.resources[0]
  assert.equal(r.errorCode, 0, `describeConfigs ${topic}: ${r.errorMessage}`)
  return new Map(r.configEntries.map(e => [e.configName, e]))
}

async function rejects(promise, type, what) {
  await assert.rejects(promise, e => {
    // kafkajs wraps a broker error code in e.type, or in e.errors[] (several
    // topics), or in e.cause after its retries give up.
    const types = [e.type, e.cause && e.cause.type, ...(e.errors || []).map(x => x.type)]
    assert.ok(types.includes(type), `${what}: expected ${type}, got ${e.name}: ${e.message} ${JSON.stringify(types)}`)
    return true
  }, what)
}

test('admin: create, list, describe, add partitions, delete', async () => {
  await withBroker(async ({ broker, kafka, newKafka, track }) => {
    const orders = uniqueName('orders')
    const audit = uniqueName('audit')
    const admin = track(kafka.admin())
    await admin.connect()

    const created = await admin.createTopics({
      waitForLeaders: true,
      topics: [
        { topic: orders, numPartitions: 3, configEntries: [{ name: 'retention.ms', value: '3600000' }] },
        { topic: audit, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'delete' }] },
      ],
    })
    assert.equal(created, true)
    // Creating an existing topic is reported as such (kafkajs turns TOPIC_ALREADY_EXISTS into false).
    assert.equal(await admin.createTopics({ topics: [{ topic: orders, numPartitions: 3 }] }), false)
    // A config value the broker cannot honour is refused, and nothing is created.
    const bad = uniqueName('bad')
    await rejects(admin.createTopics({ topics: [{ topic: bad, configEntries: [{ name: 'retention.ms', value: 'soon' }] }] }),
      'INVALID_CONFIG', 'createTopics with retention.ms=soon')

    const listed = await admin.listTopics()
    assert.ok(listed.includes(orders) && listed.includes(audit), `listTopics: ${listed}`)
    assert.ok(!listed.includes(bad), 'a topic whose creation failed is listed')

    const meta = await admin.fetchTopicMetadata({ topics: [orders] })
    assert.equal(meta.topics.length, 1)
    assert.equal(meta.topics[0].name, orders)
    const parts = [...meta.topics[0].partitions].sort((a, b) => a.partitionId - b.partitionId)
    assert.deepEqual(parts.map(p => p.partitionId), [0, 1, 2])
    for (const p of parts) {
      assert.equal(p.partitionErrorCode, 0)
      assert.equal(p.leader, 0, 'single node: node 0 leads every partition')
      assert.deepEqual(p.replicas, [0])
      assert.deepEqual(p.isr, [0])
    }

    // The override is reported as such; an untouched key shows its default.
    const cfg = await topicConfig(admin, orders, ['retention.ms', 'cleanup.policy'])
    assert.equal(cfg.get('retention.ms').configValue, '3600000')
    assert.equal(cfg.get('retention.ms').isDefault, false)
    assert.equal(cfg.get('cleanup.policy').configValue, 'delete')
    assert.equal(cfg.get('cleanup.policy').isDefault, true)
    assert.equal(cfg.size, 2, 'describeConfigs returned keys that were not asked for')
    const all = await topicConfig(admin, audit)
    assert.equal(all.get('retention.ms').configValue, DEFAULT_RETENTION_MS)
    assert.equal(all.get('cleanup.policy').isDefault, false)

    // Growing to 5 partitions: metadata shows them and the new ones take writes.
    await admin.createPartitions({ topicPartitions: [{ topic: orders, count: 5 }] })
    const grown = await admin.fetchTopicMetadata({ topics: [orders] })
    assert.deepEqual(grown.topics[0].partitions.map(p => p.partitionId).sort(), [0, 1, 2, 3, 4])
    // Shrinking is not allowed in Kafka.
    await rejects(admin.createPartitions({ topicPartitions: [{ topic: orders, count: 2 }] }),
      'INVALID_PARTITIONS', 'createPartitions to fewer partitions')

    const producer = track(kafka.producer({ allowAutoTopicCreation: false }))
    await producer.connect()
    for (let p = 0; p < 5; p++) {
      await producer.send({ topic: orders, messages: [{ partition: p, value: `m${p}` }, { partition: p, value: `n${p}` }] })
    }
    const offsets = await admin.fetchTopicOffsets(orders)
    assert.deepEqual(offsets.map(o => [o.partition, o.high]).sort((a, b) => a[0] - b[0]),
      [[0, '2'], [1, '2'], [2, '2'], [3, '2'], [4, '2']])

    // Each partition's log lives under the data directory named after the
    // topic (docs/storage-format.md); deletion must give that space back.
    const onDisk = () => fs.readdirSync(broker.dataDir).filter(f => f.startsWith(`${orders}-`))
    assert.equal(onDisk().length, 5, `partition logs on disk: ${onDisk()}`)
    await admin.deleteTopics({ topics: [orders] })
    assert.ok(!(await admin.listTopics()).includes(orders), 'deleted topic still listed')
    assert.deepEqual(onDisk(), [], 'deleted topic left its logs on disk')
    // An admin client never auto-creates, so metadata for the name is an error.
    const strict = track(newKafka({ retry: { retries: 0 } }).admin())
    await strict.connect()
    await rejects(strict.fetchTopicMetadata({ topics: [orders] }), 'UNKNOWN_TOPIC_OR_PARTITION', 'metadata of a deleted topic')
    const gone = await strict.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: orders }],
    }).then(r => r.resources[0].errorCode, e => e.type)
    assert.ok(gone === 3 || gone === 'UNKNOWN_TOPIC_OR_PARTITION', `describeConfigs of a deleted topic: ${gone}`)
    await rejects(strict.deleteTopics({ topics: [orders] }), 'UNKNOWN_TOPIC_OR_PARTITION', 'deleting a deleted topic')

    // Still gone after a restart on the same data directory; the other topic
    // and its config survive.
    await producer.disconnect()
    await strict.disconnect()
    await admin.disconnect()
    const exit = await broker.stop()
    assert.deepEqual(exit, { code: 0, signal: null })
    await broker.start()
    const admin2 = track(newKafka().admin())
    await admin2.connect()
    const relisted = await admin2.listTopics()
    assert.ok(!relisted.includes(orders), 'deleted topic came back after a restart')
    assert.ok(relisted.includes(audit), 'surviving topic lost in a restart')
    assert.equal((await topicConfig(admin2, audit, ['cleanup.policy'])).get('cleanup.policy').configValue, 'delete')

    // The same name again is a new, empty topic with default configs.
    assert.equal(await admin2.createTopics({ topics: [{ topic: orders, numPartitions: 2 }], waitForLeaders: true }), true)
    const fresh = await admin2.fetchTopicOffsets(orders)
    assert.deepEqual(fresh.map(o => [o.partition, o.low, o.high]).sort((a, b) => a[0] - b[0]),
      [[0, '0', '0'], [1, '0', '0']], 're-created topic is not empty')
    const freshCfg = await topicConfig(admin2, orders, ['retention.ms'])
    assert.equal(freshCfg.get('retention.ms').configValue, DEFAULT_RETENTION_MS, 're-created topic kept the old override')
    assert.equal(freshCfg.get('retention.ms').isDefault, true)
  })
})

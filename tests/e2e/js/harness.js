'use strict'
// Test harness for the kafkajs and amqplib end-to-end tests: starts a private
// Wharf broker (binary from $WHARF_BIN) on kernel-chosen ports with its own
// temporary data directory, hands out kafkajs clients whose logs are kept in
// memory (withBroker) or amqplib connections (withAmqp), and prints those logs
// and the broker's output only when a test fails.

const { spawn } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

function requireKafkajs() {
  try {
    return require('kafkajs')
  } catch (e) {
    throw new Error(`kafkajs is not installed: run \`npm ci\` in ${__dirname} (scripts/test does this)\n${e.message}`)
  }
}
const kafkajs = requireKafkajs()
const { Kafka, logLevel } = kafkajs

// kafkajs warns once per process about its v2 partitioner change; it is noise here.
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'

const READY_TIMEOUT_MS = 15000
const STOP_TIMEOUT_MS = 15000

function wharfBin() {
  const bin = process.env.WHARF_BIN
  if (!bin) throw new Error('WHARF_BIN is not set: point it at build/wharf (ctest does this)')
  if (!fs.existsSync(bin)) throw new Error(`WHARF_BIN=${bin} does not exist; build the wharf target`)
  return bin
}

class Broker {
  constructor(dataDir, args) {
    this.dataDir = dataDir
    this.args = args
    this.output = ''
    this.proc = null
    this.port = null
    this.amqpPort = null
    this.exit = null
  }

  get brokers() {
    return [`127.0.0.1:${this.port}`]
  }

  // amqplib URL for the default vhost as the loopback-only guest user.
  get amqpUrl() {
    return `amqp://guest:guest@127.0.0.1:${this.amqpPort}`
  }

  // Starts the broker with --kafka-listen 127.0.0.1:0 and learns the real port
  // from its "kafka listening on ... (port N)" log line; binding port 0 in the
  // broker itself avoids the race of picking a free port and releasing it.
  // The AMQP port comes from "amqp listening on ... (port N)" the same way.
  async start() {
    this.exit = null
    this.port = null
    this.amqpPort = null
    const args = [
      'serve',
      '--data-dir', this.dataDir,
      '--kafka-listen', '127.0.0.1:0',
      '--amqp-listen', '127.0.0.1:0', '--stomp-listen', '127.0.0.1:0', '--stomp-ws-listen', '127.0.0.1:0', // 5672 may be taken by another broker or test
      '--log-level', 'info',
      ...this.args,
    ]
    this.output += `$ ${wharfBin()} ${args.join(' ')}\n`
    const startedAt = this.output.length
    const proc = spawn(wharfBin(), args, { stdio: ['ignore', 'pipe', 'pipe'] })
    this.proc = proc
    this.exited = new Promise(resolve => {
      proc.on('exit', (code, signal) => {
        this.exit = { code, signal }
        this.output += `[broker exited: code=${code} signal=${signal}]\n`
        resolve(this.exit)
      })
    })
    const onData = chunk => { this.output += chunk.toString() }
    proc.stdout.on('data', onData)
    proc.stderr.on('data', onData)

    const deadline = Date.now() + READY_TIMEOUT_MS
    while (this.port === null || this.amqpPort === null) {
      const since = this.output.slice(startedAt)
      const m = /kafka listening on \S+ \(port (\d+)\)/.exec(since)
      const a = /amqp listening on \S+ \(port (\d+)\)/.exec(since)
      if (m) this.port = Number(m[1])
      if (a) this.amqpPort = Number(a[1])
      if (m && a) break
      if (this.exit) throw new Error(`broker exited before it was ready:\n${this.output}`)
      if (Date.now() > deadline) throw new Error(`broker not ready after ${READY_TIMEOUT_MS} ms:\n${this.output}`)
      await sleep(20)
    }
    return this
  }

  // SIGTERM, as an operator would; a clean shutdown exits with status 0.
  async stop() {
    if (!this.proc || this.exit) return this.exit
    this.proc.kill('SIGTERM')
    const timer = setTimeout(() => { if (!this.exit) this.proc.kill('SIGKILL') }, STOP_TIMEOUT_MS)
    const exit = await this.exited
    clearTimeout(timer)
    return exit
  }
}

// A kafkajs log creator that records every entry instead of printing it, so a
// passing run stays quiet and a failing one can show what the client saw.
function memoryLogger(lines) {
  return () => ({ namespace, level, label, log }) => {
    const { message, timestamp, ...extra } = log
    lines.push(`${timestamp} ${label} [${namespace}] ${message} ${JSON.stringify(extra)}`)
  }
}

// Runs body(env) against a fresh broker. env has: broker, kafka (a kafkajs
// client), newKafka(opts) for more clients (e.g. after a restart), and
// track(x) to disconnect producers/consumers/admins afterwards whatever happens.
// On failure the broker output and client logs go to stderr before rethrowing.
async function withBroker(options, body) {
  if (typeof options === 'function') { body = options; options = {} }
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wharf-e2e-js-'))
  // The first rebalance of an empty group waits for more members (3 s by
  // default); tests that need both members in one generation wait for it
  // themselves, so a short delay only saves time.
  const brokerArgs = ['--groups-initial-rebalance-delay-ms', '300', ...(options.brokerArgs || [])]
  const broker = new Broker(dataDir, brokerArgs)
  const clientLog = []
  const tracked = []
  const newKafka = (opts = {}) => new Kafka({
    clientId: 'wharf-e2e-js',
    brokers: broker.brokers,
    logLevel: logLevel.INFO,
    logCreator: memoryLogger(clientLog),
    retry: { retries: 8, initialRetryTime: 100 },
    ...opts,
  })
  const track = client => {
    tracked.push(client)
    // A consumer whose eachMessage throws stops ("crashes"); remember it so
    // waitFor reports the error at once instead of timing out.
    if (client.events && client.events.CRASH) {
      client.on(client.events.CRASH, e => { if (!e.payload.restart) crashes.push(e.payload.error) })
    }
    return client
  }
  crashes.length = 0
  let failed = false
  try {
    await broker.start()
    await body({ broker, kafka: newKafka(), newKafka, track })
  } catch (err) {
    failed = true
    throw err
  } finally {
    for (const c of tracked.reverse()) {
      await c.disconnect().catch(e => clientLog.push(`disconnect failed: ${e}`))
    }
    const exit = await broker.stop()
    const unclean = exit && (exit.code !== 0 || exit.signal !== null)
    if (failed || unclean) {
      process.stderr.write(`---- broker output (${dataDir}) ----\n${broker.output}\n`)
      process.stderr.write(`---- kafkajs log ----\n${clientLog.join('\n')}\n`)
    }
    fs.rmSync(dataDir, { recursive: true, force: true })
    // A broker that cannot shut down cleanly is a bug a user would notice.
    if (!failed && unclean) throw new Error(`broker did not stop cleanly: ${JSON.stringify(exit)}`)
  }
}

// Consumer options for tests: a short fetch long-poll, because kafkajs waits
// for the outstanding fetch (maxWaitTimeInMs, 5 s by default) when it stops.
function consumerOptions(groupId, extra = {}) {
  return { groupId, maxWaitTimeInMs: 300, ...extra }
}

function sleep(ms) {
  return new Promise(resolve => setTimeout(resolve, ms))
}

// Consumer crashes seen in the current withBroker run.
const crashes = []

// Resolves once predicate() is true; rejects with `what` after timeoutMs so a
// hang turns into a message instead of a test-runner timeout.
async function waitFor(what, predicate, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await predicate()) return
    if (crashes.length) throw new Error(`a consumer crashed while waiting for ${what}: ${crashes[0].stack || crashes[0]}`)
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(50)
  }
}

// Unique names, so a test never depends on what another one left behind.
let counter = 0
function uniqueName(prefix) {
  counter += 1
  return `${prefix}-${process.pid}-${counter}`
}

// ---- AMQP 0-9-1 (amqplib) ----

// External mode: with WHARF_E2E_AMQP_URL set (host:port, or a full amqp://
// URL) the AMQP tests run against a broker already running there, e.g. a
// private RabbitMQ, to check that the assertions describe RabbitMQ's
// behaviour; no wharf is started and tests that restart the broker skip
// that part. What env.name() named is deleted afterwards in that mode, so
// runs can share one long-lived broker.
const AMQP_EXTERNAL = (process.env.WHARF_E2E_AMQP_URL || '').trim()

function requireAmqplib() {
  try {
    return require('amqplib')
  } catch (e) {
    throw new Error(`amqplib is not installed: run \`npm ci\` in ${__dirname} (scripts/test does this)\n${e.message}`)
  }
}

function externalAmqpUrl() {
  return AMQP_EXTERNAL.includes('://') ? AMQP_EXTERNAL : `amqp://guest:guest@${AMQP_EXTERNAL}`
}

// Runs body(env) against a fresh wharf (or the external broker). env has:
//   url            amqplib URL (guest on the default vhost)
//   broker         the Broker, or null in external mode; external is true then
//   connect(opts)  an amqplib connection, closed afterwards whatever happens
//   channel(conn, {confirm})  a channel (or ConfirmChannel) whose 'error'
//                  events are recorded instead of crashing the process: a
//                  server-side channel close is emitted as 'error', and an
//                  EventEmitter with no 'error' listener throws. ch.closedWith
//                  holds that error once it happened.
//   name(prefix)   a unique queue/exchange name
//   log(line)      adds a line to what is printed if the test fails
// On failure the broker output and the client-side log go to stderr.
async function withAmqp(options, body) {
  if (typeof options === 'function') { body = options; options = {} }
  const amqplib = requireAmqplib()
  const external = Boolean(AMQP_EXTERNAL)
  const clientLog = []
  const connections = []
  const names = []
  let dataDir = null
  let broker = null
  if (!external) {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wharf-e2e-js-amqp-'))
    broker = new Broker(dataDir, options.brokerArgs || [])
  }
  const log = line => clientLog.push(`${new Date().toISOString()} ${line}`)
  const env = {
    broker,
    external,
    get url() { return external ? externalAmqpUrl() : broker.amqpUrl },
    log,
    name(prefix) {
      const n = uniqueName(prefix)
      names.push(n)
      return n
    },
    async connect(opts = {}) {
      const conn = await amqplib.connect(env.url, opts)
      connections.push(conn)
      conn.on('error', e => log(`connection error: ${e.message}`))
      conn.on('close', e => log(`connection closed${e ? `: ${e.message}` : ''}`))
      return conn
    },
    async channel(conn, { confirm = false } = {}) {
      const ch = confirm ? await conn.createConfirmChannel() : await conn.createChannel()
      ch.closedWith = null
      ch.on('error', e => { ch.closedWith = e; log(`channel error: ${e.message}`) })
      return ch
    },
  }
  let failed = false
  try {
    if (broker) await broker.start()
    await body(env)
  } catch (err) {
    failed = true
    throw err
  } finally {
    const closeAll = async () => {
      for (const c of connections.splice(0).reverse()) {
        await c.close().catch(() => {}) // already closed by the test or the server
      }
    }
    await closeAll()
    // After the test's connections are closed: their exclusive queues are
    // gone then, and no other connection may delete one before that.
    if (external && names.length) {
      await deleteNamed(env, names, log)
      await closeAll()
    }
    let unclean = false
    if (broker) {
      const exit = await broker.stop()
      unclean = exit && (exit.code !== 0 || exit.signal !== null)
      if (failed || unclean) process.stderr.write(`---- broker output (${dataDir}) ----\n${broker.output}\n`)
      fs.rmSync(dataDir, { recursive: true, force: true })
    }
    if (failed || unclean) process.stderr.write(`---- amqplib log ----\n${clientLog.join('\n')}\n`)
    // A broker that cannot shut down cleanly is a bug a user would notice.
    if (!failed && unclean) throw new Error('broker did not stop cleanly')
  }
}

// External mode only: deletes every queue and exchange a test named, on a
// connection of its own (the test's may be closed). Deleting a name that does
// not exist is not an error in RabbitMQ; a channel error opens a new channel.
async function deleteNamed(env, names, log) {
  let conn
  try {
    conn = await env.connect()
    let ch = await env.channel(conn)
    for (const n of names) {
      for (const del of ['deleteQueue', 'deleteExchange']) {
        try {
          await ch[del](n)
        } catch (e) {
          log(`cleanup ${del} ${n}: ${e.message}`)
          ch = await env.channel(conn)
        }
      }
    }
  } catch (e) {
    log(`cleanup failed: ${e.message}`)
  }
}

module.exports = { kafkajs, Broker, withBroker, consumerOptions, waitFor, sleep, uniqueName, withAmqp }

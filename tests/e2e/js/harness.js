'use strict'
// Test harness for the kafkajs end-to-end tests: starts a private Wharf broker
// (binary from $WHARF_BIN) on a kernel-chosen port with its own temporary data
// directory, hands out kafkajs clients whose logs are kept in memory, and prints
// those logs and the broker's output only when a test fails.

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
    this.exit = null
  }

  get brokers() {
    return [`127.0.0.1:${this.port}`]
  }

  // Starts the broker with --kafka-listen 127.0.0.1:0 and learns the real port
  // from its "kafka listening on ... (port N)" log line; binding port 0 in the
  // broker itself avoids the race of picking a free port and releasing it.
  async start() {
    this.exit = null
    this.port = null
    const args = [
      'serve',
      '--data-dir', this.dataDir,
      '--kafka-listen', '127.0.0.1:0',
      '--amqp-listen', '127.0.0.1:0', // 5672 may be taken by another broker or test
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
    while (this.port === null) {
      const m = /kafka listening on \S+ \(port (\d+)\)/.exec(this.output.slice(startedAt))
      if (m) { this.port = Number(m[1]); break }
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

module.exports = { kafkajs, withBroker, consumerOptions, waitFor, sleep, uniqueName }

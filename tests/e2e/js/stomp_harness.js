'use strict'
// Harness for the STOMP end-to-end tests: a STOMP endpoint (a private Wharf,
// or an external broker named by environment variables), node-side
// @stomp/stompjs clients over plain TCP, and unique destination names.
//
// Wharf mode (default): `wharf serve --stomp-listen 127.0.0.1:0
// --stomp-ws-listen 127.0.0.1:0` (harness.js's Broker); the ports come from the log lines
// "stomp listening on ... (port N)" and "stomp websocket listening on ...
// (port N)", and the WebSocket URL is ws://127.0.0.1:N/ws.
//
// External mode, to check the assertions against another broker:
//   WHARF_E2E_STOMP_WS_URL   full WebSocket URL, e.g. ws://127.0.0.1:15674/ws
//                            (RabbitMQ Web-STOMP) or ws://127.0.0.1:61614/ (ActiveMQ)
//   WHARF_E2E_STOMP_TCP      host:port of the plain STOMP listener (tests that
//                            need it are skipped when it is not set)
//   WHARF_E2E_STOMP_LOGIN, WHARF_E2E_STOMP_PASSCODE (default guest/guest),
//   WHARF_E2E_STOMP_VHOST    the CONNECT host header (default "/")
//
// stompjs in node: it has no TCP transport of its own, only a WebSocket
// (or a webSocketFactory returning anything shaped like one). TcpStompSocket
// below is that shape over a net.Socket, so the node-side client really
// speaks STOMP over TCP, the way stomp.py or a Java client would.

const fs = require('node:fs')
const net = require('node:net')
const os = require('node:os')
const path = require('node:path')

const { Broker, waitFor, uniqueName } = require('./harness')

function requireStompjs() {
  try {
    return require('@stomp/stompjs')
  } catch (e) {
    throw new Error(`@stomp/stompjs is not installed: run \`npm ci\` in ${__dirname} (scripts/test does this)\n${e.message}`)
  }
}
const stompjs = requireStompjs()

const EXTERNAL_WS = (process.env.WHARF_E2E_STOMP_WS_URL || '').trim()
const EXTERNAL_TCP = (process.env.WHARF_E2E_STOMP_TCP || '').trim()

// The subset of the WebSocket interface stompjs uses (IStompSocket), over TCP.
class TcpStompSocket {
  constructor(host, port) {
    this.url = `tcp://${host}:${port}`
    this.protocol = ''
    this.binaryType = 'arraybuffer'
    this.readyState = 0 // CONNECTING
    this.onopen = this.onmessage = this.onclose = this.onerror = null
    this.socket = net.connect({ host, port }, () => {
      this.readyState = 1 // OPEN
      if (this.onopen) this.onopen({})
    })
    this.socket.on('data', buf => {
      const data = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length)
      if (this.onmessage) this.onmessage({ data })
    })
    this.socket.on('error', e => { if (this.onerror) this.onerror(e) })
    this.socket.on('close', hadError => {
      this.readyState = 3 // CLOSED
      if (this.onclose) this.onclose({ code: hadError ? 1006 : 1000, reason: '', wasClean: !hadError })
    })
  }

  send(data) {
    this.socket.write(typeof data === 'string' ? data : Buffer.from(data))
  }

  close() {
    if (this.readyState >= 2) return
    this.readyState = 2 // CLOSING
    this.socket.end()
  }

  terminate() {
    this.socket.destroy()
  }
}

function parseHostPort(s) {
  const i = s.lastIndexOf(':')
  return { host: s.slice(0, i), port: Number(s.slice(i + 1)) }
}

// Waits for "<what> listening on ADDR (port N)" in the broker's output.
async function waitForPort(broker, what) {
  const re = new RegExp(`${what} listening on \\S+ \\(port (\\d+)\\)`)
  let port = null
  await waitFor(`the log line "${what} listening on ..."`, () => {
    if (broker.exit) throw new Error(`broker exited:\n${broker.output}`)
    const m = re.exec(broker.output)
    if (m) port = Number(m[1])
    return port !== null
  }, 15000)
  return port
}

// Runs body(env) against a STOMP endpoint. env has:
//   wsUrl            the WebSocket URL for browsers
//   tcp              { host, port } of the plain STOMP listener, or null
//   connectHeaders   login, passcode, host for CONNECT
//   external         true when testing an external broker
//   broker           the Broker in wharf mode
//   name(prefix)     a unique destination name part
//   log(line)        kept and printed if the test fails
//   tcpClient(opts)  a connected node-side stompjs Client over TCP (deactivated afterwards)
async function withStomp(options, body) {
  if (typeof options === 'function') { body = options; options = {} }
  const external = Boolean(EXTERNAL_WS)
  const lines = []
  const log = line => lines.push(`${new Date().toISOString()} ${line}`)
  const clients = []
  let broker = null
  let dataDir = null
  const env = {
    external,
    broker: null,
    wsUrl: null,
    tcp: null,
    connectHeaders: {
      login: process.env.WHARF_E2E_STOMP_LOGIN || 'guest',
      passcode: process.env.WHARF_E2E_STOMP_PASSCODE || 'guest',
      host: process.env.WHARF_E2E_STOMP_VHOST || '/',
    },
    log,
    name: prefix => uniqueName(prefix),
    async tcpClient(opts = {}) {
      if (!env.tcp) throw new Error('no plain STOMP endpoint (set WHARF_E2E_STOMP_TCP in external mode)')
      const client = new stompjs.Client({
        webSocketFactory: () => new TcpStompSocket(env.tcp.host, env.tcp.port),
        connectHeaders: env.connectHeaders,
        reconnectDelay: 0,
        debug: line => log(`[node stompjs] ${line}`),
        ...opts,
      })
      clients.push(client)
      await new Promise((resolve, reject) => {
        client.onConnect = () => resolve()
        client.onStompError = f => reject(new Error(`STOMP ERROR: ${f.headers.message}`))
        client.onWebSocketClose = () => reject(new Error('TCP connection closed before CONNECTED'))
        client.activate()
      })
      return client
    },
  }
  let failed = false
  try {
    if (external) {
      env.wsUrl = EXTERNAL_WS
      env.tcp = EXTERNAL_TCP ? parseHostPort(EXTERNAL_TCP) : null
    } else {
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wharf-e2e-js-stomp-'))
      // Broker.start() passes --stomp-listen/--stomp-ws-listen 127.0.0.1:0 itself.
      broker = new Broker(dataDir, options.brokerArgs || [])
      env.broker = broker
      await broker.start()
      const tcpPort = await waitForPort(broker, 'stomp')
      const wsPort = await waitForPort(broker, 'stomp websocket')
      env.tcp = { host: '127.0.0.1', port: tcpPort }
      env.wsUrl = `ws://127.0.0.1:${wsPort}/ws`
    }
    log(`endpoint: ${env.wsUrl} tcp=${env.tcp ? `${env.tcp.host}:${env.tcp.port}` : 'none'}`)
    await body(env)
  } catch (err) {
    failed = true
    throw err
  } finally {
    for (const c of clients.reverse()) await c.deactivate().catch(e => log(`deactivate failed: ${e}`))
    let unclean = false
    if (broker) {
      const exit = await broker.stop()
      unclean = exit && (exit.code !== 0 || exit.signal !== null)
      if (failed || unclean) process.stderr.write(`---- broker output (${dataDir}) ----\n${broker.output}\n`)
      fs.rmSync(dataDir, { recursive: true, force: true })
    }
    if (failed || unclean) process.stderr.write(`---- stomp test log ----\n${lines.join('\n')}\n`)
    if (!failed && unclean) throw new Error('broker did not stop cleanly')
  }
}

module.exports = { stompjs, withStomp, TcpStompSocket, waitFor }

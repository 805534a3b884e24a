'use strict'
// STOMP over WebSocket from a real browser: headless Chromium loads a page
// with @stomp/stompjs (stomp_browser.js, stomp_page.html), connects to the
// broker's WebSocket endpoint, subscribes and sends; a node-side stompjs
// client on the plain TCP listener exchanges messages with it. Against
// Wharf by default, or an external broker (stomp_harness.js says how).

const test = require('node:test')
const assert = require('node:assert/strict')
const http = require('node:http')

const { withStomp, waitFor } = require('./stomp_harness')
const { withBrowser } = require('./stomp_browser')

const received = (page, dest) => page.evaluate(d => window.wharf.received[d] || [], dest)

async function waitReceived(page, dest, n) {
  let got = []
  await waitFor(`${n} messages on ${dest} in the browser`, async () => {
    got = await received(page, dest)
    return got.length >= n
  })
  return got
}

// Node-side subscription that collects messages; resolves once the broker
// has confirmed it with a RECEIPT.
function nodeSubscribe(client, destination) {
  const got = []
  const receipt = `node-sub-${destination}`
  const ready = new Promise(resolve => client.watchForReceipt(receipt, resolve))
  client.subscribe(destination, m => got.push({ body: m.body, headers: m.headers }), { receipt })
  return ready.then(() => got)
}

test('a browser publishes to a queue and receives its messages back over WebSocket', async () => {
  await withStomp(async env => {
    await withBrowser(env, async ({ page, frames }) => {
      const info = await page.evaluate((url, h) => window.wharf.connect(url, h), env.wsUrl, env.connectHeaders)
      assert.equal(info.version, '1.2')
      assert.equal(info.protocol, 'v12.stomp') // negotiated WebSocket subprotocol
      const dest = `/queue/${env.name('browser')}`
      await page.evaluate(d => window.wharf.subscribe(d), dest)

      const big = 'x'.repeat(100 * 1024) + 'end' // over 65535 bytes: 64-bit frame lengths both ways
      const sent = [
        { body: 'hello' },
        { body: 'héllo wörld € 😀' },
        { body: big },
        { body: 'with header', headers: { 'x-note': 'a:b' } },
        { body: '' },
      ]
      await page.evaluate((d, m) => window.wharf.send(d, m), dest, sent)
      const got = await waitReceived(page, dest, sent.length)
      assert.deepEqual(got.map(m => m.body), sent.map(m => m.body))
      assert.equal(got[3].headers['x-note'], 'a:b')
      for (const m of got) assert.equal(m.headers.destination, dest)

      // Everything the broker sent was UTF-8, so it came in text WebSocket
      // frames (how STOMP frames are spread over WebSocket messages is the
      // broker's choice: one each, several in one, or cut anywhere).
      assert.ok(frames.length > 0)
      assert.deepEqual([...new Set(frames.map(f => f.opcode))], [1])

      // DISCONNECT, then a normal close. Wharf finishes the close handshake
      // before closing TCP, so the browser calls it clean; RabbitMQ closes TCP
      // right after its close frame, which the browser may not (so external
      // brokers are held to the close code only).
      await page.evaluate(() => window.wharf.disconnect())
      await waitFor('the WebSocket close event', async () => (await page.evaluate(() => window.wharf.closes.length)) > 0)
      const closes = await page.evaluate(() => window.wharf.closes)
      // 1000, or 1005 when the browser closed first without a code (stompjs
      // does after the DISCONNECT receipt) and the server echoed that.
      assert.ok([1000, 1005].includes(closes[0].code), JSON.stringify(closes))
      if (!env.external || process.env.WHARF_E2E_STOMP_CLEAN_CLOSE) assert.equal(closes[0].wasClean, true, JSON.stringify(closes))
    })
  })
})

test('a browser and a node client over TCP exchange messages through queues and a topic', async t => {
  await withStomp(async env => {
    if (!env.tcp) { t.skip('no plain STOMP endpoint (WHARF_E2E_STOMP_TCP)'); return }
    const toNode = `/queue/${env.name('to-node')}`
    const toBrowser = `/queue/${env.name('to-browser')}`
    const topic = `/topic/${env.name('news')}`
    const node = await env.tcpClient()
    const nodeInbox = await nodeSubscribe(node, toNode)
    const nodeNews = await nodeSubscribe(node, topic)

    await withBrowser(env, async ({ page }) => {
      await page.evaluate((url, h) => window.wharf.connect(url, h), env.wsUrl, env.connectHeaders)
      await page.evaluate(d => window.wharf.subscribe(d), toBrowser)
      await page.evaluate(d => window.wharf.subscribe(d), topic)

      // Browser -> node, over a queue.
      const fromBrowser = ['b1', 'b2 ünïcödé', 'b3']
      await page.evaluate((d, bodies) => window.wharf.send(d, bodies.map(body => ({ body }))), toNode, fromBrowser)
      await waitFor('the node client to receive the browser\'s messages', () => nodeInbox.length >= fromBrowser.length)
      assert.deepEqual(nodeInbox.map(m => m.body), fromBrowser)

      // Node -> browser, over a queue; the last SEND carries a receipt.
      const fromNode = ['n1', 'n2', 'n3 ✓']
      const sentAll = new Promise(resolve => node.watchForReceipt('node-sent', resolve))
      fromNode.forEach((body, i) => node.publish({
        destination: toBrowser, body, headers: i === fromNode.length - 1 ? { receipt: 'node-sent' } : {},
      }))
      await sentAll
      const got = await waitReceived(page, toBrowser, fromNode.length)
      assert.deepEqual(got.map(m => m.body), fromNode)

      // A topic: every subscriber, on either transport, gets the message.
      await page.evaluate(d => window.wharf.send(d, [{ body: 'to everyone' }]), topic)
      const news = await waitReceived(page, topic, 1)
      await waitFor('the node client to get the topic message', () => nodeNews.length >= 1)
      assert.equal(news[0].body, 'to everyone')
      assert.equal(nodeNews[0].body, 'to everyone')
      await page.evaluate(() => window.wharf.disconnect())
    })
  })
})

test('a binary body reaches the browser intact', async t => {
  await withStomp(async env => {
    if (env.external && !process.env.WHARF_E2E_STOMP_BINARY) {
      // RabbitMQ Web-STOMP sends every frame as text by default; a browser fails
      // the connection on a text frame that is not UTF-8.
      t.skip('external broker: set WHARF_E2E_STOMP_BINARY=1 if it sends non-UTF-8 bodies in binary frames')
      return
    }
    await withBrowser(env, async ({ page, frames }) => {
      await page.evaluate((url, h) => window.wharf.connect(url, h), env.wsUrl, env.connectHeaders)
      const dest = `/queue/${env.name('binary')}`
      await page.evaluate(d => window.wharf.subscribe(d), dest)
      const bytes = [0, 255, 128, 10, 0, 1, 254, 0xc3]
      await page.evaluate((d, b) => window.wharf.send(d, [{ bytes: b }]), dest, bytes)
      const got = await waitReceived(page, dest, 1)
      assert.deepEqual(got[0].bytes, bytes)
      assert.ok(frames.some(f => f.opcode === 2), 'the message with a non-UTF-8 body came in a binary frame')
      await page.evaluate(() => window.wharf.disconnect())
    })
  })
})

// An HTTP request to the WebSocket port, without the browser: the status it gets.
function upgradeStatus(wsUrl, path, headers) {
  const u = new URL(wsUrl)
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path, headers })
    req.on('response', res => { res.resume(); resolve(res.statusCode) })
    req.on('upgrade', (res, socket) => { socket.destroy(); resolve(res.statusCode) })
    req.on('error', reject)
    req.end()
  })
}

test('the WebSocket endpoint refuses what is not an upgrade to its path', async () => {
  await withStomp(async env => {
    const path = new URL(env.wsUrl).pathname
    const upgrade = {
      Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13',
      'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Protocol': 'v12.stomp',
    }
    assert.equal(await upgradeStatus(env.wsUrl, path, upgrade), 101)
    assert.equal(await upgradeStatus(env.wsUrl, `${path.replace(/\/$/, '')}/not-here`, upgrade), 404)
    assert.equal(await upgradeStatus(env.wsUrl, path, {}), 426) // a plain GET
  })
})

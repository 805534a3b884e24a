'use strict'
// Headless Chromium for the STOMP-over-WebSocket tests: serves
// stomp_page.html and stompjs's UMD bundle from a node http server on a
// kernel-chosen port, opens the page with puppeteer-core in Debian's
// chromium (/usr/bin/chromium, or $WHARF_E2E_CHROMIUM; puppeteer-core never
// downloads a browser) and hands the page to the test, which drives the
// page's window.wharf API (stomp_page.html) with page.evaluate.

const fs = require('node:fs')
const http = require('node:http')
const path = require('node:path')

function requirePuppeteer() {
  try {
    return require('puppeteer-core')
  } catch (e) {
    throw new Error(`puppeteer-core is not installed: run \`npm ci\` in ${__dirname} (scripts/test does this)\n${e.message}`)
  }
}
const puppeteer = requirePuppeteer()

const CHROMIUM = process.env.WHARF_E2E_CHROMIUM || '/usr/bin/chromium'

function startPageServer() {
  // The package's "exports" do not list the bundle, so it is found by path.
  const bundle = path.join(__dirname, 'node_modules', '@stomp', 'stompjs', 'bundles', 'stomp.umd.js')
  const files = {
    '/': { file: path.join(__dirname, 'stomp_page.html'), type: 'text/html; charset=utf-8' },
    '/stomp.umd.js': { file: bundle, type: 'text/javascript; charset=utf-8' },
  }
  const server = http.createServer((req, res) => {
    const f = files[req.url]
    if (!f) { res.writeHead(req.url === '/favicon.ico' ? 204 : 404).end(); return }
    res.writeHead(200, { 'Content-Type': f.type })
    fs.createReadStream(f.file).pipe(res)
  })
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve(server))
  })
}

// Runs body({ page, newPage, frames }) with a browser page showing
// stomp_page.html. `frames` collects, from the DevTools protocol, every
// WebSocket frame the first page receives: { opcode (1 text, 2 binary),
// payload }, so a test can see how the server framed its messages. Console
// output and page errors go to env.log (printed on failure).
async function withBrowser(env, body) {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM}: apt-get install chromium (scripts/deps.sh test does)`)
  const server = await startPageServer()
  const origin = `http://127.0.0.1:${server.address().port}`
  let browser = null
  try {
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      // root in a container: no user namespaces for the sandbox; no GPU.
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    })
    const newPage = async () => {
      const page = await browser.newPage()
      page.on('console', m => env.log(`[page console] ${m.text()}`))
      page.on('pageerror', e => env.log(`[page error] ${e.message}`))
      await page.goto(`${origin}/`)
      await page.waitForFunction(() => typeof window.wharf === 'object' && typeof window.StompJs === 'object')
      return page
    }
    const page = await newPage()
    const frames = []
    const cdp = await page.target().createCDPSession()
    await cdp.send('Network.enable')
    cdp.on('Network.webSocketFrameReceived', ev => {
      frames.push({ opcode: ev.response.opcode, payload: ev.response.payloadData })
    })
    try {
      await body({ page, newPage, frames })
    } finally {
      // The page's stompjs debug log, for a failing test's output.
      for (const p of await browser.pages()) {
        const lines = await p.evaluate(() => (window.wharf ? window.wharf.log : [])).catch(() => [])
        for (const l of lines) env.log(`[page stompjs] ${l}`)
      }
    }
  } finally {
    if (browser) await browser.close()
    server.close()
  }
}

module.exports = { withBrowser }

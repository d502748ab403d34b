// A browser dashboard, as a person would build one: a page in headless Chromium loads MQTT.js's
// browser bundle from a plain web server, connects over WebSockets to the broker at /mqtt of
// Node-RED's own HTTP server (the broker node's wsPath), shows a message the flow sends, and
// publishes one the flow receives.
import assert from 'node:assert/strict'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { type Browser, chromium } from 'playwright-core'
import { collect, embeddedBroker, helper, listeningBroker, roost, startServer, stopServer } from './support'

const WAIT_MS = 30_000
const bundle = readFileSync(path.resolve(__dirname, '../../node_modules/mqtt/dist/mqtt.min.js'))

/** The dashboard: connects to the broker URL in its query string and shows what it receives. */
const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>dashboard</title><script src="/mqtt.min.js"></script></head>
<body><p id="state">connecting</p><p id="gauge"></p>
<script>
  const client = mqtt.connect(new URLSearchParams(location.search).get('broker'), { clientId: 'browser-dashboard', reconnectPeriod: 0 })
  client.on('connect', () => {
    client.subscribe('dash/out/#', { qos: 1 }, () => { document.getElementById('state').textContent = 'subscribed' })
  })
  client.on('message', (topic, payload) => {
    document.getElementById('gauge').textContent = topic + ' = ' + payload.toString()
    client.publish('dash/in/ack', 'seen ' + payload.toString(), { qos: 1 })
  })
  client.on('error', (error) => { document.getElementById('state').textContent = 'error: ' + error.message })
</script></body></html>`

function serveDashboard (): Promise<http.Server> {
  const server = http.createServer((request, response) => {
    if (request.url === '/mqtt.min.js') {
      response.writeHead(200, { 'Content-Type': 'text/javascript' })
      response.end(bundle)
    } else {
      response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' })
      response.end(PAGE)
    }
  })
  return new Promise((resolve) => { server.listen(0, '127.0.0.1', () => { resolve(server) }) })
}

describe('a browser dashboard on Node-RED\'s /mqtt path', { timeout: 90_000 }, () => {
  let browser: Browser
  let web: http.Server

  before(async () => {
    await startServer()
    web = await serveDashboard()
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
    })
  })
  after(async () => {
    await browser?.close()
    await helper.unload()
    await new Promise<void>((resolve) => { web?.close(() => { resolve() }) })
    await stopServer()
  })

  it('shows a message from the flow and sends one back, over MQTT.js in Chromium', async () => {
    await helper.load(roost, [
      embeddedBroker('b1', { wsPath: '/mqtt' }),
      { id: 'in1', type: 'roost in', broker: 'b1', topic: 'dash/in/#', qos: '1', datatype: 'utf8', wires: [['sink']] },
      { id: 'sink', type: 'helper' },
      { id: 'out1', type: 'roost out', broker: 'b1', topic: '', qos: '', retain: '' }
    ])
    const { broker } = await listeningBroker('b1')
    await helper.getNode('b1').transport.ready()
    const page = await browser.newPage()
    page.setDefaultTimeout(WAIT_MS)
    const brokerUrl = helper.url().replace(/^http/, 'ws') + '/mqtt'
    const { port: webPort } = web.address() as AddressInfo
    await page.goto(`http://127.0.0.1:${webPort}/?broker=${encodeURIComponent(brokerUrl)}`)
    // Expressions evaluated in the page, where `document` is.
    await page.waitForFunction("document.getElementById('state').textContent === 'subscribed'")
    assert.deepEqual(broker.clients().map((info) => info.clientId), ['browser-dashboard'])

    const ack = collect(helper.getNode('sink'), 1)
    helper.getNode('out1').receive({ topic: 'dash/out/temperature', payload: '21.5' })
    await page.waitForFunction("document.getElementById('gauge').textContent !== ''")
    assert.equal(await page.locator('#gauge').innerText(), 'dash/out/temperature = 21.5')
    const [msg] = await ack
    assert.deepEqual([msg?.topic, msg?.payload], ['dash/in/ack', 'seen 21.5'])
    await page.close()
  })
})

// The topic explorer in the editor, in headless Chromium, with adminAuth users: Python paho
// publishes 10,000 retained topics and mosquitto_pub -l a stream on one topic; the view shows the
// tree with its counts, draws only the rows in sight, pretty-prints a JSON value, and the stream's
// rate moves; a publish from the view reaches mosquitto_sub; clearing a retained message removes
// it for a new subscriber; a read-only user is refused a publish. Screenshots in test-output/.
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { Page } from 'playwright-core'
import { type EditorSession, outputDir, root, run, startEditorSession, WAIT_MS } from './editor-session'

const PASSWORD = 'correct horse'
const ROOMS = 100
const SENSORS = 100

async function logIn (page: Page, editorPort: number, username: string): Promise<void> {
  await page.goto(`http://127.0.0.1:${editorPort}/`)
  await page.fill('#node-dialog-login-username', username)
  await page.fill('#node-dialog-login-password', PASSWORD)
  await page.click('#node-dialog-login-submit')
  // The editor is ready once the palette lists the package's nodes.
  await page.waitForSelector('.red-ui-palette-node[data-palette-type="roost in"]')
}

async function openTopics (page: Page): Promise<void> {
  await page.evaluate('RED.sidebar.show("roost")')
  await page.waitForSelector('.roost-sidebar-switch button[data-view=topics]', { state: 'visible' })
  await page.click('.roost-sidebar-switch button[data-view=topics]')
  await page.waitForSelector('.roost-explorer-row[data-path="house"]')
}

function row (page: Page, topic: string): ReturnType<Page['locator']> {
  return page.locator(`.roost-explorer-row[data-path="${topic}"]`)
}

describe('topic explorer in the editor', () => {
  let session: EditorSession
  let stream: ReturnType<typeof spawn> | undefined

  before(async () => {
    const bcrypt = require('bcryptjs') as { hashSync: (text: string, rounds: number) => string }
    session = await startEditorSession({
      type: 'credentials',
      users: [
        { username: 'admin', password: bcrypt.hashSync(PASSWORD, 8), permissions: '*' },
        { username: 'viewer', password: bcrypt.hashSync(PASSWORD, 8), permissions: 'read' }
      ]
    })
    const bulk = spawnSync('/usr/bin/python3', [path.join(root, 'test/nodes/explorer-bulk.py'), String(session.mqttPort), String(ROOMS), String(SENSORS)], { encoding: 'utf8', timeout: WAIT_MS * 2 })
    assert.equal(bulk.status, 0, bulk.stderr)
  })

  after(async () => {
    stream?.stdin?.end()
    stream?.kill('SIGTERM')
    await session?.stop()
  })

  it('shows the tree of 10,000 retained topics with counts, drawing only the rows in sight', async () => {
    const { page, editorPort } = session
    await logIn(page, editorPort, 'admin')
    await openTopics(page)
    // The starter flow's own messages and $SYS are there too: house holds exactly the bulk and config.
    await page.waitForFunction(`(document.querySelector('.roost-explorer-row[data-path="house"] .roost-explorer-counts')?.textContent ?? '').includes('${ROOMS * SENSORS + 1} topics')`, undefined, { timeout: WAIT_MS })
    assert.match(await page.locator('.roost-explorer-count').innerText(), /^\d+ topics/)
    await row(page, 'house').locator('.roost-explorer-caret').click()
    // Rooms sort by name: room0, room1, room10 ... so room1 is the second row under house.
    await row(page, 'house/room1').waitFor()
    assert.match(await row(page, 'house/room1').innerText(), /\(100 topics, 100 msgs\)/)
    await row(page, 'house/room1').locator('.roost-explorer-caret').click()
    await row(page, 'house/room1/sensor0').waitFor()
    assert.match(await row(page, 'house/room1/sensor0').innerText(), /= \{"t": 20, "unit": "C"\}/)
    // 100 rooms, 100 sensors of one of them and the config are rows of the list; far fewer are in the DOM.
    const drawn = await page.locator('.roost-explorer-row').count()
    const listHeight = await page.evaluate("parseFloat(document.querySelector('.roost-explorer-spacer').style.height)") as number
    assert.ok(listHeight / 22 > 200, `the list has ${listHeight / 22} rows`)
    assert.ok(drawn < 60, `${drawn} rows in the DOM`)
    await page.screenshot({ path: path.join(outputDir, 'explorer-tree.png') })
  })

  it('pretty-prints a JSON value, foldable', async () => {
    const { page } = session
    await page.fill('.roost-explorer-search', 'house/config')
    await row(page, 'house/config').click()
    await page.waitForSelector('.roost-explorer-value[data-kind=json]')
    const summary = await page.locator('.roost-explorer-value > details > summary').innerText()
    assert.equal(summary, '{3}')
    assert.equal(await page.locator('.roost-explorer-value .roost-explorer-json-leaf:has-text("name:")').innerText(), 'name: "house"')
    await page.screenshot({ path: path.join(outputDir, 'explorer-json.png') })
    await page.fill('.roost-explorer-search', '')
  })

  it('a stream on one topic: the row appears, its rate and its history chart move', async () => {
    const { page, mqttPort } = session
    stream = spawn('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(mqttPort), '-i', 'explorer-stream', '-t', 'stream/power', '-l'], { stdio: ['pipe', 'ignore', 'ignore'] })
    const lines = stream.stdin
    let value = 0
    const ticker = setInterval(() => { lines?.write(`${100 + (value++ % 20)}\n`) }, 20)
    try {
      await page.check('.roost-explorer-changes input')
      // Folded, house leaves room for the rows after it: $SYS, house, roost, stream.
      await row(page, 'house').locator('.roost-explorer-caret').click()
      await page.waitForSelector('.roost-explorer-row[data-path="stream"]', { timeout: WAIT_MS })
      await row(page, 'stream').locator('.roost-explorer-caret').click()
      await row(page, 'stream/power').waitFor()
      const rateOf = async (): Promise<number> => Number((/([\d.]+) msg\/s/.exec(await row(page, 'stream/power').innerText()) ?? [])[1] ?? 0)
      await page.waitForFunction("/[1-9][\\d.]* msg\\/s/.test(document.querySelector('.roost-explorer-row[data-path=\"stream/power\"]')?.textContent ?? '')", undefined, { timeout: WAIT_MS })
      const first = await rateOf()
      await page.waitForFunction(`(() => { const m = /([\\d.]+) msg\\/s/.exec(document.querySelector('.roost-explorer-row[data-path="stream/power"]')?.textContent ?? ''); return m !== null && Number(m[1]) !== ${first} })()`, undefined, { timeout: WAIT_MS })
      assert.ok(await rateOf() > 0)
      await row(page, 'stream/power').click()
      await page.waitForSelector('.roost-explorer-chart polyline')
      await page.waitForSelector('.roost-explorer-row.roost-explorer-changed')
      await page.screenshot({ path: path.join(outputDir, 'explorer-stream.png') })
    } finally {
      clearInterval(ticker)
    }
    // Once the stream stops, the level above counts exactly the topic's messages: deltas add up.
    const counted = `(() => {
      const messages = (path) => Number((/, (\\d+) msgs\\)/.exec(document.querySelector('.roost-explorer-row[data-path="' + path + '"]')?.textContent ?? '') ?? [])[1] ?? -1)
      return messages('stream') > 0 && messages('stream') === messages('stream/power')
    })()`
    await page.waitForFunction(counted, undefined, { timeout: WAIT_MS })
  })

  it('a publish from the view reaches mosquitto_sub', async () => {
    const { page, mqttPort } = session
    const subscriber = spawn('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(mqttPort), '-i', 'explorer-sub', '-t', 'view/out', '-C', '1', '-W', '30'], { stdio: ['ignore', 'pipe', 'ignore'] })
    let received = ''
    subscriber.stdout?.on('data', (chunk: Buffer) => { received += chunk.toString() })
    const exited = new Promise<void>((resolve) => { subscriber.once('exit', () => { resolve() }) })
    // mosquitto_sub has subscribed once the broker lists it with one subscription.
    await page.waitForFunction(async () => {
      const live = await (await fetch('roost/live', { headers: { authorization: 'Bearer ' + JSON.parse((globalThis as unknown as { localStorage: { getItem: (key: string) => string | null } }).localStorage.getItem('auth-tokens') ?? '{}').access_token } })).json() as { brokers: Array<{ clients: Array<{ clientId: string, subscriptions: number }> }> }
      return live.brokers.some((broker) => broker.clients.some((client) => client.clientId === 'explorer-sub' && client.subscriptions === 1))
    }, undefined, { timeout: WAIT_MS, polling: 200 })
    await page.click('.roost-explorer-publish > summary')
    await page.fill('.roost-explorer-pub-topic', 'view/out')
    await page.fill('.roost-explorer-pub-payload', 'hello from the view')
    await page.click('.roost-explorer-pub-send')
    await exited
    assert.equal(received.trim(), 'hello from the view')
    assert.equal(await page.locator('.roost-explorer-pub-status').innerText(), 'Published')
  })

  it('clearing a retained message removes it for a new subscriber', async () => {
    const { page, mqttPort } = session
    await page.fill('.roost-explorer-search', 'house/room3/sensor5')
    await row(page, 'house/room3/sensor5').click()
    await page.click('.roost-explorer-clearRetained')
    await page.waitForSelector('.roost-explorer-status:has-text("Retained message cleared")')
    const late = await run('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(mqttPort), '-i', 'explorer-late', '-t', 'house/room3/#', '-v', '-W', '3'])
    const topics = late.stdout.trim().split('\n').map((line) => line.split(' ')[0])
    assert.equal(topics.length, SENSORS - 1)
    assert.ok(!topics.includes('house/room3/sensor5'))
    await page.fill('.roost-explorer-search', '')
  })

  it('a read-only user browses but is refused a publish', async () => {
    const { page, editorPort } = session
    await page.evaluate('RED.user.logout()')
    await page.waitForSelector('#node-dialog-login-username')
    await logIn(page, editorPort, 'viewer')
    await openTopics(page)
    await page.click('.roost-explorer-publish > summary')
    await page.fill('.roost-explorer-pub-topic', 'view/denied')
    await page.fill('.roost-explorer-pub-payload', 'no')
    await page.click('.roost-explorer-pub-send')
    await page.waitForSelector('.roost-explorer-pub-status:has-text("Not allowed")')
    await page.screenshot({ path: path.join(outputDir, 'explorer-read-only.png') })
  })
})

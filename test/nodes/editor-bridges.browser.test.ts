// The roost-broker Bridges tab as a person uses it, in headless Chromium against `npm start`
// (scripts/start.mjs) on free ports, with Debian's mosquitto started here as the remote broker
// (password file and ACL, so only the bridge's own user may use site/#): add a bridge with one
// topic row (the editor refusing a wildcard prefix until it is fixed), deploy, and see messages
// cross both ways, the password only in the credentials, the link in the Roost sidebar and in
// the dialog opened again. Screenshots go to test-output/.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import type { MqttClient } from 'mqtt'
import type { Page } from 'playwright-core'
import { type Mosquitto, tempDir } from '../client/helpers'
import { startGuardedMosquitto } from '../bridge/helpers'
import { type EditorSession, outputDir, run, startEditorSession } from './editor-session'

const BROKER_ID = 'roost-starter-broker'
const ATTEMPTS = 100

describe('roost-broker Bridges tab in headless Chromium', { timeout: 180_000 }, () => {
  const temp = tempDir('editor-bridge')
  let session: EditorSession
  let page: Page
  let mosquitto: Mosquitto
  let remote: MqttClient

  before(async () => {
    ;({ mosquitto, tester: remote } = await startGuardedMosquitto(temp.dir))
    session = await startEditorSession()
    page = session.page
  })

  after(async () => {
    await session?.stop()
    await remote?.endAsync()
    await mosquitto?.stop()
    temp.remove()
  })

  async function openBridgesTab (): Promise<void> {
    await page.evaluate(`RED.editor.editConfig('', 'roost-broker', '${BROKER_ID}')`)
    await page.waitForSelector('#node-config-input-port')
    // Node-RED's tab bar reads two clicks within 400 ms as a double click (rename), not a switch.
    await page.waitForTimeout(450)
    await page.click('#red-ui-tab-roost-broker-tab-bridges a')
    await page.waitForSelector('.roost-broker-bridges-row .red-ui-editableList-addButton:visible')
  }

  async function deploy (): Promise<void> {
    await page.click('#node-config-dialog-ok')
    await page.waitForSelector('#node-config-input-port', { state: 'detached' })
    // An earlier deploy's notification must be gone, or it would be taken for this one's.
    await page.waitForSelector('.red-ui-notification:has-text("Successfully deployed")', { state: 'detached' })
    await page.click('#red-ui-header-button-deploy')
    await page.waitForSelector('.red-ui-notification:has-text("Successfully deployed")')
  }

  /** Publishes on Roost with mosquitto_pub until mosquitto's subscriber has the message under site/. */
  async function crossOut (sensor: string, value: string): Promise<string | undefined> {
    const at = ['-h', '127.0.0.1', '-p', String(session.mqttPort), '-q', '1']
    let crossed: string | undefined
    const listener = (topic: string, payload: Buffer): void => { if (topic === `site/sensors/${sensor}`) crossed = payload.toString() }
    remote.on('message', listener)
    try {
      for (let attempt = 0; attempt < ATTEMPTS && crossed === undefined; attempt++) {
        await run('mosquitto_pub', [...at, '-t', `home/sensors/${sensor}`, '-m', value])
        if (crossed === undefined) await new Promise((resolve) => setTimeout(resolve, 100))
      }
    } finally {
      remote.off('message', listener)
    }
    return crossed
  }

  it('adds a bridge with one topic row, checked as it is typed, and deploys it', async () => {
    await page.goto(`http://127.0.0.1:${session.editorPort}/`)
    await page.waitForSelector('#roost-starter-in')
    await openBridgesTab()
    await page.locator('.roost-broker-bridges-row .red-ui-editableList-addButton').first().click()
    await page.fill('.roost-bridge-name', 'cloud')
    await page.fill('.roost-bridge-addresses', `127.0.0.1:${mosquitto.port}`)
    await page.fill('.roost-bridge-clientid', 'roost-home')
    await page.fill('.roost-bridge-username', 'home')
    await page.fill('.roost-bridge-password', 'home-secret')
    await page.selectOption('.roost-bridge-protocol', 'mqttv50')
    // The new bridge comes with one topic row: make it `sensors/# both 1 home/ site/`.
    assert.equal(await page.locator('.roost-bridge-topic').count(), 1)
    await page.fill('.roost-bridge-topic-pattern', 'sensors/#')
    await page.selectOption('.roost-bridge-topic-direction', 'both')
    await page.selectOption('.roost-bridge-topic-qos', '1')
    await page.fill('.roost-bridge-topic-local', 'home/#')
    // A prefix with a wildcard is refused as it is typed (mosquitto.conf(5), topic).
    await page.waitForSelector('.roost-bridge-topic-local.input-error')
    assert.equal(await page.textContent('.roost-bridge-topic-problem'), 'Prefixes may not contain + or #')
    await page.fill('.roost-bridge-topic-local', 'home/')
    await page.fill('.roost-bridge-topic-remote', 'site/')
    assert.equal(await page.locator('.roost-bridge .input-error').count(), 0)
    assert.equal(await page.textContent('.roost-bridge-problem'), '')
    await page.locator('.roost-bridge-topics').scrollIntoViewIfNeeded()
    await page.screenshot({ path: path.join(outputDir, 'roost-broker-bridges.png') })
    await deploy()

    const broker = (JSON.parse(readFileSync(path.join(session.userDir, 'flows.json'), 'utf8')) as Array<Record<string, unknown>>).find((node) => node.id === BROKER_ID)
    assert.deepEqual(broker?.bridges, [{
      name: 'cloud',
      addresses: `127.0.0.1:${mosquitto.port}`,
      remoteClientId: 'roost-home',
      tls: '',
      protocolVersion: 'mqttv50',
      cleanSession: false,
      keepalive: '60',
      startType: 'automatic',
      tryPrivate: true,
      notifications: true,
      topics: [{ pattern: 'sensors/#', direction: 'both', qos: 1, localPrefix: 'home/', remotePrefix: 'site/' }]
    }])
    // The password lives in the credentials only, which the editor is never sent back.
    assert.ok(!readFileSync(path.join(session.userDir, 'flows.json'), 'utf8').includes('home-secret'))
    const credentials = await (await fetch(`http://127.0.0.1:${session.editorPort}/credentials/roost-broker/${BROKER_ID}`)).json() as Record<string, unknown>
    assert.deepEqual({ users: credentials.bridgeUsers, hasPasswords: credentials.has_bridgePasswords, passwords: credentials.bridgePasswords }, { users: '{"cloud":"home"}', hasPasswords: true, passwords: undefined })
  })

  it('the deployed bridge carries messages both ways through mosquitto, logged in as its user', async () => {
    assert.equal(await crossOut('kitchen', '21.5'), '21.5')
    const at = ['-h', '127.0.0.1', '-p', String(session.mqttPort), '-q', '1']
    // And back: published on mosquitto under site/, read on Roost under home/.
    const reading = run('mosquitto_sub', [...at, '-t', 'home/sensors/hall', '-C', '1', '-W', '20'])
    await new Promise((resolve) => setTimeout(resolve, 300))
    for (let attempt = 0; attempt < 20; attempt++) {
      await remote.publishAsync('site/sensors/hall', '19', { qos: 1 })
      const done = await Promise.race([reading.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 500))])
      if (done) break
    }
    assert.equal((await reading).stdout, '19\n')
  })

  it('the Roost sidebar and the dialog opened again show the bridge connected; the password is not shown', async () => {
    await page.evaluate("RED.sidebar.show('roost')")
    const state = page.locator('.roost-sidebar-bridge[data-bridge="cloud"] .roost-sidebar-bridge-state')
    await state.waitFor()
    assert.equal(await state.textContent(), 'connected')
    await page.screenshot({ path: path.join(outputDir, 'roost-sidebar-bridges.png') })
    await openBridgesTab()
    await page.waitForSelector('.roost-bridge-status:has-text("connected")')
    assert.equal(await page.textContent('.roost-bridge-status'), `Deployed: connected, 127.0.0.1:${mosquitto.port}`)
    assert.equal(await page.inputValue('.roost-bridge-username'), 'home')
    assert.equal(await page.inputValue('.roost-bridge-password'), '')
    assert.equal(await page.getAttribute('.roost-bridge-password', 'placeholder'), 'stored: leave empty to keep')
    // A change deployed without typing the password again keeps the stored one: the bridge logs in again.
    await page.fill('.roost-bridge-keepalive', '30')
    await deploy()
    const broker = (JSON.parse(readFileSync(path.join(session.userDir, 'flows.json'), 'utf8')) as Array<Record<string, unknown>>).find((node) => node.id === BROKER_ID)
    assert.equal((broker?.bridges as Array<Record<string, unknown>>)[0]?.keepalive, '30')
    assert.equal(await crossOut('garage', '12'), '12')
  })
})

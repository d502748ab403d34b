// Two Node-RED processes (`npm start`, scripts/start.mjs, on free ports) pointed at one nats-server
// that wants a user and password are one broker. The first is set up as a person does it, in
// headless Chromium: the roost-broker's Cluster tab filled in and deployed. The second gets its flow
// through Node-RED's admin API: a roost-broker in the same cluster and a `roost in` on plant/# wired
// to a debug node that writes to Node-RED's log. A message an MQTT.js client publishes on the first
// one's port reaches that `roost in` on the second. Screenshots go to test-output/.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import mqtt, { type MqttClient } from 'mqtt'
import type { Page } from 'playwright-core'
import { type NatsServer, startNatsServer } from '../cluster/nats-server'
import { type EditorSession, type NodeRedProcess, outputDir, startEditorSession, startNodeRed, WAIT_MS } from './editor-session'

const BROKER_ID = 'roost-starter-broker'
const ATTEMPTS = 100
const NATS_USER = 'roost'
const NATS_PASSWORD = 'nats-s3cret'

/** Resolves once `condition()` holds, looked at every 100 ms; fails after WAIT_MS naming `what`. */
async function until (condition: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !condition(); waited += 100) {
    if (waited >= WAIT_MS) throw new Error(`${what}: not within ${WAIT_MS} ms`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/** The second Node-RED's flow: a clustered broker, and `roost in` plant/# into a debug node that logs. */
function secondFlow (mqttPort: number, natsUrl: string): unknown[] {
  const tab = 'cluster-two-tab'
  return [
    { id: tab, type: 'tab', label: 'Cluster two' },
    {
      id: 'cluster-two-broker',
      type: 'roost-broker',
      name: 'Second broker',
      mode: 'embedded',
      port: String(mqttPort),
      bindAddress: '127.0.0.1',
      allowAnonymous: true,
      persistence: false,
      clusterEnabled: true,
      clusterServers: natsUrl,
      clusterNodeId: 'red-two',
      // Credentials sent with a deploy go to the credentials file, not to the flow.
      credentials: { clusterUser: NATS_USER, clusterPassword: NATS_PASSWORD }
    },
    { id: 'cluster-two-in', type: 'roost in', z: tab, broker: 'cluster-two-broker', topic: 'plant/#', qos: '0', datatype: 'utf8', inputs: 0, wires: [['cluster-two-debug']] },
    { id: 'cluster-two-debug', type: 'debug', z: tab, active: true, tosidebar: false, console: true, complete: 'payload', targetType: 'msg', wires: [] }
  ]
}

describe('roost-broker Cluster tab in headless Chromium: two Node-RED on one NATS are one broker', { timeout: 240_000 }, () => {
  let nats: NatsServer
  let session: EditorSession
  let second: NodeRedProcess
  let page: Page
  let publisher: MqttClient | undefined

  before(async () => {
    nats = await startNatsServer({ config: [`authorization { users: [ { user: ${NATS_USER}, password: "${NATS_PASSWORD}" } ] }`] })
    session = await startEditorSession()
    second = await startNodeRed()
    page = session.page
  })

  after(async () => {
    await publisher?.endAsync()
    await session?.stop()
    await second?.stop()
    await nats?.stop()
  })

  it('fills the Cluster tab (servers, node name, NATS user and password) and deploys', async () => {
    await page.goto(`http://127.0.0.1:${session.editorPort}/`)
    await page.waitForSelector('#roost-starter-in')
    await page.evaluate(`RED.editor.editConfig('', 'roost-broker', '${BROKER_ID}')`)
    await page.waitForSelector('#node-config-input-port')
    // Node-RED's tab bar reads two clicks within 400 ms as a double click (rename), not a switch.
    await page.waitForTimeout(450)
    await page.click('#red-ui-tab-roost-broker-tab-cluster a')
    await page.waitForSelector('#node-config-input-clusterEnabled:visible')
    assert.equal(await page.isVisible('#node-config-input-clusterServers'), false, 'the settings show once clustering is ticked')
    await page.check('#node-config-input-clusterEnabled')
    await page.fill('#node-config-input-clusterServers', 'http://not-nats')
    await page.waitForSelector('#node-config-input-clusterServers.input-error')
    await page.fill('#node-config-input-clusterServers', nats.url)
    await page.fill('#node-config-input-clusterNodeId', 'red-one')
    await page.fill('#node-config-input-clusterUser', NATS_USER)
    await page.fill('#node-config-input-clusterPassword', NATS_PASSWORD)
    assert.equal(await page.locator('#roost-broker-tab-cluster .input-error').count(), 0)
    await page.screenshot({ path: path.join(outputDir, 'roost-broker-cluster.png') })
    await page.click('#node-config-dialog-ok')
    await page.waitForSelector('#node-config-input-port', { state: 'detached' })
    await page.click('#red-ui-header-button-deploy')
    await page.waitForSelector('.red-ui-notification:has-text("Successfully deployed")')
    await until(() => session.output().includes('Cluster: node red-one connected to NATS'), 'the first Node-RED joins the cluster')

    const flows = readFileSync(path.join(session.userDir, 'flows.json'), 'utf8')
    const broker = (JSON.parse(flows) as Array<Record<string, unknown>>).find((node) => node.id === BROKER_ID)
    assert.deepEqual([broker?.clusterEnabled, broker?.clusterServers, broker?.clusterNodeId], [true, nats.url, 'red-one'])
    // The NATS password lives in the credentials only, which the editor is never sent back.
    assert.ok(!flows.includes(NATS_PASSWORD))
    const credentials = await (await fetch(`http://127.0.0.1:${session.editorPort}/credentials/roost-broker/${BROKER_ID}`)).json() as Record<string, unknown>
    assert.deepEqual([credentials.clusterUser, credentials.has_clusterPassword, credentials.clusterPassword], [NATS_USER, true, undefined])
  })

  it('a message an MQTT.js client publishes on the first Node-RED reaches a roost in on the second', async () => {
    const deployed = await fetch(`http://127.0.0.1:${second.editorPort}/flows`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Node-RED-Deployment-Type': 'full' },
      body: JSON.stringify(secondFlow(second.mqttPort, nats.url))
    })
    assert.equal(deployed.status, 204, await deployed.text())
    await until(() => second.output().includes('Cluster: node red-two connected to NATS'), 'the second Node-RED joins the cluster')

    publisher = mqtt.connect({ host: '127.0.0.1', port: session.mqttPort, clientId: 'cluster-editor-pub', reconnectPeriod: 0 })
    await new Promise<void>((resolve, reject) => { publisher?.once('connect', () => { resolve() }); publisher?.once('error', reject) })
    // The second node's interest reaches NATS on its own time: publish until its debug node logs one.
    const arrived = (): boolean => second.output().includes('pump running across the cluster')
    for (let attempt = 0; attempt < ATTEMPTS && !arrived(); attempt++) {
      await publisher.publishAsync('plant/pump', 'pump running across the cluster')
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    assert.ok(arrived(), second.output())
  })

  it('the Roost sidebar shows the broker as a cluster node connected to NATS', async () => {
    await page.evaluate("RED.sidebar.show('roost')")
    const line = page.locator('.roost-sidebar-cluster[data-cluster-state="connected"]')
    await line.waitFor()
    assert.equal(await line.textContent(), 'Cluster node red-one: connected to NATS')
    await page.screenshot({ path: path.join(outputDir, 'roost-sidebar-cluster.png') })
  })
})

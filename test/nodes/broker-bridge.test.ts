// A roost-broker node with a bridge from its Bridges tab, deployed by Node-RED's test helper,
// against Debian's mosquitto started here on a free loopback port with a password file and ACL:
// the bridge logs in with the user name and password kept in the node's credentials, messages
// from roost out cross to mosquitto and messages published on mosquitto reach roost in, the link
// state reaches the Roost sidebar's endpoint, and a redeploy (which keeps the stored password)
// bridges again.
import assert from 'node:assert/strict'
import { after, afterEach, before, describe, it } from 'node:test'
import type { MqttClient } from 'mqtt'
import { type Mosquitto, tempDir } from '../client/helpers'
import { bridgeReaches, startGuardedMosquitto } from '../bridge/helpers'
import { LIVE_VIEW_PATH } from '../../nodes/sidebar/runtime'
import { type FlowNode, helper, listeningBroker, type Msg, roost, startServer, stopServer } from './support'

const ATTEMPTS = 100
const PAUSE_MS = 100

function bridgeFlow (mosquittoPort: number, topicPrefix: string, credentials?: Record<string, string>): FlowNode[] {
  const broker: FlowNode = {
    id: 'b1',
    type: 'roost-broker',
    name: 'home',
    mode: 'embedded',
    port: 0,
    bindAddress: '127.0.0.1',
    allowAnonymous: true,
    sysInterval: 0,
    bridges: [{
      name: 'cloud',
      addresses: `127.0.0.1:${mosquittoPort}`,
      remoteClientId: 'roost-home',
      tls: '',
      protocolVersion: 'mqttv311',
      cleanSession: true,
      keepalive: '60',
      startType: 'automatic',
      tryPrivate: true,
      notifications: true,
      topics: [
        { pattern: 'up/#', direction: 'out', qos: '1', localPrefix: 'home/', remotePrefix: `${topicPrefix}/` },
        { pattern: 'down/#', direction: 'in', qos: '1', localPrefix: 'home/', remotePrefix: `${topicPrefix}/` }
      ]
    }]
  }
  // As the editor sends it on deploy: the credentials ride along with the node, and '__PWRD__'
  // stands for a password the editor was never shown and did not change.
  if (credentials !== undefined) broker.credentials = credentials
  return [
    broker,
    { id: 'out1', type: 'roost out', broker: 'b1', topic: '', qos: '1', retain: 'false' },
    { id: 'in1', type: 'roost in', broker: 'b1', topic: 'home/down/#', qos: '1', datatype: 'utf8', wires: [['sink']] },
    { id: 'sink', type: 'helper' }
  ]
}

async function pause (): Promise<void> { await new Promise((resolve) => setTimeout(resolve, PAUSE_MS)) }

/** Publishes from roost out until mosquitto's subscriber has one: the bridge's local subscription is in place by then. */
async function crossOut (remote: MqttClient, localTopic: string, remoteTopic: string): Promise<string> {
  let arrived: string | undefined
  const listener = (topic: string, payload: Buffer): void => { if (topic === remoteTopic) arrived = payload.toString() }
  remote.on('message', listener)
  try {
    for (let attempt = 0; attempt < ATTEMPTS && arrived === undefined; attempt++) {
      helper.getNode('out1').receive({ topic: localTopic, payload: `reading-${attempt}` })
      await pause()
    }
  } finally {
    remote.off('message', listener)
  }
  assert.ok(arrived !== undefined, `nothing crossed from ${localTopic} to ${remoteTopic}`)
  return arrived
}

/** Publishes on mosquitto until roost in has one: the bridge's remote subscription is in place by then. */
async function crossIn (remote: MqttClient, remoteTopic: string): Promise<Msg> {
  let arrived: Msg | undefined
  helper.getNode('sink').on('input', (msg: Msg) => { arrived ??= msg })
  for (let attempt = 0; attempt < ATTEMPTS && arrived === undefined; attempt++) {
    await remote.publishAsync(remoteTopic, 'on', { qos: 1 })
    await pause()
  }
  assert.ok(arrived !== undefined, `nothing crossed from ${remoteTopic}`)
  return arrived
}

describe('roost-broker Bridges tab against Debian mosquitto', { timeout: 90_000 }, () => {
  const temp = tempDir('node-bridge')
  let mosquitto: Mosquitto
  let remote: MqttClient

  before(async () => {
    await startServer()
    ;({ mosquitto, tester: remote } = await startGuardedMosquitto(temp.dir))
  })
  after(async () => {
    await remote.endAsync()
    await mosquitto.stop()
    temp.remove()
    await stopServer()
  })
  afterEach(async () => { await helper.unload() })

  it('logs in with the credentials kept per bridge name; messages cross both ways; the sidebar shows the link', async () => {
    await helper.load(roost, bridgeFlow(mosquitto.port, 'site'), { b1: { bridgeUsers: JSON.stringify({ cloud: 'home' }), bridgePasswords: JSON.stringify({ cloud: 'home-secret' }) } })
    const { broker } = await listeningBroker('b1')
    await bridgeReaches(broker, 'cloud', 'connected')

    assert.match(await crossOut(remote, 'home/up/temperature', 'site/up/temperature'), /^reading-\d+$/)
    const msg = await crossIn(remote, 'site/down/lamp')
    assert.deepEqual([msg.topic, msg.payload], ['home/down/lamp', 'on'])

    const live = (await helper.request().get(LIVE_VIEW_PATH).expect(200)).body as { brokers: Array<{ id: string, bridges: Array<Record<string, unknown>> }> }
    assert.deepEqual(live.brokers.find((b) => b.id === 'b1')?.bridges, [{ name: 'cloud', state: 'connected', address: `127.0.0.1:${mosquitto.port}`, lastError: '', queued: 0, dropped: 0 }])
  })

  it('a wrong password leaves the bridge connecting, with mosquitto\'s refusal as its last error in the sidebar', async () => {
    await helper.load(roost, bridgeFlow(mosquitto.port, 'site'), { b1: { bridgeUsers: JSON.stringify({ cloud: 'home' }), bridgePasswords: JSON.stringify({ cloud: 'wrong' }) } })
    const { broker } = await listeningBroker('b1')
    for (let attempt = 0; attempt < ATTEMPTS && (broker.bridgeStates()[0]?.lastError ?? '') === ''; attempt++) await pause()
    const live = (await helper.request().get(LIVE_VIEW_PATH).expect(200)).body as { brokers: Array<{ id: string, bridges: Array<{ state: string, lastError: string }> }> }
    const [bridge] = live.brokers.find((b) => b.id === 'b1')?.bridges ?? []
    assert.equal(bridge?.state, 'connecting')
    assert.match(bridge?.lastError ?? '', /not authori[sz]ed|bad user name or password|refused/i)
  })

  it('a redeploy with a changed topic keeps the stored password and bridges again', async () => {
    await helper.load(roost, bridgeFlow(mosquitto.port, 'site'), { b1: { bridgeUsers: JSON.stringify({ cloud: 'home' }), bridgePasswords: JSON.stringify({ cloud: 'home-secret' }) } })
    await bridgeReaches((await listeningBroker('b1')).broker, 'cloud', 'connected')
    const started = new Promise<void>((resolve) => { (helper as unknown as { _events: { once: (event: string, listener: () => void) => void } })._events.once('flows:started', () => { resolve() }) })
    await helper._redNodes.setFlows(bridgeFlow(mosquitto.port, 'site/v2', { bridgeUsers: JSON.stringify({ cloud: 'home' }), bridgePasswords: '__PWRD__' }), {}, 'full')
    await started
    const { broker } = await listeningBroker('b1')
    await bridgeReaches(broker, 'cloud', 'connected')
    assert.match(await crossOut(remote, 'home/up/humidity', 'site/v2/up/humidity'), /^reading-\d+$/)
    const msg = await crossIn(remote, 'site/v2/down/fan')
    assert.deepEqual([msg.topic, msg.payload], ['home/down/fan', 'on'])
  })
})

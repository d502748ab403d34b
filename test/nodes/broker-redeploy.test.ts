// A redeploy that changes only a bridge keeps the embedded broker running: an MQTT.js client
// connected to it stays connected, the bridge that did not change keeps its link to the remote
// (Debian's mosquitto, which sees no new state from it), and the edited bridge reconnects with its
// new topics. A redeploy that changes the port is a real restart.
import assert from 'node:assert/strict'
import { after, afterEach, before, describe, it } from 'node:test'
import mqtt, { type MqttClient } from 'mqtt'
import type { BridgeStatus } from '../../lib/events'
import { parkedBrokerCount } from '../../nodes/broker/handover'
import { watchedBrokerCount } from '../../nodes/sidebar/runtime'
import { bridgeReaches } from '../bridge/helpers'
import { type FlowNode, freePort, helper, listeningBroker, type Mosquitto, roost, startMosquitto, startServer, stopServer } from './support'

const ATTEMPTS = 100
const PAUSE_MS = 100
const REDEPLOYS = 20

function bridgeRow (name: string, port: number, pattern: string): Record<string, unknown> {
  return {
    name,
    addresses: `127.0.0.1:${port}`,
    remoteClientId: `roost-${name}`,
    tls: '',
    protocolVersion: 'mqttv311',
    cleanSession: true,
    keepalive: '60',
    startType: 'automatic',
    tryPrivate: true,
    notifications: true,
    topics: [{ pattern, direction: 'out', qos: '1', localPrefix: '', remotePrefix: '' }]
  }
}

function flow (remotePort: number, alphaPattern: string, port = 0): FlowNode[] {
  return [{
    id: 'b1',
    type: 'roost-broker',
    name: 'home',
    mode: 'embedded',
    port,
    bindAddress: '127.0.0.1',
    allowAnonymous: true,
    sysInterval: 0,
    persistence: false,
    bridges: [bridgeRow('alpha', remotePort, alphaPattern), bridgeRow('beta', remotePort, 'beta/#')]
  }]
}

async function redeploy (nodes: FlowNode[]): Promise<void> {
  const started = new Promise<void>((resolve) => { (helper as unknown as { _events: { once: (event: string, listener: () => void) => void } })._events.once('flows:started', () => { resolve() }) })
  await helper._redNodes.setFlows(nodes, {}, 'nodes')
  await started
}

async function pause (): Promise<void> { await new Promise((resolve) => setTimeout(resolve, PAUSE_MS)) }

/** Publishes `topic` from `local` until the remote's subscriber has it. */
async function crosses (local: MqttClient, remote: MqttClient, topic: string): Promise<boolean> {
  let arrived = false
  const listener = (received: string): void => { if (received === topic) arrived = true }
  remote.on('message', listener)
  try {
    for (let attempt = 0; attempt < ATTEMPTS && !arrived; attempt++) {
      await local.publishAsync(topic, 'x', { qos: 1 })
      await pause()
    }
  } finally {
    remote.off('message', listener)
  }
  return arrived
}

describe('roost-broker redeployed with an edited bridge', { timeout: 90_000 }, () => {
  let mosquitto: Mosquitto
  let remote: MqttClient
  /** Every link state the remote saw, as `<remote client id> <0|1>`. */
  const remoteStates: string[] = []

  before(async () => {
    await startServer()
    mosquitto = await startMosquitto()
    remote = await mqtt.connectAsync({ host: '127.0.0.1', port: mosquitto.port, clientId: 'watcher', reconnectPeriod: 0 })
    remote.on('message', (topic, payload) => {
      const match = /^\$SYS\/broker\/connection\/(.+)\/state$/.exec(topic)
      if (match !== null) remoteStates.push(`${match[1] ?? ''} ${payload.toString()}`)
    })
    await remote.subscribeAsync(['$SYS/broker/connection/+/state', 'alpha/#', 'alpha2/#', 'beta/#'], { qos: 1 })
  })
  after(async () => {
    await remote.endAsync()
    await mosquitto.stop()
    await stopServer()
  })
  afterEach(async () => { await helper.unload() })

  it('keeps the broker, its TCP clients and the other bridge; the edited bridge reconnects with its new topic', async () => {
    await helper.load(roost, flow(mosquitto.port, 'alpha/#'))
    const { broker, port } = await listeningBroker('b1')
    await bridgeReaches(broker, 'alpha', 'connected')
    await bridgeReaches(broker, 'beta', 'connected')
    const client = await mqtt.connectAsync({ host: '127.0.0.1', port, clientId: 'stays', reconnectPeriod: 0 })
    let closes = 0
    client.on('close', () => { closes++ })
    try {
      assert.ok(await crosses(client, remote, 'alpha/one'))
      assert.ok(await crosses(client, remote, 'beta/one'))
      const betaEvents: BridgeStatus[] = []
      broker.on('bridgeState', (status) => { if (status.name === 'beta') betaEvents.push(status) })
      const seenBefore = remoteStates.length

      await redeploy(flow(mosquitto.port, 'alpha2/#'))
      const after = await listeningBroker('b1')
      assert.equal(after.broker, broker, 'the same broker runs on')
      assert.equal(parkedBrokerCount(), 0)
      await bridgeReaches(broker, 'alpha', 'connected')
      assert.ok(await crosses(client, remote, 'alpha2/two'), 'the edited bridge carries its new topic')
      assert.ok(await crosses(client, remote, 'beta/two'))
      assert.equal(closes, 0, 'the TCP client stayed connected')
      assert.ok(client.connected)
      assert.deepEqual(betaEvents, [], 'the unchanged bridge kept its link')
      // The remote saw alpha leave and come back, and nothing of beta.
      assert.deepEqual(remoteStates.slice(seenBefore), ['roost-alpha 0', 'roost-alpha 1'])
    } finally {
      await client.endAsync(true)
    }
  })

  it(`${REDEPLOYS} bridge-only redeploys: one broker throughout, nothing piles up, the sidebar watches it once`, async () => {
    await helper.load(roost, flow(mosquitto.port, 'alpha/#'))
    const { broker } = await listeningBroker('b1')
    const listeners = (): number[] => [broker.listenerCount('clientConnected'), broker.listenerCount('clientDisconnected'), broker.listenerCount('bridgeState')]
    const before = listeners()
    for (let i = 0; i < REDEPLOYS; i++) {
      await redeploy(flow(mosquitto.port, `alpha${i}/#`))
      assert.equal((await listeningBroker('b1')).broker, broker, `redeploy ${i} restarted the broker`)
      assert.equal(parkedBrokerCount(), 0)
      assert.equal(watchedBrokerCount(), 1)
      assert.deepEqual(listeners(), before)
    }
    await bridgeReaches(broker, 'alpha', 'connected')
    assert.deepEqual(broker.bridgeStates().map(({ name, state }) => [name, state]).sort(), [['alpha', 'connected'], ['beta', 'connected']])
  })

  it('a changed port is a real restart: clients are dropped and the new port listens', async () => {
    await helper.load(roost, flow(mosquitto.port, 'alpha/#'))
    const { broker, port } = await listeningBroker('b1')
    const client = await mqtt.connectAsync({ host: '127.0.0.1', port, clientId: 'dropped', reconnectPeriod: 0 })
    const closed = new Promise<void>((resolve) => { client.once('close', () => { resolve() }) })
    try {
      const newPort = await freePort()
      await redeploy(flow(mosquitto.port, 'alpha/#', newPort))
      await closed
      const after = await listeningBroker('b1')
      assert.notEqual(after.broker, broker)
      assert.equal(after.port, newPort)
      assert.equal(parkedBrokerCount(), 0)
      await bridgeReaches(after.broker, 'beta', 'connected')
    } finally {
      await client.endAsync(true)
    }
  })
})

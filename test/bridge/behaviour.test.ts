// How a Roost bridge behaves around its link: start_type lazy (threshold, idle_timeout) and once,
// failing over to a second address and back to the main one, the hold bounded by max_queued_messages (the rest counted as
// dropped, what was held sent in order once the remote is up), and the remote session
// (cleansession false) keeping what the remote published while the bridge was away, on MQTT
// 3.1.1 and on MQTT 5 with its properties crossing.
import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { createBroker, type DeliveredMessage } from '../../lib'
import type { BridgeOptions } from '../../lib/bridge/options'
import { freePort, type Mosquitto, startMosquitto, tempDir } from '../client/helpers'
import { ClientPool, type RunningBroker } from '../clients/support'
import { bridgeReaches, startBridgingBroker, until } from './helpers'

function bridgeTo (port: number, extra: Partial<BridgeOptions> = {}): BridgeOptions {
  return { name: 'b', addresses: [`127.0.0.1:${port}`], remoteClientId: 'behaviour', restartTimeoutSec: 0.1, topics: [{ pattern: 'held/#', direction: 'out', qos: 1 }], ...extra }
}

describe('a Roost bridge around its link', { timeout: 60_000 }, () => {
  const temp = tempDir('bridge-behaviour')
  const clients = new ClientPool()
  const cleanups: Array<() => Promise<void>> = []
  after(async () => {
    await clients.endAll()
    for (const cleanup of cleanups.reverse()) await cleanup()
    temp.remove()
  })

  async function roostWith (bridge: BridgeOptions, options = {}): Promise<RunningBroker> {
    const running = await startBridgingBroker([bridge], options)
    cleanups.push(() => running.broker.close())
    return running
  }

  async function mosquittoRemote (port?: number): Promise<Mosquitto> {
    const remote = await startMosquitto(temp.dir, [], port)
    cleanups.push(() => remote.stop())
    return remote
  }

  test('lazy: idle until threshold messages wait, then connects, sends them in order, and goes idle again', async () => {
    const remote = await mosquittoRemote()
    const watcher = await clients.connect(remote.port)
    await watcher.client.subscribeAsync('held/#', { qos: 1 })
    const roost = await roostWith(bridgeTo(remote.port, { startType: 'lazy', threshold: 3, idleTimeoutSec: 0.3 }))
    assert.equal(roost.broker.bridgeStates()[0]?.state, 'idle')
    roost.broker.publish({ topic: 'held/1', payload: 'one', qos: 1 })
    roost.broker.publish({ topic: 'held/2', payload: 'two', qos: 1 })
    assert.deepEqual(roost.broker.bridgeStates().map(({ state, queued }) => ({ state, queued })), [{ state: 'idle', queued: 2 }])
    roost.broker.publish({ topic: 'held/3', payload: 'three', qos: 1 })
    const messages = await watcher.inbox.waitFor(3)
    assert.deepEqual(messages.map((message) => message.payload.toString()), ['one', 'two', 'three'])
    await bridgeReaches(roost.broker, 'b', 'idle')
    assert.equal(roost.broker.bridgeStates()[0]?.queued, 0)
  })

  test('once: a remote that cannot be reached leaves the bridge stopped, with the reason', async () => {
    const nowhere = await freePort()
    const roost = await roostWith(bridgeTo(nowhere, { startType: 'once' }))
    await bridgeReaches(roost.broker, 'b', 'stopped')
    assert.match(roost.broker.bridgeStates()[0]?.lastError ?? '', /ECONNREFUSED/)
  })

  test('a main address that is down: the next one is tried, and the status names it', async () => {
    const nowhere = await freePort()
    const remote = await mosquittoRemote()
    const roost = await roostWith({ ...bridgeTo(0), addresses: [`127.0.0.1:${nowhere}`, `127.0.0.1:${remote.port}`] })
    await bridgeReaches(roost.broker, 'b', 'connected')
    assert.equal(roost.broker.bridgeStates()[0]?.address, `127.0.0.1:${remote.port}`)
  })

  test('without round_robin, the bridge goes back to the main address once it answers', async () => {
    const mainPort = await freePort()
    const secondary = await mosquittoRemote()
    const roost = await roostWith({ ...bridgeTo(0), addresses: [`127.0.0.1:${mainPort}`, `127.0.0.1:${secondary.port}`] })
    await bridgeReaches(roost.broker, 'b', 'connected')
    const watcher = await clients.connect(secondary.port)
    await watcher.client.subscribeAsync('$SYS/broker/connection/behaviour/state', { qos: 1 })
    await mosquittoRemote(mainPort)
    await until('the move to the main address', () => {
      const [status] = roost.broker.bridgeStates()
      return status?.state === 'connected' && status.address === `127.0.0.1:${mainPort}`
    })
    // The secondary was told the link left it.
    const states = await watcher.inbox.waitFor(2)
    assert.deepEqual(states.map((message) => message.payload.toString()), ['1', '0'])
  })

  test('held messages are bounded by max_queued_messages; the held ones go in order once the remote is up', async () => {
    const port = await freePort()
    const roost = await roostWith(bridgeTo(port), { maxQueuedMessages: 5 })
    for (let n = 0; n < 8; n++) roost.broker.publish({ topic: `held/${n}`, payload: String(n), qos: 1 })
    roost.broker.publish({ topic: 'held/qos0', payload: 'not held', qos: 0 })
    assert.deepEqual(roost.broker.bridgeStates().map(({ queued, dropped }) => ({ queued, dropped })), [{ queued: 5, dropped: 3 }])
    // The remote subscribes in process before it listens, so it misses nothing the bridge sends.
    const remote = createBroker({ sysIntervalSec: 0, listeners: [{ port, host: '127.0.0.1' }] })
    cleanups.push(() => remote.close())
    const arrived: DeliveredMessage[] = []
    remote.subscribe('held/#', 1, (message) => { arrived.push(message) })
    await remote.listen()
    await until('five messages', () => arrived.length >= 5)
    await bridgeReaches(roost.broker, 'b', 'connected')
    await until('an empty hold', () => roost.broker.bridgeStates()[0]?.queued === 0)
    assert.deepEqual(arrived.map((message) => message.topic), ['held/0', 'held/1', 'held/2', 'held/3', 'held/4'])
  })

  for (const protocolVersion of ['mqttv311', 'mqttv50'] as const) {
    test(`${protocolVersion}: the remote session keeps what was published there while the bridge was away`, async () => {
      const remote = await mosquittoRemote()
      const bridge = bridgeTo(remote.port, { name: `in-${protocolVersion}`, remoteClientId: `keeper-${protocolVersion}`, protocolVersion, cleanSession: false, topics: [{ pattern: 'kept/#', direction: 'in', qos: 1 }] })
      const roost = await roostWith(bridge)
      const inbox: DeliveredMessage[] = []
      roost.broker.subscribe('kept/#', 1, (message) => { inbox.push(message) })
      await bridgeReaches(roost.broker, bridge.name, 'connected')
      const publisher = await clients.connect(remote.port, { protocolVersion: 5 })
      // One message through the live link shows the remote subscription is in place.
      await publisher.client.publishAsync('kept/live', 'live', { qos: 1 })
      await until('the live message', () => inbox.length === 1)
      await roost.broker.setBridges([])
      const properties = { userProperties: { site: 'north' }, contentType: 'text/plain' }
      for (let n = 0; n < 3; n++) await publisher.client.publishAsync(`kept/${n}`, `away-${n}`, { qos: 1, properties })
      await roost.broker.setBridges([bridge])
      await until('three kept messages', () => inbox.length === 4)
      assert.deepEqual(inbox.map((message) => [message.topic, message.payload.toString()]),
        [['kept/live', 'live'], ['kept/0', 'away-0'], ['kept/1', 'away-1'], ['kept/2', 'away-2']])
      if (protocolVersion === 'mqttv50') {
        assert.deepEqual(inbox.slice(1).map((message) => [message.properties?.userProperties, message.properties?.contentType]),
          [[{ site: 'north' }, 'text/plain'], [{ site: 'north' }, 'text/plain'], [{ site: 'north' }, 'text/plain']])
      }
      await roost.broker.setBridges([])
    })
  }
})

// Bridges between Roost and Debian's mosquitto, each side in turn running the bridge, over MQTT
// 3.1.1 (with try_private) and MQTT 5 (with No Local), with Mosquitto's prefix rules: `out`, `in`
// and `both` topics remapped from here/ to there/, QoS 0, 1 and 2 as published, retained messages
// kept retained, a "" pattern mapping one topic, nothing crossing a direction not configured and
// nothing echoed back.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { BridgeTopic } from '../../lib/bridge/options'
import { type Mosquitto, startMosquitto, tempDir } from '../client/helpers'
import { ClientPool, type Connected, type Inbox, type Received, type RunningBroker, startBroker } from '../clients/support'
import { bridgeReaches, mosquittoBridgeLines, startBridgingBroker } from './helpers'

const TOPICS: BridgeTopic[] = [
  { pattern: 'out/#', direction: 'out', qos: 2, localPrefix: 'here/', remotePrefix: 'there/' },
  { pattern: 'in/#', direction: 'in', qos: 2, localPrefix: 'here/', remotePrefix: 'there/' },
  { pattern: 'both/#', direction: 'both', qos: 2, localPrefix: 'here/', remotePrefix: 'there/' },
  { pattern: '', direction: 'out', qos: 1, localPrefix: 'single/here', remotePrefix: 'single/there' }
]
const TOPIC_LINES = ['out/# out 2 here/ there/', 'in/# in 2 here/ there/', 'both/# both 2 here/ there/', '"" out 1 single/here single/there']

function brief (messages: Received[]): Array<[string, string, number, boolean]> {
  return messages.map((message) => [message.topic, message.payload.toString(), message.qos, message.retain])
}

/**
 * Those of `messages` under `prefix`: the subscribers also see what is published on their own
 * side, and a QoS 2 message from an earlier test may reach them late (at PUBREL).
 */
function under (prefix: string, messages: Received[]): Array<[string, string, number, boolean]> {
  return brief(messages.filter((message) => message.topic.startsWith(prefix)))
}

/** Publishes probes one way until one arrives: the bridge's subscriptions are in place. */
async function probe (from: Connected, topic: string, to: Inbox): Promise<void> {
  const start = to.messages.length
  for (let attempt = 0; attempt < 100; attempt++) {
    await from.client.publishAsync(topic, `probe-${attempt}`, { qos: 1 })
    const arrived = await Promise.race([to.waitFor(start + 1).then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 100))])
    if (arrived) return
  }
  throw new Error(`no probe on ${topic} crossed the bridge`)
}

for (const runner of ['roost', 'mosquitto'] as const) {
  for (const protocol of ['mqttv311', 'mqttv50'] as const) {
    const other = runner === 'roost' ? 'mosquitto' : 'roost'
    describe(`${runner} bridging to ${other} over ${protocol === 'mqttv50' ? 'MQTT 5' : 'MQTT 3.1.1'}`, { timeout: 60_000 }, () => {
      const temp = tempDir('bridge-peer')
      const clients = new ClientPool()
      let roost: RunningBroker
      let mosquitto: Mosquitto
      let local: Connected
      let remote: Connected
      let localSub: Connected
      let remoteSub: Connected

      before(async () => {
        if (runner === 'roost') {
          mosquitto = await startMosquitto(temp.dir)
          roost = await startBridgingBroker([{
            name: 'peer', addresses: [`127.0.0.1:${mosquitto.port}`], remoteClientId: 'peer', protocolVersion: protocol, cleanSession: true, restartTimeoutSec: 0.2, topics: TOPICS
          }])
          await bridgeReaches(roost.broker, 'peer', 'connected')
        } else {
          roost = await startBroker()
          mosquitto = await startMosquitto(temp.dir, mosquittoBridgeLines('peer', roost.port, protocol, TOPIC_LINES))
        }
        const [localPort, remotePort] = runner === 'roost' ? [roost.port, mosquitto.port] : [mosquitto.port, roost.port]
        local = await clients.connect(localPort, { clientId: 'local-pub' })
        remote = await clients.connect(remotePort, { clientId: 'remote-pub' })
        localSub = await clients.connect(localPort, { clientId: 'local-sub', protocolVersion: 5 })
        remoteSub = await clients.connect(remotePort, { clientId: 'remote-sub', protocolVersion: 5 })
        await localSub.client.subscribeAsync('here/#', { qos: 2 })
        await remoteSub.client.subscribeAsync(['there/#', 'single/#'], { qos: 2 })
        await probe(local, 'here/both/probe', remoteSub.inbox)
        await probe(remote, 'there/both/probe', localSub.inbox)
      })

      after(async () => {
        await clients.endAll()
        await roost.broker.close()
        await mosquitto.stop()
        temp.remove()
      })

      test('out: QoS 0, 1 and 2 reach the remote under the remote prefix, as published', async () => {
        const from = remoteSub.inbox.messages.length
        await local.client.publishAsync('here/out/q0', 'zero', { qos: 0 })
        await local.client.publishAsync('here/out/q1', 'one', { qos: 1 })
        await local.client.publishAsync('here/out/q2', 'two', { qos: 2 })
        assert.deepEqual(under('there/out/q', await remoteSub.inbox.waitForTopic('there/out/q2', from)), [
          ['there/out/q0', 'zero', 0, false], ['there/out/q1', 'one', 1, false], ['there/out/q2', 'two', 2, false]
        ])
      })

      test('in: QoS 0, 1 and 2 from the remote arrive under the local prefix, as published', async () => {
        const from = localSub.inbox.messages.length
        await remote.client.publishAsync('there/in/q0', 'zero', { qos: 0 })
        await remote.client.publishAsync('there/in/q1', 'one', { qos: 1 })
        await remote.client.publishAsync('there/in/q2', 'two', { qos: 2 })
        assert.deepEqual(under('here/in/q', await localSub.inbox.waitForTopic('here/in/q2', from)), [
          ['here/in/q0', 'zero', 0, false], ['here/in/q1', 'one', 1, false], ['here/in/q2', 'two', 2, false]
        ])
      })

      test('both: each way once, never echoed back to where it came from', async () => {
        const remoteFrom = remoteSub.inbox.messages.length
        const localFrom = localSub.inbox.messages.length
        await local.client.publishAsync('here/both/a', 'from-local', { qos: 1 })
        assert.deepEqual(under('there/both/', await remoteSub.inbox.waitForTopic('there/both/a', remoteFrom)), [['there/both/a', 'from-local', 1, false]])
        await remote.client.publishAsync('there/both/b', 'from-remote', { qos: 2 })
        // An echo of a would have left the remote on the bridge before b did.
        assert.deepEqual(under('here/both/', await localSub.inbox.waitForTopic('here/both/b', localFrom)), [
          ['here/both/a', 'from-local', 1, false], ['here/both/b', 'from-remote', 2, false]
        ])
        // QoS 2 as b was: MQTT.js hands a QoS 2 message over at PUBREL, so a QoS 1 marker could overtake it.
        await local.client.publishAsync('here/both/c', 'marker', { qos: 2 })
        assert.deepEqual(under('there/both/', await remoteSub.inbox.waitForTopic('there/both/c', remoteFrom)), [
          ['there/both/a', 'from-local', 1, false], ['there/both/b', 'from-remote', 2, false], ['there/both/c', 'marker', 2, false]
        ])
      })

      test('nothing crosses against a topic\'s direction', async () => {
        const remoteFrom = remoteSub.inbox.messages.length
        const localFrom = localSub.inbox.messages.length
        // Each marker follows on the same link any wrong crossing would have taken.
        await local.client.publishAsync('here/in/not-out', 'x', { qos: 1 })
        await local.client.publishAsync('here/out/marker', 'after', { qos: 1 })
        const there = brief(await remoteSub.inbox.waitForTopic('there/out/marker', remoteFrom))
        assert.deepEqual(there.filter(([topic]) => topic === 'there/in/not-out' || topic === 'there/out/marker'), [['there/out/marker', 'after', 1, false]])
        await remote.client.publishAsync('there/out/not-in', 'y', { qos: 1 })
        await remote.client.publishAsync('there/in/marker', 'after', { qos: 1 })
        const here = brief(await localSub.inbox.waitForTopic('here/in/marker', localFrom))
        assert.deepEqual(here.filter(([topic]) => topic === 'here/out/not-in' || topic === 'here/in/marker'), [['here/in/marker', 'after', 1, false]])
      })

      test('a "" pattern maps one topic to one topic', async () => {
        const from = remoteSub.inbox.messages.length
        await local.client.publishAsync('single/here', 'only', { qos: 1 })
        assert.deepEqual(under('single/', await remoteSub.inbox.waitForTopic('single/there', from)), [['single/there', 'only', 1, false]])
      })

      test('a retained message stays retained on the other side', async () => {
        const from = remoteSub.inbox.messages.length
        await local.client.publishAsync('here/out/kept', 'kept', { qos: 1, retain: true })
        await remoteSub.inbox.waitForTopic('there/out/kept', from)
        const later = await clients.connect(runner === 'roost' ? mosquitto.port : roost.port, { clientId: 'later' })
        await later.client.subscribeAsync('there/out/kept', { qos: 1 })
        assert.deepEqual(brief(await later.inbox.waitFor(1)), [['there/out/kept', 'kept', 1, true]])
      })
    })
  }
}

describe('the link state of a Roost bridge', { timeout: 60_000 }, () => {
  const temp = tempDir('bridge-state')
  const clients = new ClientPool()
  let roost: RunningBroker
  let mosquitto: Mosquitto

  before(async () => {
    mosquitto = await startMosquitto(temp.dir)
    roost = await startBridgingBroker([{ name: 'link', addresses: [`127.0.0.1:${mosquitto.port}`], remoteClientId: 'link-1', restartTimeoutSec: 0.2, topics: [{ pattern: '#', direction: 'both' }] }])
    await bridgeReaches(roost.broker, 'link', 'connected')
  })

  after(async () => {
    await clients.endAll()
    await roost.broker.close()
    await mosquitto.stop()
    temp.remove()
  })

  test('is 1, retained, on $SYS/broker/connection/<remote client id>/state on both brokers', async () => {
    for (const port of [roost.port, mosquitto.port]) {
      const watcher = await clients.connect(port)
      await watcher.client.subscribeAsync('$SYS/broker/connection/+/state', { qos: 1 })
      assert.deepEqual(brief(await watcher.inbox.waitFor(1)), [['$SYS/broker/connection/link-1/state', '1', 1, true]])
    }
    assert.deepEqual(roost.broker.bridgeStates(), [{ name: 'link', state: 'connected', address: `127.0.0.1:${mosquitto.port}`, queued: 0, dropped: 0 }])
  })

  test('goes to 0 on both when the bridge is removed at runtime, and the broker keeps running', async () => {
    const here = await clients.connect(roost.port)
    const there = await clients.connect(mosquitto.port)
    await here.client.subscribeAsync('$SYS/broker/connection/link-1/state', { qos: 1 })
    await there.client.subscribeAsync('$SYS/broker/connection/link-1/state', { qos: 1 })
    await here.inbox.waitFor(1)
    await there.inbox.waitFor(1)
    await roost.broker.setBridges([])
    assert.deepEqual(brief(await here.inbox.waitFor(2)).at(-1), ['$SYS/broker/connection/link-1/state', '0', 1, false])
    assert.deepEqual(brief(await there.inbox.waitFor(2)).at(-1), ['$SYS/broker/connection/link-1/state', '0', 1, false])
    assert.deepEqual(roost.broker.bridgeStates(), [])
  })

  test('comes back when the bridge is added again, and only a changed bridge reconnects', async () => {
    const events: string[] = []
    roost.broker.on('bridgeState', (status) => { events.push(`${status.name}:${status.state}`) })
    const link = { name: 'link', addresses: [`127.0.0.1:${mosquitto.port}`], remoteClientId: 'link-1', restartTimeoutSec: 0.2, topics: [{ pattern: '#', direction: 'both' as const }] }
    const other = { name: 'other', addresses: [`127.0.0.1:${mosquitto.port}`], remoteClientId: 'other-1', restartTimeoutSec: 0.2, topics: [] }
    await roost.broker.setBridges([link])
    await bridgeReaches(roost.broker, 'link', 'connected')
    await roost.broker.setBridges([link, other])
    await bridgeReaches(roost.broker, 'other', 'connected')
    await roost.broker.setBridges([link, { ...other, keepaliveSec: 30 }])
    await bridgeReaches(roost.broker, 'other', 'connected')
    assert.deepEqual(events, ['link:connecting', 'link:connected', 'other:connecting', 'other:connected', 'other:stopped', 'other:connecting', 'other:connected'])
  })
})

// A triangle of Roost brokers, each running a `topic # both 1` bridge to the next (A→B, B→C,
// C→A, MQTT 3.1.1 with try_private) and bridge_split_horizon on: a message published on any of
// them reaches every broker exactly once and then stops. No Local alone only keeps a message from
// going back over the link it came in on; in a cycle it would travel round for ever.
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { BridgeOptions } from '../../lib/bridge/options'
import { ClientPool, type Connected, type RunningBroker, startBroker } from '../clients/support'
import { bridgeReaches } from './helpers'

const NAMES = ['a', 'b', 'c'] as const

function link (name: string, port: number): BridgeOptions {
  return { name, addresses: [`127.0.0.1:${port}`], remoteClientId: `bridge-${name}`, cleanSession: true, restartTimeoutSec: 0.2, topics: [{ pattern: 'tri/#', direction: 'both', qos: 1 }] }
}

describe('a triangle of both-way bridges with split horizon', { timeout: 60_000 }, () => {
  const clients = new ClientPool()
  const brokers: RunningBroker[] = []
  const subscribers: Connected[] = []

  before(async () => {
    for (let i = 0; i < 3; i++) brokers.push(await startBroker({ bridgeSplitHorizon: true }))
    for (let i = 0; i < 3; i++) {
      const next = brokers[(i + 1) % 3] as RunningBroker
      await (brokers[i] as RunningBroker).broker.setBridges([link(NAMES[i] as string, next.port)])
    }
    for (let i = 0; i < 3; i++) await bridgeReaches((brokers[i] as RunningBroker).broker, NAMES[i] as string, 'connected')
    for (const running of brokers) {
      const subscriber = await clients.connect(running.port)
      await subscriber.client.subscribeAsync('tri/#', { qos: 1 })
      subscribers.push(subscriber)
    }
  })

  after(async () => {
    await clients.endAll()
    for (const running of brokers) await running.broker.close()
  })

  test('every message reaches every broker once, whichever broker it is published on', async () => {
    // The remote subscriptions are made right after CONNACK: a first message from each broker
    // that reaches all three shows every link is in place.
    const publisher = await Promise.all(brokers.map(async (running) => await clients.connect(running.port)))
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 3; i++) await publisher[i]?.client.publishAsync(`tri/${NAMES[i] as string}`, `round-${round}`, { qos: 1 })
    }
    // Markers published after everything else on each broker: any copy still travelling the cycle
    // would reach a subscriber before the marker that followed it over the same links.
    const expected = 9 + 3
    for (let i = 0; i < 3; i++) await publisher[i]?.client.publishAsync(`tri/marker-${NAMES[i] as string}`, 'end', { qos: 1 })
    for (const subscriber of subscribers) {
      const messages = await subscriber.inbox.waitFor(expected)
      const counts = new Map<string, number>()
      for (const message of messages) {
        const key = `${message.topic}|${message.payload.toString()}`
        counts.set(key, (counts.get(key) ?? 0) + 1)
      }
      assert.equal(counts.size, expected, `distinct messages: ${JSON.stringify([...counts])}`)
      assert.ok([...counts.values()].every((count) => count === 1))
    }
    // One more round trip through every link: nothing else arrived meanwhile.
    for (let i = 0; i < 3; i++) await publisher[i]?.client.publishAsync(`tri/last-${NAMES[i] as string}`, 'end', { qos: 1 })
    for (const subscriber of subscribers) {
      const messages = await subscriber.inbox.waitFor(expected + 3)
      assert.deepEqual(messages.slice(expected).map((message) => message.topic).sort(), ['tri/last-a', 'tri/last-b', 'tri/last-c'])
    }
    assert.deepEqual(subscribers.map((subscriber) => subscriber.inbox.messages.length), [expected + 3, expected + 3, expected + 3])
  })
})

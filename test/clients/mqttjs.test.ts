// MQTT.js (npm `mqtt`, v5) against the broker, over MQTT 3.1.1 and MQTT 3.1: a client nobody
// here wrote, so these tests check the broker speaks the protocol the way the world reads it.
// Every wait ends on a message that must arrive; "nothing else arrived" is shown by a later
// sentinel message arriving alone, never by waiting for time to pass.
import assert from 'node:assert/strict'
import { after, afterEach, before, describe, test } from 'node:test'
import type { IClientOptions } from 'mqtt'
import { ClientPool, disconnected, type RunningBroker, startBroker, summary } from './support'

const VERSIONS: Array<{ name: string, options: IClientOptions }> = [
  { name: 'MQTT 3.1.1', options: { protocolVersion: 4 } },
  { name: 'MQTT 3.1', options: { protocolVersion: 3, protocolId: 'MQIsdp' } }
]

/** Every byte value, so a payload that is changed anywhere in transit is noticed. */
const BINARY = Buffer.from(Array.from({ length: 256 }, (_, i) => i))

for (const { name, options: versionOptions } of VERSIONS) {
  describe(`MQTT.js client, ${name}`, { timeout: 20_000 }, () => {
    let running: RunningBroker
    const pool = new ClientPool()
    const connect = (options: IClientOptions = {}): ReturnType<ClientPool['connect']> =>
      pool.connect(running.port, { ...versionOptions, ...options })

    before(async () => { running = await startBroker() })
    afterEach(async () => { await pool.endAll() })
    after(async () => { await running.broker.close() })

    test('connects and is listed with its client id and protocol version', async () => {
      const { client, sessionPresent } = await connect({ clientId: `list-${versionOptions.protocolVersion ?? 4}` })
      assert.equal(client.connected, true)
      assert.equal(sessionPresent, false)
      const listed = running.broker.clients().find((info) => info.clientId === `list-${versionOptions.protocolVersion ?? 4}`)
      assert.ok(listed !== undefined)
      assert.equal(listed.protocolVersion, versionOptions.protocolVersion)
      assert.equal(listed.cleanSession, true)
    })

    test('wildcard subscriptions: + matches one level, # the rest, each message once', async () => {
      const plus = await connect()
      const hash = await connect()
      const both = await connect()
      await plus.client.subscribeAsync('home/+/temp', { qos: 1 })
      await hash.client.subscribeAsync('home/#', { qos: 1 })
      // Overlapping filters of one client deliver once [MQTT-3.3.5-1].
      await both.client.subscribeAsync({ 'home/+/temp': { qos: 1 }, 'home/#': { qos: 1 } })
      const publisher = await connect()
      for (const topic of ['home/kitchen/temp', 'home/kitchen/humidity', 'office/desk/temp', 'home/a/b/temp', 'home', 'home/end/temp']) {
        await publisher.client.publishAsync(topic, topic, { qos: 1 })
      }
      const plusGot = await plus.inbox.waitFor(2)
      assert.deepEqual(plusGot.map((m) => m.topic), ['home/kitchen/temp', 'home/end/temp'])
      // [MQTT-4.7.1-2] 'home/#' also matches the parent level 'home'
      const hashGot = await hash.inbox.waitFor(5)
      assert.deepEqual(hashGot.map((m) => m.topic), ['home/kitchen/temp', 'home/kitchen/humidity', 'home/a/b/temp', 'home', 'home/end/temp'])
      const bothGot = await both.inbox.waitFor(5)
      assert.deepEqual(bothGot.map((m) => m.topic), hashGot.map((m) => m.topic))
      assert.equal(plus.inbox.messages.length, 2)
      assert.equal(both.inbox.messages.length, 5)
    })

    test('a leading wildcard does not match $-topics [MQTT-4.7.2-1]', async () => {
      const watcher = await connect()
      await watcher.client.subscribeAsync('#', { qos: 1 })
      const publisher = await connect()
      await publisher.client.publishAsync('$private/x', 'hidden', { qos: 1 })
      await publisher.client.publishAsync('visible/x', 'shown', { qos: 1 })
      assert.deepEqual(summary(await watcher.inbox.waitFor(1)), [{ topic: 'visible/x', payload: 'shown' }])
    })

    for (const qos of [0, 1, 2] as const) {
      test(`QoS ${qos} round trip keeps every payload byte and the QoS`, async () => {
        const subscriber = await connect()
        const granted = await subscriber.client.subscribeAsync(`rt/${qos}`, { qos: 2 })
        assert.deepEqual(granted.map((g) => g.qos), [2])
        const publisher = await connect()
        const acks: Array<[string, number | undefined]> = []
        publisher.client.on('packetreceive', (packet) => { acks.push([packet.cmd, packet.messageId]) })
        const sent = await publisher.client.publishAsync(`rt/${qos}`, BINARY, { qos })
        // QoS 1 ends with PUBACK [MQTT-4.3.2-2], QoS 2 with PUBREC then PUBCOMP [MQTT-4.3.3-2]; QoS 0 has no answer.
        const id = sent?.messageId
        assert.deepEqual(acks, qos === 0 ? [] : qos === 1 ? [['puback', id]] : [['pubrec', id], ['pubcomp', id]])
        const [message] = await subscriber.inbox.waitFor(1)
        assert.ok(message !== undefined)
        assert.equal(message.topic, `rt/${qos}`)
        assert.equal(message.qos, qos)
        assert.equal(message.retain, false)
        assert.equal(message.dup, false)
        assert.deepEqual(message.payload, BINARY)
      })
    }

    test('delivery is at the lesser of published and granted QoS [MQTT-3.8.4-6]', async () => {
      const subscriber = await connect()
      await subscriber.client.subscribeAsync('lesser/t', { qos: 1 })
      const publisher = await connect()
      await publisher.client.publishAsync('lesser/t', 'two', { qos: 2 })
      const [message] = await subscriber.inbox.waitFor(1)
      assert.equal(message?.qos, 1)
      assert.equal(message?.payload.toString(), 'two')
    })

    test('retained: delivered on subscribe with retain set, plain to live subscribers, cleared by an empty payload', async () => {
      const live = await connect()
      await live.client.subscribeAsync('ret/#', { qos: 1 })
      const publisher = await connect()
      await publisher.client.publishAsync('ret/a', 'A', { qos: 1, retain: true })
      await publisher.client.publishAsync('ret/b', 'B', { qos: 1, retain: true })
      // [MQTT-3.3.1-9] forwarded to existing subscribers with retain 0
      const liveGot = await live.inbox.waitFor(2)
      assert.deepEqual(liveGot.map((m) => [m.topic, m.retain]), [['ret/a', false], ['ret/b', false]])

      // [MQTT-3.3.1-10] a zero-byte retained message removes the retained message
      await publisher.client.publishAsync('ret/a', '', { qos: 1, retain: true })
      const late = await connect()
      await late.client.subscribeAsync('ret/#', { qos: 1 })
      await publisher.client.publishAsync('ret/z', 'sentinel', { qos: 1 })
      const lateGot = await late.inbox.waitFor(2)
      // [MQTT-3.3.1-6] a new subscription receives the retained message with retain 1
      assert.deepEqual(lateGot.map((m) => [m.topic, m.payload.toString(), m.retain]), [['ret/b', 'B', true], ['ret/z', 'sentinel', false]])
    })

    test('the will is published when the socket is destroyed without DISCONNECT [MQTT-3.1.2-8]', async () => {
      const watcher = await connect()
      await watcher.client.subscribeAsync('will/+', { qos: 1 })
      const doomed = await connect({
        clientId: `doomed-${versionOptions.protocolVersion ?? 4}`,
        will: { topic: 'will/doomed', payload: Buffer.from('gone'), qos: 1, retain: false }
      })
      const disconnected = new Promise<{ reason: string, willPublished: boolean }>((resolve) => {
        running.broker.once('clientDisconnected', (event) => { resolve(event) })
      })
      doomed.client.stream.destroy()
      const [will] = await watcher.inbox.waitFor(1)
      assert.deepEqual([will?.topic, will?.payload.toString(), will?.qos, will?.retain], ['will/doomed', 'gone', 1, false])
      const event = await disconnected
      assert.equal(event.willPublished, true)
      assert.equal(event.reason, 'socketClosed')
    })

    test('the will is not published after DISCONNECT [MQTT-3.1.2-10]', async () => {
      const watcher = await connect()
      await watcher.client.subscribeAsync('will2/+', { qos: 1 })
      const polite = await connect({ will: { topic: 'will2/polite', payload: Buffer.from('gone'), qos: 1, retain: false } })
      const gone = disconnected(running.broker, polite.client.options.clientId ?? '')
      await polite.client.endAsync()
      assert.equal(await gone, 'disconnect')
      const publisher = await connect()
      await publisher.client.publishAsync('will2/sentinel', 'after', { qos: 1 })
      assert.deepEqual(summary(await watcher.inbox.waitFor(1)), [{ topic: 'will2/sentinel', payload: 'after' }])
    })

    test('a persistent session receives the QoS 1 messages queued while it was offline', async () => {
      const clientId = `persist-${versionOptions.protocolVersion ?? 4}`
      const first = await connect({ clientId, clean: false })
      assert.equal(first.sessionPresent, false)
      await first.client.subscribeAsync('queued/#', { qos: 1 })
      const gone = disconnected(running.broker, clientId)
      await first.client.endAsync()
      assert.equal(await gone, 'disconnect')

      const publisher = await connect()
      for (let i = 1; i <= 5; i++) await publisher.client.publishAsync(`queued/${i}`, `message ${i}`, { qos: 1 })

      const back = await connect({ clientId, clean: false })
      // MQTT 3.1 has no session present flag; MQTT 3.1.1 sets it for a resumed session [MQTT-3.2.2-2].
      assert.equal(back.sessionPresent, versionOptions.protocolVersion === 4)
      const got = await back.inbox.waitFor(5)
      assert.deepEqual(summary(got), [1, 2, 3, 4, 5].map((i) => ({ topic: `queued/${i}`, payload: `message ${i}` })))
      assert.deepEqual(got.map((m) => m.qos), [1, 1, 1, 1, 1])
      // The subscription survived too: a new message arrives without subscribing again.
      await publisher.client.publishAsync('queued/live', 'live', { qos: 1 })
      assert.deepEqual(summary((await back.inbox.waitFor(6)).slice(5)), [{ topic: 'queued/live', payload: 'live' }])
      // Clean up the session for the other tests.
      const goneAgain = disconnected(running.broker, clientId)
      await back.client.endAsync()
      await goneAgain
      await connect({ clientId, clean: true })
    })

    test('a shared subscription $share/g/t spreads messages over its members, each once', async () => {
      const memberA = await connect()
      const memberB = await connect()
      await memberA.client.subscribeAsync('$share/g/shared/t', { qos: 1 })
      await memberB.client.subscribeAsync('$share/g/shared/t', { qos: 1 })
      const publisher = await connect()
      const total = 10
      for (let i = 0; i < total; i++) await publisher.client.publishAsync('shared/t', String(i), { qos: 1 })
      // Round robin: each member gets every other message.
      const gotA = await memberA.inbox.waitFor(total / 2)
      const gotB = await memberB.inbox.waitFor(total / 2)
      const payloads = [...gotA, ...gotB].map((m) => Number(m.payload.toString())).sort((x, y) => x - y)
      assert.deepEqual(payloads, Array.from({ length: total }, (_, i) => i))
      assert.ok(gotA.every((m) => m.topic === 'shared/t'))
      assert.equal(memberA.inbox.messages.length + memberB.inbox.messages.length, total)
    })

    test('after UNSUBSCRIBE the filter no longer delivers [MQTT-3.10.4-1]', async () => {
      const subscriber = await connect()
      await subscriber.client.subscribeAsync({ 'unsub/a/#': { qos: 1 }, 'unsub/b': { qos: 1 } })
      const publisher = await connect()
      await publisher.client.publishAsync('unsub/a/1', 'before', { qos: 1 })
      await subscriber.inbox.waitFor(1)
      const unsuback = await subscriber.client.unsubscribeAsync('unsub/a/#')
      assert.equal(unsuback?.cmd, 'unsuback')
      await publisher.client.publishAsync('unsub/a/1', 'after', { qos: 1 })
      await publisher.client.publishAsync('unsub/b', 'sentinel', { qos: 1 })
      assert.deepEqual(summary(await subscriber.inbox.waitFor(2)), [
        { topic: 'unsub/a/1', payload: 'before' },
        { topic: 'unsub/b', payload: 'sentinel' }
      ])
    })
  })
}

describe('MQTT.js client, MQTT 5', { timeout: 20_000 }, () => {
  let running: RunningBroker
  const pool = new ClientPool()

  before(async () => { running = await startBroker() })
  after(async () => {
    await pool.endAll()
    await running.broker.close()
  })

  test('is accepted (MQTT.js only resolves on a CONNACK with reason code 0) and completes a QoS 1 round trip', async () => {
    const { client, inbox, sessionPresent } = await pool.connect(running.port, { protocolVersion: 5, clientId: 'v5-client' })
    assert.equal(sessionPresent, false)
    assert.equal(running.broker.clients().find((info) => info.clientId === 'v5-client')?.protocolVersion, 5)
    await client.subscribeAsync('v5/t', { qos: 1 })
    await client.publishAsync('v5/t', 'five', { qos: 1 })
    const [message] = await inbox.waitFor(1)
    assert.deepEqual([message?.topic, message?.payload.toString(), message?.qos], ['v5/t', 'five', 1])
  })
})

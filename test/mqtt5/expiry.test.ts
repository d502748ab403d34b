// MQTT 5 Session Expiry (3.1.2.11.2), Message Expiry (3.3.2.3.3) and Will Delay (3.1.3.2.2).
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type mqttPacket from 'mqtt-packet'
import { startBroker } from '../helpers/broker'
import { connect5, nextOf, wait } from './v5'

/** Waits, bounded, until `check` holds: for effects of the broker's own timers. */
async function eventually (check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`never happened: ${what}`)
    await wait(50)
  }
}

describe('MQTT 5 session expiry', () => {
  test('Session Expiry 0 ends the session with the connection', async (t) => {
    const h = await startBroker(t)
    const { client } = await connect5(h, { clientId: 'brief', clean: false })
    client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a', qos: 1 }] })
    await nextOf(client, 'suback')
    await client.disconnect()
    await eventually(() => h.broker.sessionCount === 0, 'session removed')
    assert.equal(h.broker.subscriptionCount, 0)
  })

  test('a session outlives its connection for the interval, keeps its queue, then expires', async (t) => {
    const h = await startBroker(t)
    const first = await connect5(h, { clientId: 'away', clean: false, properties: { sessionExpiryInterval: 1 } })
    first.client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'q', qos: 1 }] })
    await nextOf(first.client, 'suback')
    await first.client.disconnect()
    h.broker.publish({ topic: 'q', payload: 'while away', qos: 1 })
    const back = await connect5(h, { clientId: 'away', clean: false, properties: { sessionExpiryInterval: 1 } })
    assert.equal(back.connack.sessionPresent, true)
    const queued = await nextOf<mqttPacket.IPublishPacket>(back.client, 'publish')
    assert.equal(queued.payload.toString(), 'while away')
    back.client.send({ cmd: 'puback', messageId: queued.messageId })
    await back.client.disconnect()
    // After the interval the session is gone with its subscription and queue.
    await eventually(() => h.broker.sessionCount === 0, 'session expired')
    assert.equal(h.broker.subscriptionCount, 0)
    assert.equal(h.broker.stats.clientsExpired, 1)
    const fresh = await connect5(h, { clientId: 'away', clean: false })
    assert.equal(fresh.connack.sessionPresent, false)
  })

  test('DISCONNECT may change the Session Expiry Interval', async (t) => {
    const h = await startBroker(t)
    const { client } = await connect5(h, { clientId: 'changer', clean: false, properties: { sessionExpiryInterval: 3600 } })
    client.send({ cmd: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 0 } })
    await client.whenClosed()
    await eventually(() => h.broker.sessionCount === 0, 'session ended at disconnect')
  })

  test('DISCONNECT setting an expiry after CONNECT set 0 is a Protocol Error [MQTT-3.14.2-2]', async (t) => {
    const h = await startBroker(t)
    const { client } = await connect5(h, { clientId: 'bad-change', clean: false })
    client.send({ cmd: 'disconnect', reasonCode: 0, properties: { sessionExpiryInterval: 60 } })
    const disconnect = await nextOf<mqttPacket.IDisconnectPacket>(client, 'disconnect')
    assert.equal(disconnect.reasonCode, 0x82)
    await client.expectClosed()
  })
})

describe('MQTT 5 message expiry', () => {
  test('queued messages expire and are counted; the rest carry what is left of their interval [MQTT-3.3.2-6]', async (t) => {
    const h = await startBroker(t)
    const first = await connect5(h, { clientId: 'late', clean: false, properties: { sessionExpiryInterval: 60 } })
    first.client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'e/#', qos: 1 }] })
    await nextOf(first.client, 'suback')
    await first.client.disconnect()
    h.broker.publish({ topic: 'e/short', payload: 'gone', qos: 1, properties: { messageExpiryInterval: 1 } })
    h.broker.publish({ topic: 'e/long', payload: 'kept', qos: 1, properties: { messageExpiryInterval: 100 } })
    await wait(1100)
    const back = await connect5(h, { clientId: 'late', clean: false, properties: { sessionExpiryInterval: 60 } })
    const kept = await nextOf<mqttPacket.IPublishPacket>(back.client, 'publish')
    assert.equal(kept.topic, 'e/long')
    // 100 s less the time it waited, rounded up: 99 after a wait of more than one second.
    assert.equal(kept.properties?.messageExpiryInterval, 99)
    back.client.send({ cmd: 'puback', messageId: kept.messageId })
    await back.client.expectNothingPending()
    assert.equal(h.broker.stats.messagesExpired, 1)
    assert.equal(h.broker.stats.publishDropped, 1)
  })

  test('an expired retained message is not sent on subscribe [MQTT-3.3.2-5]', async (t) => {
    const h = await startBroker(t)
    h.broker.publish({ topic: 'r/short', payload: 'x', qos: 0, retain: true, properties: { messageExpiryInterval: 1 } })
    h.broker.publish({ topic: 'r/long', payload: 'y', qos: 0, retain: true, properties: { messageExpiryInterval: 60 } })
    await wait(1100)
    const { client } = await connect5(h, { clientId: 'r' })
    client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'r/#', qos: 0 }] })
    await nextOf(client, 'suback')
    const only = await nextOf<mqttPacket.IPublishPacket>(client, 'publish')
    assert.equal(only.topic, 'r/long')
    assert.equal(only.retain, true)
    await client.expectNothingPending()
  })
})

describe('MQTT 5 will delay', () => {
  const will = (delay: number): mqttPacket.IConnectPacket['will'] => ({
    topic: 'wills/x', payload: Buffer.from('gone'), qos: 0, retain: false, properties: { willDelayInterval: delay }
  })

  test('the will waits for its delay, then goes out', async (t) => {
    const h = await startBroker(t)
    const { client: watcher } = await connect5(h, { clientId: 'watcher' })
    watcher.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'wills/#', qos: 0 }] })
    await nextOf(watcher, 'suback')
    const { client } = await connect5(h, { clientId: 'dying', clean: false, properties: { sessionExpiryInterval: 60 }, will: will(1) })
    const published: string[] = []
    h.broker.on('willPublished', ({ clientId }) => published.push(clientId))
    await client.destroy()
    assert.deepEqual(published, [], 'not at once')
    const message = await nextOf<mqttPacket.IPublishPacket>(watcher, 'publish')
    assert.equal(message.payload.toString(), 'gone')
    assert.deepEqual(published, ['dying'])
  })

  test('a client back before the delay cancels its will [MQTT-3.1.3-9]', async (t) => {
    const h = await startBroker(t)
    const published: string[] = []
    h.broker.on('willPublished', ({ clientId }) => published.push(clientId))
    const { client } = await connect5(h, { clientId: 'blink', clean: false, properties: { sessionExpiryInterval: 60 }, will: will(2) })
    await client.destroy()
    const back = await connect5(h, { clientId: 'blink', clean: false, properties: { sessionExpiryInterval: 60 } })
    assert.equal(back.connack.sessionPresent, true)
    await wait(2300)
    assert.deepEqual(published, [])
  })

  test('the will goes out when the session ends first (expiry shorter than the delay)', async (t) => {
    const h = await startBroker(t)
    const published: string[] = []
    h.broker.on('willPublished', ({ clientId }) => published.push(clientId))
    const { client } = await connect5(h, { clientId: 'short', clean: false, properties: { sessionExpiryInterval: 1 }, will: will(3600) })
    await client.destroy()
    await eventually(() => published.length === 1, 'will at session end')
    assert.equal(h.broker.sessionCount, 0)
  })

  test('DISCONNECT with reason 0x04 publishes the will', async (t) => {
    const h = await startBroker(t)
    const published: string[] = []
    h.broker.on('willPublished', ({ clientId }) => published.push(clientId))
    const { client } = await connect5(h, { clientId: 'leaving', will: will(0) })
    client.send({ cmd: 'disconnect', reasonCode: 0x04 })
    await client.whenClosed()
    await eventually(() => published.length === 1, 'will after DISCONNECT 0x04')
  })
})

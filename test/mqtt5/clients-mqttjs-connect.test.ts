// MQTT.js 5 in MQTT 5 mode against the broker: what CONNACK tells it (MQTT 5.0, 3.2.2.3),
// session expiry (3.1.2.11.2), will delay (3.1.3.2.2) and the server's DISCONNECT (3.14).
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { test } from 'node:test'
import { startBroker } from '../helpers/broker'
import { bounded, connectV5 } from './mqttjs'

test('CONNACK assigns a client identifier when the client sends none [MQTT-3.2.2-16]', async (t) => {
  const h = await startBroker(t)
  const c = await connectV5(t, h.port, { clientId: '' })
  const assigned = c.connack.properties?.assignedClientIdentifier
  assert.equal(typeof assigned, 'string')
  assert.match(assigned as string, /^auto-[0-9a-f-]{36}$/)
  // The broker knows the client by that identifier.
  assert.deepEqual(h.broker.clients().map((client) => client.clientId), [assigned])
})

test('CONNACK carries the topic alias maximum and receive maximum the broker allows', async (t) => {
  const h = await startBroker(t, { maxTopicAlias: 7, maxInflightMessages: 12 })
  const c = await connectV5(t, h.port, { clientId: 'limits' })
  assert.equal(c.connack.reasonCode, 0)
  assert.equal(c.connack.sessionPresent, false)
  // Maximum Packet Size is announced by default: Mosquitto 2.1's 2,000,000 bytes (MQTT 5.0, 3.2.2.3.6).
  assert.deepEqual(c.connack.properties, { topicAliasMaximum: 7, receiveMaximum: 12, maximumPacketSize: 2_000_000 })
})

test('CONNACK gives a server keep alive when max_keepalive is under the client\'s [MQTT-3.2.2-21]', async (t) => {
  const h = await startBroker(t, { maxKeepalive: 30 })
  const c = await connectV5(t, h.port, { clientId: 'sleepy', keepalive: 120 })
  assert.equal(c.connack.properties?.serverKeepAlive, 30)
  assert.equal(h.broker.clients()[0]?.keepaliveSec, 30)
  // Within the limit nothing is said.
  const d = await connectV5(t, h.port, { clientId: 'brisk', keepalive: 20 })
  assert.equal(d.connack.properties?.serverKeepAlive, undefined)
})

test('CONNACK gives response information when it is requested (MQTT 5.0, 3.2.2.3.15)', async (t) => {
  const h = await startBroker(t)
  const c = await connectV5(t, h.port, { clientId: 'asker', properties: { requestResponseInformation: true } })
  assert.equal(c.connack.properties?.responseInformation, 'responses/asker/')
  const d = await connectV5(t, h.port, { clientId: 'quiet' })
  assert.equal(d.connack.properties?.responseInformation, undefined)
  const other = await startBroker(t, { responseInformationRoot: 'replies/here' })
  const e = await connectV5(t, other.port, { clientId: 'asker', properties: { requestResponseInformation: true } })
  assert.equal(e.connack.properties?.responseInformation, 'replies/here/asker/')
})

test('a session with an expiry interval survives its connection, then expires (MQTT 5.0, 3.1.2.11.2)', async (t) => {
  const h = await startBroker(t)
  const first = await connectV5(t, h.port, { clientId: 'keeper', clean: false, properties: { sessionExpiryInterval: 1 } })
  assert.equal(first.connack.sessionPresent, false)
  await first.client.subscribeAsync('kept/#', { qos: 1 })
  await first.client.endAsync()
  // Back before the interval ran out: the session and its subscription are there.
  const second = await connectV5(t, h.port, { clientId: 'keeper', clean: false, properties: { sessionExpiryInterval: 1 } })
  assert.equal(second.connack.sessionPresent, true)
  const publisher = await connectV5(t, h.port, { clientId: 'pub' })
  await publisher.client.publishAsync('kept/a', 'still subscribed', { qos: 1 })
  const message = await second.next()
  assert.deepEqual([message.topic, message.payload], ['kept/a', 'still subscribed'])
  const expired = waitForLog(h.log.lines, 'Expiring client keeper')
  await second.client.endAsync()
  await expired
  const third = await connectV5(t, h.port, { clientId: 'keeper', clean: false, properties: { sessionExpiryInterval: 1 } })
  assert.equal(third.connack.sessionPresent, false)
  await publisher.client.publishAsync('kept/a', 'nobody listens', { qos: 1 })
  assert.deepEqual(third.pending, [])
})

test('a session with expiry 0 ends with its connection [MQTT-3.1.2-6]', async (t) => {
  const h = await startBroker(t)
  const first = await connectV5(t, h.port, { clientId: 'brief', clean: false })
  await first.client.subscribeAsync('x', { qos: 1 })
  await first.client.endAsync()
  const second = await connectV5(t, h.port, { clientId: 'brief', clean: false })
  assert.equal(second.connack.sessionPresent, false)
})

test('a delayed will is published when its delay runs out (MQTT 5.0, 3.1.3.2.2)', async (t) => {
  const h = await startBroker(t)
  const watcher = await connectV5(t, h.port, { clientId: 'watcher' })
  await watcher.client.subscribeAsync('wills/#', { qos: 1 })
  const dev = await connectV5(t, h.port, {
    clientId: 'dev',
    properties: { sessionExpiryInterval: 60 },
    will: { topic: 'wills/dev', payload: Buffer.from('gone'), qos: 1, retain: false, properties: { willDelayInterval: 1, contentType: 'text/plain', userProperties: { why: 'delay' } } }
  })
  const gone = once(h.broker, 'clientDisconnected')
  await dev.drop()
  const [event] = await bounded(gone, 'clientDisconnected')
  // Not published at the close: it waits for its delay.
  assert.equal(event.willPublished, false)
  assert.deepEqual(watcher.pending, [])
  const message = await watcher.next()
  assert.deepEqual([message.topic, message.payload, message.packet.qos], ['wills/dev', 'gone', 1])
  assert.equal(message.packet.properties?.contentType, 'text/plain')
  assert.deepEqual({ ...message.packet.properties?.userProperties }, { why: 'delay' })
})

test('a client back before its will delay cancels the will [MQTT-3.1.3-9]', async (t) => {
  const h = await startBroker(t)
  const watcher = await connectV5(t, h.port, { clientId: 'watcher' })
  await watcher.client.subscribeAsync('wills/#', { qos: 1 })
  const options = {
    clientId: 'dev',
    clean: false,
    properties: { sessionExpiryInterval: 60 },
    will: { topic: 'wills/dev', payload: Buffer.from('gone'), qos: 1 as const, retain: false, properties: { willDelayInterval: 2 } }
  }
  const dev = await connectV5(t, h.port, options)
  await dev.drop()
  const back = await connectV5(t, h.port, { ...options, will: undefined })
  assert.equal(back.connack.sessionPresent, true)
  // Ending the session now would publish a will still pending (MQTT 5.0, 3.1.3.2.2); a cancelled
  // one stays unsent, so the marker published next is the only message.
  await back.client.endAsync()
  const fresh = await connectV5(t, h.port, { clientId: 'dev', clean: true })
  assert.equal(fresh.connack.sessionPresent, false)
  await fresh.client.publishAsync('wills/marker', 'session over', { qos: 1 })
  const message = await watcher.next()
  assert.deepEqual([message.topic, message.payload], ['wills/marker', 'session over'])
  assert.deepEqual(watcher.pending, [])
})

test('DISCONNECT with reason code 0x04 publishes the will (MQTT 5.0, 3.14.2.1)', async (t) => {
  const h = await startBroker(t)
  const watcher = await connectV5(t, h.port, { clientId: 'watcher' })
  await watcher.client.subscribeAsync('wills/#', { qos: 1 })
  const dev = await connectV5(t, h.port, { clientId: 'dev', will: { topic: 'wills/dev', payload: Buffer.from('left with will'), qos: 1, retain: false } })
  const published = once(h.broker, 'willPublished')
  await dev.client.endAsync({ reasonCode: 4 })
  await bounded(published, 'willPublished')
  const message = await watcher.next()
  assert.deepEqual([message.topic, message.payload], ['wills/dev', 'left with will'])
})

test('DISCONNECT with reason code 0 discards the will [MQTT-3.14.4-3]', async (t) => {
  const h = await startBroker(t)
  const watcher = await connectV5(t, h.port, { clientId: 'watcher' })
  await watcher.client.subscribeAsync('wills/#', { qos: 1 })
  const dev = await connectV5(t, h.port, { clientId: 'dev', will: { topic: 'wills/dev', payload: Buffer.from('x'), qos: 1, retain: false } })
  const gone = once(h.broker, 'clientDisconnected')
  await dev.client.endAsync({ reasonCode: 0 })
  const [event] = await bounded(gone, 'clientDisconnected')
  assert.deepEqual([event.reason, event.willPublished], ['disconnect', false])
  await watcher.client.publishAsync('wills/marker', 'only this', { qos: 1 })
  assert.equal((await watcher.next()).topic, 'wills/marker')
})

test('the old client receives DISCONNECT 0x8E when its session is taken over [MQTT-3.1.4-3]', async (t) => {
  const h = await startBroker(t)
  const old = await connectV5(t, h.port, { clientId: 'twin' })
  await connectV5(t, h.port, { clientId: 'twin' })
  const disconnect = await bounded(old.disconnected, 'DISCONNECT')
  assert.equal(disconnect.reasonCode, 0x8e)
})

test('clients receive DISCONNECT 0x8B when the broker shuts down (MQTT 5.0, 3.14.2.1)', async (t) => {
  const h = await startBroker(t)
  const c = await connectV5(t, h.port, { clientId: 'stayer' })
  await h.broker.close()
  const disconnect = await bounded(c.disconnected, 'DISCONNECT')
  assert.equal(disconnect.reasonCode, 0x8b)
})

/** Resolves when a log line containing `text` appears; bounded. */
async function waitForLog (lines: string[], text: string): Promise<void> {
  await bounded((async () => {
    while (!lines.some((line) => line.includes(text))) await new Promise((resolve) => setTimeout(resolve, 20))
  })(), `log line "${text}"`)
}

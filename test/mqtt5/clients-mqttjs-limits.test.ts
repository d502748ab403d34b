// MQTT.js 5 in MQTT 5 mode at the broker's limits: shared subscriptions (MQTT 5.0, 4.8.2), an
// unknown authentication method (4.12), the broker's Maximum Packet Size (3.2.2.3.6) and the
// protocol errors that end a connection with a DISCONNECT reason code (4.13).
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { test } from 'node:test'
import mqtt from 'mqtt'
import { MAX_USER_PROPERTIES_PER_PACKET } from '../../lib/codec/properties'
import { startBroker } from '../helpers/broker'
import { bounded, connectV5, publish, WAIT_MS } from './mqttjs'

test('a shared subscription hands each message to one member, in turn, with its identifier (MQTT 5.0, 4.8.2)', async (t) => {
  const h = await startBroker(t)
  const a = await connectV5(t, h.port, { clientId: 'worker-a' })
  const b = await connectV5(t, h.port, { clientId: 'worker-b' })
  await a.client.subscribeAsync('$share/pool/jobs/#', { qos: 1, properties: { subscriptionIdentifier: 21 } })
  await b.client.subscribeAsync('$share/pool/jobs/#', { qos: 1, properties: { subscriptionIdentifier: 22 } })
  const pub = await connectV5(t, h.port, { clientId: 'pub' })
  for (let i = 0; i < 4; i++) await publish(pub, `jobs/${i}`, String(i), { qos: 1 })
  const got = [await a.next(), await a.next(), await b.next(), await b.next()]
  assert.deepEqual(got.map((m) => [m.payload, m.packet.properties?.subscriptionIdentifier]).sort(), [['0', 21], ['1', 22], ['2', 21], ['3', 22]])
  assert.deepEqual([a.pending, b.pending], [[], []])
  const unsuback = a.nextPacket('unsuback')
  await a.client.unsubscribeAsync(['$share/pool/jobs/#', '$share/other/jobs/#'])
  assert.deepEqual((await unsuback as { granted?: number[] }).granted, [0x00, 0x11])
})

test('a retained message is not sent to a new shared subscription (MQTT 5.0, 4.8.2)', async (t) => {
  const h = await startBroker(t)
  const pub = await connectV5(t, h.port, { clientId: 'pub' })
  await publish(pub, 'jobs/kept', 'retained', { qos: 1, retain: true })
  const c = await connectV5(t, h.port, { clientId: 'c' })
  await c.client.subscribeAsync('$share/pool/jobs/#', { qos: 1 })
  await publish(pub, 'jobs/new', 'live', { qos: 1 })
  const message = await c.next()
  assert.deepEqual([message.topic, message.payload], ['jobs/new', 'live'])
})

test('No Local on a shared subscription ends the connection with DISCONNECT 0x82 [MQTT-3.8.3-4]', async (t) => {
  const h = await startBroker(t)
  const c = await connectV5(t, h.port, { clientId: 'c' })
  c.client.subscribe('$share/pool/x', { qos: 1, nl: true }, () => {})
  assert.equal((await bounded(c.disconnected, 'DISCONNECT')).reasonCode, 0x82)
})

test('an unknown authentication method is refused with CONNACK 0x8C [MQTT-4.12.0-1]', async (t) => {
  const h = await startBroker(t)
  const client = mqtt.connect({ host: '127.0.0.1', port: h.port, protocolVersion: 5, reconnectPeriod: 0, connectTimeout: WAIT_MS, clientId: 'scram', properties: { authenticationMethod: 'SCRAM-SHA-1', authenticationData: Buffer.from('n,,n=user') } })
  t.after(() => client.end(true))
  const [error] = await bounded(once(client as unknown as NodeJS.EventEmitter, 'error') as Promise<[Error & { code?: number }]>, 'refusal')
  assert.equal(error.code, 0x8c)
  assert.deepEqual(h.broker.clients(), [])
})

test('a packet over the broker\'s Maximum Packet Size ends the connection with DISCONNECT 0x95 [MQTT-3.2.2-15]', async (t) => {
  const h = await startBroker(t, { maxPacketSize: 256 })
  const c = await connectV5(t, h.port, { clientId: 'big' })
  assert.equal(c.connack.properties?.maximumPacketSize, 256)
  // Sent raw: MQTT.js itself would refuse to send it, knowing the limit from CONNACK.
  // PUBLISH QoS 0 to 'x', no properties, 300 bytes of payload: remaining length 304 = 0xb0 0x02.
  const packet = Buffer.concat([Buffer.from([0x30, 0xb0, 0x02, 0x00, 0x01, 0x78, 0x00]), Buffer.alloc(300, 0x61)])
  c.client.stream.write(packet)
  assert.equal((await bounded(c.disconnected, 'DISCONNECT')).reasonCode, 0x95)
})

test('a DISCONNECT refused as a protocol error still publishes the will (MQTT 5.0, 3.14.2.2.2)', async (t) => {
  const h = await startBroker(t)
  const watcher = await connectV5(t, h.port, { clientId: 'watcher' })
  await watcher.client.subscribeAsync('wills/#', { qos: 1 })
  const c = await connectV5(t, h.port, { clientId: 'zero', will: { topic: 'wills/zero', payload: Buffer.from('bad disconnect'), qos: 1, retain: false } })
  const gone = once(h.broker, 'clientDisconnected')
  c.client.end(false, { reasonCode: 0, properties: { sessionExpiryInterval: 60 } })
  const [event] = await bounded(gone, 'clientDisconnected')
  assert.deepEqual([event.clientId, event.reason, event.willPublished], ['zero', 'protocolError', true])
  const message = await watcher.next()
  assert.deepEqual([message.topic, message.payload], ['wills/zero', 'bad disconnect'])
})

test('with retain unavailable, CONNACK says so and a retained PUBLISH ends the connection with 0x9A [MQTT-3.2.2-14]', async (t) => {
  const h = await startBroker(t, { retainAvailable: false })
  const c = await connectV5(t, h.port, { clientId: 'keeper' })
  assert.equal(c.connack.properties?.retainAvailable, false)
  c.client.publish('kept/x', 'retained', { qos: 1, retain: true }, () => {})
  assert.equal((await bounded(c.disconnected, 'DISCONNECT')).reasonCode, 0x9a)
  assert.equal(h.broker.retainedCount, 0)
})

test('refusals and denials carry MQTT 5 reason codes: CONNACK 0x86, PUBACK 0x87, SUBACK 0x87', async (t) => {
  const h = await startBroker(t, { allowAnonymous: false, users: { alice: 'secret' } }, {
    auth: {
      authorizePublish: (_client, topic) => !topic.startsWith('private/'),
      authorizeSubscribe: (_client, filter, qos) => filter.startsWith('private/') ? false : qos
    }
  })
  const refused = await bounded(new Promise<Error & { code?: number }>((resolve) => {
    const client = mqtt.connect({ host: '127.0.0.1', port: h.port, protocolVersion: 5, reconnectPeriod: 0, clientId: 'mallory', username: 'alice', password: 'guess' })
    t.after(() => client.end(true))
    client.once('error', resolve)
  }), 'refusal')
  assert.equal(refused.code, 0x86)
  const c = await connectV5(t, h.port, { clientId: 'alice', username: 'alice', password: 'secret' })
  const puback = c.nextPacket('puback')
  await assert.rejects(c.client.publishAsync('private/x', 'no', { qos: 1 }), /Not authorized/)
  assert.equal((await puback as { reasonCode?: number }).reasonCode, 0x87)
  const suback = c.nextPacket('suback')
  await assert.rejects(c.client.subscribeAsync({ 'public/#': { qos: 1 }, 'private/#': { qos: 1 } }), /Subscribe error/)
  assert.deepEqual((await suback as { granted?: number[] }).granted, [1, 0x87])
})

/** MQTT.js user properties: `count` distinct names, so none folds into an array. */
function manyUserProperties (count: number): Record<string, string> {
  const properties: Record<string, string> = {}
  for (let i = 0; i < count; i++) properties[`k${i}`] = String(i)
  return properties
}

test(`${MAX_USER_PROPERTIES_PER_PACKET} user properties in one PUBLISH all reach the subscriber, in order [MQTT-3.3.2-17]`, async (t) => {
  const h = await startBroker(t)
  const sub = await connectV5(t, h.port, { clientId: 'sub' })
  await sub.client.subscribeAsync('props/#', { qos: 1 })
  const pub = await connectV5(t, h.port, { clientId: 'pub' })
  const sent = manyUserProperties(MAX_USER_PROPERTIES_PER_PACKET)
  await publish(pub, 'props/many', 'x', { qos: 1, properties: { userProperties: sent } })
  const message = await sub.next()
  assert.deepEqual(Object.entries(message.packet.properties?.userProperties ?? {}), Object.entries(sent))
})

test('one user property more ends the connection with DISCONNECT 0x83 (MQTT 5.0, 3.14.2.1), and nothing is routed', async (t) => {
  // A 2 MB packet of empty pairs would otherwise hold the event loop for most of a second.
  const h = await startBroker(t)
  const sub = await connectV5(t, h.port, { clientId: 'sub' })
  await sub.client.subscribeAsync('props/#', { qos: 1 })
  const pub = await connectV5(t, h.port, { clientId: 'pub' })
  pub.client.publish('props/many', 'x', { qos: 1, properties: { userProperties: manyUserProperties(MAX_USER_PROPERTIES_PER_PACKET + 1) } }, () => {})
  assert.equal((await bounded(pub.disconnected, 'DISCONNECT')).reasonCode, 0x83)
  await publish(sub, 'props/after', 'still served', { qos: 1 })
  const message = await sub.next()
  assert.deepEqual([message.topic, message.payload], ['props/after', 'still served'])
  assert.deepEqual(sub.pending, [])
})

test('a user property whose name is not UTF-8 ends the connection with DISCONNECT 0x81 [MQTT-1.5.4-1]', async (t) => {
  const h = await startBroker(t)
  const sub = await connectV5(t, h.port, { clientId: 'sub' })
  await sub.client.subscribeAsync('props/#', { qos: 0 })
  const c = await connectV5(t, h.port, { clientId: 'raw' })
  // PUBLISH QoS 0 to 'props/x', properties: one user property, name 0xFF (never valid UTF-8), value 'v'.
  const properties = [0x26, 0x00, 0x01, 0xff, 0x00, 0x01, 0x76]
  const body = [0x00, 0x07, ...Buffer.from('props/x'), properties.length, ...properties, ...Buffer.from('bad')]
  c.client.stream.write(Buffer.from([0x30, body.length, ...body]))
  assert.equal((await bounded(c.disconnected, 'DISCONNECT')).reasonCode, 0x81)
  await publish(sub, 'props/after', 'ok')
  const message = await sub.next()
  assert.deepEqual([message.topic, message.payload], ['props/after', 'ok'])
})

test('a CONNECT with one user property too many is refused with CONNACK 0x83 (MQTT 5.0, 3.2.2.2)', async (t) => {
  const h = await startBroker(t)
  const client = mqtt.connect({ host: '127.0.0.1', port: h.port, protocolVersion: 5, reconnectPeriod: 0, connectTimeout: WAIT_MS, clientId: 'crowded', properties: { userProperties: manyUserProperties(MAX_USER_PROPERTIES_PER_PACKET + 1) } })
  t.after(() => client.end(true))
  const [error] = await bounded(once(client as unknown as NodeJS.EventEmitter, 'error') as Promise<[Error & { code?: number }]>, 'refusal')
  assert.equal(error.code, 0x83)
  assert.deepEqual(h.broker.clients(), [])
})

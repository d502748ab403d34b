// MQTT.js 5 in MQTT 5 mode, the less travelled paths: retained messages keep their properties
// and count their expiry down (MQTT 5.0, 3.3.2.3.3), DISCONNECT changes the Session Expiry
// Interval (3.14.2.2.2), the client's Maximum Packet Size (3.1.2.11.4), Payload Format Invalid
// (0x99), wills to MQTT 3.1.1 subscribers, and a will delay longer than the session.
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { mock, test } from 'node:test'
import { startBroker } from '../helpers/broker'
import { bounded, connectV5, publish } from './mqttjs'

test('a retained message keeps its properties, gets the subscription identifier, and counts its expiry down', async (t) => {
  const h = await startBroker(t)
  const pub = await connectV5(t, h.port, { clientId: 'pub' })
  mock.timers.enable({ apis: ['Date'], now: Date.now() })
  t.after(() => mock.timers.reset())
  await publish(pub, 'state/lamp', 'on', {
    qos: 1,
    retain: true,
    properties: { messageExpiryInterval: 120, contentType: 'text/plain', userProperties: { room: 'hall' }, correlationData: Buffer.from('c1') }
  })
  await publish(pub, 'state/fan', 'off', { qos: 1, retain: true, properties: { messageExpiryInterval: 20 } })
  mock.timers.tick(30_000)
  const sub = await connectV5(t, h.port, { clientId: 'sub' })
  await sub.client.subscribeAsync('state/#', { qos: 1, properties: { subscriptionIdentifier: 4 } })
  const lamp = await sub.next()
  assert.deepEqual([lamp.topic, lamp.payload, lamp.packet.retain, lamp.packet.qos], ['state/lamp', 'on', true, 1])
  assert.deepEqual({ ...lamp.packet.properties, userProperties: { ...lamp.packet.properties?.userProperties } }, {
    messageExpiryInterval: 90,
    contentType: 'text/plain',
    userProperties: { room: 'hall' },
    correlationData: Buffer.from('c1'),
    subscriptionIdentifier: 4
  })
  // state/fan expired after 20 s and is not sent [MQTT-3.3.2-5].
  await publish(pub, 'state/marker', 'end', { qos: 1 })
  assert.equal((await sub.next()).topic, 'state/marker')
})

test('DISCONNECT can lengthen the Session Expiry Interval set in CONNECT (MQTT 5.0, 3.14.2.2.2)', async (t) => {
  const h = await startBroker(t)
  const first = await connectV5(t, h.port, { clientId: 'changer', clean: false, properties: { sessionExpiryInterval: 1 } })
  await first.client.subscribeAsync('changed/#', { qos: 1 })
  await first.client.endAsync({ properties: { sessionExpiryInterval: 3600 } })
  const pub = await connectV5(t, h.port, { clientId: 'pub' })
  await publish(pub, 'changed/a', 'kept for an hour', { qos: 1 })
  assert.equal(h.broker.clients().length, 1)
  const back = await connectV5(t, h.port, { clientId: 'changer', clean: false, properties: { sessionExpiryInterval: 0 } })
  assert.equal(back.connack.sessionPresent, true)
  const message = await back.next()
  assert.deepEqual([message.topic, message.payload], ['changed/a', 'kept for an hour'])
})

test('DISCONNECT setting an expiry after CONNECT set 0 is a protocol error [MQTT-3.14.2-2]', async (t) => {
  const h = await startBroker(t)
  const c = await connectV5(t, h.port, { clientId: 'zero', properties: { sessionExpiryInterval: 0 } })
  const gone = once(h.broker, 'clientDisconnected')
  c.client.end(false, { reasonCode: 0, properties: { sessionExpiryInterval: 60 } })
  const [event] = await bounded(gone, 'clientDisconnected')
  assert.equal(event.clientId, 'zero')
  const back = await connectV5(t, h.port, { clientId: 'zero', clean: false })
  assert.equal(back.connack.sessionPresent, false)
})

test('a message over the client\'s Maximum Packet Size is not sent to it [MQTT-3.1.2-25]', async (t) => {
  const h = await startBroker(t)
  const small = await connectV5(t, h.port, { clientId: 'small', properties: { maximumPacketSize: 64 } })
  await small.client.subscribeAsync('size/#', { qos: 1 })
  const big = await connectV5(t, h.port, { clientId: 'big' })
  await big.client.subscribeAsync('size/#', { qos: 1 })
  const pub = await connectV5(t, h.port, { clientId: 'pub' })
  await publish(pub, 'size/large', 'x'.repeat(100), { qos: 1 })
  await publish(pub, 'size/small', 'fits', { qos: 1 })
  assert.deepEqual([(await big.next()).topic, (await big.next()).topic], ['size/large', 'size/small'])
  const received = await small.next()
  assert.deepEqual([received.topic, received.payload], ['size/small', 'fits'])
  assert.deepEqual(small.pending, [])
})

test('PUBACK 0x99 when the payload is not the UTF-8 its format indicator promises (MQTT 5.0, 3.3.2.3.2)', async (t) => {
  const h = await startBroker(t)
  const sub = await connectV5(t, h.port, { clientId: 'sub' })
  await sub.client.subscribeAsync('fmt/#', { qos: 1 })
  const pub = await connectV5(t, h.port, { clientId: 'pub' })
  const refused = pub.nextPacket('puback')
  await assert.rejects(pub.client.publishAsync('fmt/bad', Buffer.from([0xc3, 0x28]), { qos: 1, properties: { payloadFormatIndicator: true } }), /Payload format invalid/)
  assert.equal((await refused as { reasonCode?: number }).reasonCode, 0x99)
  await publish(pub, 'fmt/good', 'é', { qos: 1, properties: { payloadFormatIndicator: true } })
  const message = await sub.next()
  assert.deepEqual([message.topic, message.payload, message.packet.properties?.payloadFormatIndicator], ['fmt/good', 'é', true])
})

test('an MQTT 5 will with properties reaches an MQTT 3.1.1 subscriber without them', async (t) => {
  const h = await startBroker(t)
  const old = await connectV5(t, h.port, { clientId: 'old', protocolVersion: 4 })
  await old.client.subscribeAsync('wills/#', { qos: 1 })
  const dev = await connectV5(t, h.port, {
    clientId: 'dev',
    will: { topic: 'wills/dev', payload: Buffer.from('lost'), qos: 1, retain: false, properties: { contentType: 'text/plain', userProperties: { a: 'b' }, messageExpiryInterval: 30 } }
  })
  await dev.drop()
  const message = await old.next()
  assert.deepEqual([message.topic, message.payload, message.packet.qos, message.packet.properties], ['wills/dev', 'lost', 1, undefined])
})

test('a will whose delay outlasts its session is published when the session ends (MQTT 5.0, 3.1.3.2.2)', async (t) => {
  const h = await startBroker(t)
  const watcher = await connectV5(t, h.port, { clientId: 'watcher' })
  await watcher.client.subscribeAsync('wills/#', { qos: 1 })
  const dev = await connectV5(t, h.port, {
    clientId: 'dev',
    properties: { sessionExpiryInterval: 1 },
    will: { topic: 'wills/dev', payload: Buffer.from('session over'), qos: 1, retain: false, properties: { willDelayInterval: 3600 } }
  })
  const gone = once(h.broker, 'clientDisconnected')
  await dev.drop()
  const [event] = await bounded(gone, 'clientDisconnected')
  assert.equal(event.willPublished, false)
  const message = await watcher.next()
  assert.deepEqual([message.topic, message.payload], ['wills/dev', 'session over'])
})

test('a client reconnecting with Clean Start ends its old session, and the delayed will goes out then', async (t) => {
  const h = await startBroker(t)
  const watcher = await connectV5(t, h.port, { clientId: 'watcher' })
  await watcher.client.subscribeAsync('wills/#', { qos: 1 })
  const dev = await connectV5(t, h.port, {
    clientId: 'dev',
    properties: { sessionExpiryInterval: 3600 },
    will: { topic: 'wills/dev', payload: Buffer.from('replaced'), qos: 1, retain: false, properties: { willDelayInterval: 3600 } }
  })
  await dev.drop()
  const fresh = await connectV5(t, h.port, { clientId: 'dev', clean: true })
  assert.equal(fresh.connack.sessionPresent, false)
  const message = await watcher.next()
  assert.deepEqual([message.topic, message.payload], ['wills/dev', 'replaced'])
})

test('a message too large for the client does not leave behind a topic alias it never learned [MQTT-3.1.2-25] [MQTT-3.3.2-12]', async (t) => {
  const h = await startBroker(t)
  const sub = await connectV5(t, h.port, { clientId: 'small', properties: { maximumPacketSize: 64, topicAliasMaximum: 4 } })
  await sub.client.subscribeAsync('al/#', { qos: 1 })
  const pub = await connectV5(t, h.port, { clientId: 'pub' })
  await publish(pub, 'al/x', 'x'.repeat(100), { qos: 1 })
  await publish(pub, 'al/x', 'fits', { qos: 1 })
  await publish(pub, 'al/x', 'fits again', { qos: 1 })
  const first = await sub.next()
  const second = await sub.next()
  assert.deepEqual([first.topic, first.payload, first.packet.properties?.topicAlias], ['al/x', 'fits', 1])
  assert.deepEqual([second.topic, second.payload, second.packet.properties?.topicAlias], ['al/x', 'fits again', 1])
})

test('re-subscribing without a subscription identifier removes the old one (MQTT 5.0, 3.8.2.1.2)', async (t) => {
  const h = await startBroker(t)
  const c = await connectV5(t, h.port, { clientId: 'c' })
  await c.client.subscribeAsync('resub', { qos: 1, properties: { subscriptionIdentifier: 5 } })
  await c.client.subscribeAsync('resub', { qos: 1 })
  const pub = await connectV5(t, h.port, { clientId: 'pub' })
  await publish(pub, 'resub', 'x', { qos: 1 })
  assert.equal((await c.next()).packet.properties, undefined)
})

test('the will of a taken-over client is published, and its DISCONNECT says 0x8E [MQTT-3.1.4-3]', async (t) => {
  const h = await startBroker(t)
  const watcher = await connectV5(t, h.port, { clientId: 'watcher' })
  await watcher.client.subscribeAsync('wills/#', { qos: 1 })
  const old = await connectV5(t, h.port, { clientId: 'twin', will: { topic: 'wills/twin', payload: Buffer.from('replaced'), qos: 1, retain: false } })
  await connectV5(t, h.port, { clientId: 'twin' })
  assert.equal((await bounded(old.disconnected, 'DISCONNECT')).reasonCode, 0x8e)
  const message = await watcher.next()
  assert.deepEqual([message.topic, message.payload], ['wills/twin', 'replaced'])
})

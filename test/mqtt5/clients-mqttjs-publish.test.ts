// MQTT.js 5 in MQTT 5 mode: PUBLISH properties pass through the broker unchanged (MQTT 5.0,
// 3.3.2.3), message expiry counts down while queued [MQTT-3.3.2-6], topic aliases both ways
// (3.3.2.3.4), subscription options and identifiers (3.8.3.1, 3.8.2.1.2), reason codes on
// acknowledgements, and MQTT 3.1.1 clients mixed in.
import assert from 'node:assert/strict'
import { mock, test } from 'node:test'
import { startBroker } from '../helpers/broker'
import { connectV5, publish } from './mqttjs'

const PROPERTIES = {
  payloadFormatIndicator: true,
  contentType: 'application/json',
  responseTopic: 'replies/for/me',
  correlationData: Buffer.from([0x00, 0xff, 0x10, 0x7f]),
  // Repeated keys keep all their values, in order [MQTT-3.3.2-18].
  userProperties: { site: ['north', 'south'], unit: 'kWh' }
}

test('PUBLISH properties reach an MQTT 5 subscriber unchanged [MQTT-3.3.2-4] [MQTT-3.3.2-15] [MQTT-3.3.2-16] [MQTT-3.3.2-17] [MQTT-3.3.2-20]', async (t) => {
  const h = await startBroker(t)
  const sub = await connectV5(t, h.port, { clientId: 'sub' })
  await sub.client.subscribeAsync('meter/#', { qos: 1 })
  const pub = await connectV5(t, h.port, { clientId: 'pub' })
  for (const qos of [0, 1, 2] as const) {
    await publish(pub, 'meter/1', `{"qos":${qos}}`, { qos, properties: PROPERTIES })
    const message = await sub.next()
    assert.deepEqual([message.topic, message.payload, message.packet.qos], ['meter/1', `{"qos":${qos}}`, Math.min(qos, 1)])
    assert.deepEqual({ ...message.packet.properties, userProperties: { ...message.packet.properties?.userProperties } }, PROPERTIES)
  }
})

test('a message queued for an offline session carries what is left of its expiry interval [MQTT-3.3.2-6]', async (t) => {
  const h = await startBroker(t)
  const sub = await connectV5(t, h.port, { clientId: 'away', clean: false, properties: { sessionExpiryInterval: 300 } })
  await sub.client.subscribeAsync('mail/#', { qos: 1 })
  await sub.client.endAsync()
  const pub = await connectV5(t, h.port, { clientId: 'pub' })
  // The broker's clock is moved on by hand: the remaining interval is then exact.
  mock.timers.enable({ apis: ['Date'], now: Date.now() })
  t.after(() => mock.timers.reset())
  await publish(pub, 'mail/short', 'expires', { qos: 1, properties: { messageExpiryInterval: 5 } })
  await publish(pub, 'mail/long', 'waits', { qos: 1, properties: { messageExpiryInterval: 60, contentType: 'text/plain' } })
  await publish(pub, 'mail/forever', 'no expiry', { qos: 1 })
  mock.timers.tick(10_000)
  const back = await connectV5(t, h.port, { clientId: 'away', clean: false, properties: { sessionExpiryInterval: 300 } })
  assert.equal(back.connack.sessionPresent, true)
  const long = await back.next()
  assert.deepEqual([long.topic, long.payload], ['mail/long', 'waits'])
  assert.deepEqual(long.packet.properties, { messageExpiryInterval: 50, contentType: 'text/plain' })
  const forever = await back.next()
  assert.deepEqual([forever.topic, forever.packet.properties], ['mail/forever', undefined])
  // The expired one was dropped and counted [MQTT-3.3.2-5].
  assert.equal(h.broker.stats.messagesExpired, 1)
  assert.deepEqual(back.pending, [])
})

test('MQTT.js topic aliases towards the broker resolve to their topic (MQTT 5.0, 3.3.2.3.4)', async (t) => {
  const h = await startBroker(t, { maxTopicAlias: 4 })
  const sub = await connectV5(t, h.port, { clientId: 'sub' })
  await sub.client.subscribeAsync('alias/#', { qos: 1 })
  const pub = await connectV5(t, h.port, { clientId: 'pub' })
  // The first PUBLISH sets alias 3, the next ones send only the alias.
  await publish(pub, 'alias/one', 'first', { qos: 1, properties: { topicAlias: 3 } })
  await publish(pub, '', 'second', { qos: 1, properties: { topicAlias: 3 } })
  await publish(pub, 'alias/two', 'third', { qos: 1, properties: { topicAlias: 3 } })
  await publish(pub, '', 'fourth', { qos: 1, properties: { topicAlias: 3 } })
  const received = [await sub.next(), await sub.next(), await sub.next(), await sub.next()]
  assert.deepEqual(received.map((m) => [m.topic, m.payload]), [['alias/one', 'first'], ['alias/one', 'second'], ['alias/two', 'third'], ['alias/two', 'fourth']])
  // Aliases are not forwarded: the subscriber did not allow any.
  assert.deepEqual(received.map((m) => m.packet.properties?.topicAlias), [undefined, undefined, undefined, undefined])
})

test('MQTT.js automatic topic aliases work against the broker\'s Topic Alias Maximum', async (t) => {
  const h = await startBroker(t, { maxTopicAlias: 2 })
  const sub = await connectV5(t, h.port, { clientId: 'sub' })
  await sub.client.subscribeAsync('auto/#', { qos: 1 })
  const pub = await connectV5(t, h.port, { clientId: 'pub', autoUseTopicAlias: true, autoAssignTopicAlias: true })
  const topics = ['auto/a', 'auto/b', 'auto/c', 'auto/a', 'auto/b', 'auto/c', 'auto/a']
  for (const [i, topic] of topics.entries()) await publish(pub, topic, String(i), { qos: 1 })
  const received = []
  for (let i = 0; i < topics.length; i++) received.push(await sub.next())
  assert.deepEqual(received.map((m) => [m.topic, m.payload]), topics.map((topic, i) => [topic, String(i)]))
})

test('the broker sends topic aliases to a client that allows them, and MQTT.js resolves them', async (t) => {
  const h = await startBroker(t)
  const sub = await connectV5(t, h.port, { clientId: 'sub', properties: { topicAliasMaximum: 2 } })
  await sub.client.subscribeAsync('out/#', { qos: 1 })
  const pub = await connectV5(t, h.port, { clientId: 'pub' })
  const topics = ['out/a', 'out/a', 'out/b', 'out/c', 'out/b', 'out/c', 'out/a']
  for (const [i, topic] of topics.entries()) await publish(pub, topic, String(i), { qos: 1 })
  const received = []
  for (let i = 0; i < topics.length; i++) received.push(await sub.next())
  assert.deepEqual(received.map((m) => [m.topic, m.payload]), topics.map((topic, i) => [topic, String(i)]))
  // Two aliases allowed: out/a and out/b get them, out/c always goes in full.
  assert.deepEqual(received.map((m) => m.packet.properties?.topicAlias), [1, 1, 2, undefined, 2, undefined, 1])
})

test('No Local keeps a client\'s own messages from it [MQTT-3.8.3-3]', async (t) => {
  const h = await startBroker(t)
  const c = await connectV5(t, h.port, { clientId: 'echo' })
  await c.client.subscribeAsync('nl/mine', { qos: 1, nl: true })
  await c.client.subscribeAsync('nl/all', { qos: 1, nl: false })
  await publish(c, 'nl/mine', 'not back to me', { qos: 1 })
  await publish(c, 'nl/all', 'back to me', { qos: 1 })
  const other = await connectV5(t, h.port, { clientId: 'other' })
  await publish(other, 'nl/mine', 'from someone else', { qos: 1 })
  assert.deepEqual([(await c.next()).payload, (await c.next()).payload], ['back to me', 'from someone else'])
})

test('Retain As Published keeps the retain flag on forwarded messages [MQTT-3.3.1-12] [MQTT-3.3.1-13]', async (t) => {
  const h = await startBroker(t)
  const rap = await connectV5(t, h.port, { clientId: 'rap' })
  await rap.client.subscribeAsync('rap/#', { qos: 1, rap: true })
  const plain = await connectV5(t, h.port, { clientId: 'plain' })
  await plain.client.subscribeAsync('rap/#', { qos: 1, rap: false })
  const pub = await connectV5(t, h.port, { clientId: 'pub' })
  await publish(pub, 'rap/x', 'kept', { qos: 1, retain: true })
  assert.equal((await rap.next()).packet.retain, true)
  assert.equal((await plain.next()).packet.retain, false)
})

test('Retain Handling 0, 1 and 2 decide when retained messages are sent on subscribe (MQTT 5.0, 3.8.3.1)', async (t) => {
  const h = await startBroker(t)
  const pub = await connectV5(t, h.port, { clientId: 'pub' })
  await publish(pub, 'rh/state', 'on', { qos: 1, retain: true })
  const c = await connectV5(t, h.port, { clientId: 'c' })
  // rh 0: at every subscribe [MQTT-3.3.1-9]
  await c.client.subscribeAsync('rh/state', { qos: 1, rh: 0 })
  await c.client.subscribeAsync('rh/state', { qos: 1, rh: 0 })
  assert.deepEqual([(await c.next()).payload, (await c.next()).payload], ['on', 'on'])
  // rh 1: only when the subscription is new [MQTT-3.3.1-10]
  await c.client.subscribeAsync('rh/+', { qos: 1, rh: 1 })
  await c.client.subscribeAsync('rh/+', { qos: 1, rh: 1 })
  const first = await c.next()
  assert.deepEqual([first.topic, first.payload, first.packet.retain], ['rh/state', 'on', true])
  // rh 2: never [MQTT-3.3.1-11]
  await c.client.subscribeAsync('rh/#', { qos: 1, rh: 2 })
  await publish(pub, 'rh/marker', 'end', { qos: 1 })
  const marker = await c.next()
  assert.deepEqual([marker.topic, marker.payload], ['rh/marker', 'end'])
  assert.deepEqual(c.pending, [])
})

test('a message matching two subscriptions carries both subscription identifiers [MQTT-3.3.4-4] [MQTT-3.3.4-5]', async (t) => {
  const h = await startBroker(t)
  const c = await connectV5(t, h.port, { clientId: 'ids' })
  await c.client.subscribeAsync('sid/+/temp', { qos: 1, properties: { subscriptionIdentifier: 11 } })
  await c.client.subscribeAsync('sid/#', { qos: 0, properties: { subscriptionIdentifier: 12 } })
  await c.client.subscribeAsync('sid/none', { qos: 0 })
  const pub = await connectV5(t, h.port, { clientId: 'pub' })
  await publish(pub, 'sid/kitchen/temp', '21', { qos: 1 })
  const both = await c.next()
  assert.equal(both.packet.qos, 1)
  assert.deepEqual([...(both.packet.properties?.subscriptionIdentifier as number[])].sort((a, b) => a - b), [11, 12])
  await publish(pub, 'sid/kitchen', 'one', { qos: 1 })
  assert.deepEqual((await c.next()).packet.properties, { subscriptionIdentifier: 12 })
  await publish(pub, 'sid/none', 'no id', { qos: 0 })
  const none = await c.next()
  assert.deepEqual([none.topic, none.packet.properties], ['sid/none', { subscriptionIdentifier: 12 }])
})

test('PUBACK and PUBREC say 0x00 whether or not anybody is subscribed (MQTT 5.0, 3.4.2.1)', async (t) => {
  const h = await startBroker(t)
  const pub = await connectV5(t, h.port, { clientId: 'pub' })
  // 0x10 No Matching Subscribers is optional; some client libraries report any code but 0x00 as a
  // failure. MQTT.js's packet event shows the code it got.
  const lonely = pub.nextPacket('puback')
  await publish(pub, 'nobody/home', 'hello?', { qos: 1 })
  assert.deepEqual(pick(await lonely, 'cmd', 'reasonCode'), { cmd: 'puback', reasonCode: 0 })
  const sub = await connectV5(t, h.port, { clientId: 'sub' })
  await sub.client.subscribeAsync('somebody/home', { qos: 1 })
  const heard = pub.nextPacket('puback')
  await publish(pub, 'somebody/home', 'hello', { qos: 1 })
  assert.deepEqual(pick(await heard, 'cmd', 'reasonCode'), { cmd: 'puback', reasonCode: 0 })
  // QoS 2: the PUBREC says the same, and MQTT.js completes the flow.
  const received = pub.nextPacket('pubrec')
  await publish(pub, 'nobody/home', 'anyone?', { qos: 2 })
  assert.deepEqual(pick(await received, 'cmd', 'reasonCode'), { cmd: 'pubrec', reasonCode: 0 })
})

test('SUBACK 0x8F for an invalid filter, the others granted [MQTT-3.9.3-2]', async (t) => {
  const h = await startBroker(t, { maxTopicLevels: 3 })
  const c = await connectV5(t, h.port, { clientId: 'c' })
  // Filters MQTT.js lets through and the broker cannot accept: a shared subscription with an
  // empty share name (MQTT 5.0, 4.8.2) and a filter deeper than maxTopicLevels.
  const suback = c.nextPacket('suback')
  await assert.rejects(c.client.subscribeAsync({ 'good/+': { qos: 1 }, '$share//x': { qos: 1 }, 'a/b/c/d': { qos: 0 }, 'fine/#': { qos: 2 } }), /Subscribe error/)
  assert.deepEqual(pick(await suback, 'cmd', 'granted'), { cmd: 'suback', granted: [1, 0x8f, 0x8f, 2] })
})

test('UNSUBACK 0x11 for a filter the client was not subscribed to (MQTT 5.0, 3.11.3)', async (t) => {
  const h = await startBroker(t)
  const c = await connectV5(t, h.port, { clientId: 'c' })
  await c.client.subscribeAsync('here', { qos: 1 })
  const unsuback = c.nextPacket('unsuback')
  await c.client.unsubscribeAsync(['here', 'not/here'])
  assert.deepEqual(pick(await unsuback, 'cmd', 'granted'), { cmd: 'unsuback', granted: [0x00, 0x11] })
})

test('a 3.1.1 publisher and a 5.0 subscriber interoperate', async (t) => {
  const h = await startBroker(t)
  const sub = await connectV5(t, h.port, { clientId: 'v5-sub' })
  await sub.client.subscribeAsync('mixed/#', { qos: 2, properties: { subscriptionIdentifier: 3 } })
  const pub = await connectV5(t, h.port, { clientId: 'v4-pub', protocolVersion: 4 })
  await publish(pub, 'mixed/a', 'from 3.1.1', { qos: 2, retain: true })
  const message = await sub.next()
  assert.deepEqual([message.topic, message.payload, message.packet.qos, message.packet.retain], ['mixed/a', 'from 3.1.1', 2, false])
  assert.deepEqual(message.packet.properties, { subscriptionIdentifier: 3 })
})

test('a 5.0 publisher reaches a 3.1.1 subscriber without properties', async (t) => {
  const h = await startBroker(t)
  const sub = await connectV5(t, h.port, { clientId: 'v4-sub', protocolVersion: 4 })
  await sub.client.subscribeAsync('mixed/#', { qos: 1 })
  const pub = await connectV5(t, h.port, { clientId: 'v5-pub' })
  await publish(pub, 'mixed/b', 'from 5.0', { qos: 1, properties: { ...PROPERTIES, messageExpiryInterval: 100 } })
  const message = await sub.next()
  assert.deepEqual([message.topic, message.payload, message.packet.qos], ['mixed/b', 'from 5.0', 1])
  assert.equal(message.packet.properties, undefined)
  // The 3.1.1 encoding has no property block: MQTT.js read the payload whole.
  assert.equal(message.packet.payload.toString(), 'from 5.0')
})

function pick (packet: object, ...keys: string[]): Record<string, unknown> {
  const source = packet as Record<string, unknown>
  return Object.fromEntries(keys.map((key) => [key, source[key]]))
}

test('a session queued for MQTT 5 is resumed by the same client id speaking 3.1.1, without properties', async (t) => {
  const h = await startBroker(t)
  const v5 = await connectV5(t, h.port, { clientId: 'switcher', clean: false, properties: { sessionExpiryInterval: 300 } })
  await v5.client.subscribeAsync('switch/#', { qos: 1, properties: { subscriptionIdentifier: 6 } })
  await v5.client.endAsync()
  const pub = await connectV5(t, h.port, { clientId: 'pub' })
  await publish(pub, 'switch/a', 'queued', { qos: 1, properties: { ...PROPERTIES, messageExpiryInterval: 300 } })
  const v4 = await connectV5(t, h.port, { clientId: 'switcher', clean: false, protocolVersion: 4 })
  assert.equal(v4.connack.sessionPresent, true)
  const message = await v4.next()
  assert.deepEqual([message.topic, message.payload, message.packet.qos, message.packet.properties], ['switch/a', 'queued', 1, undefined])
})

// MQTT 5 PUBLISH (3.3): topic aliases both ways, properties forwarded unchanged and in order,
// payload format, reason codes on acknowledgements, flow control and packet size limits.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type mqttPacket from 'mqtt-packet'
import { startBroker } from '../helpers/broker'
import { connect5, nextOf, rawPacket, utf8 } from './v5'

describe('MQTT 5 topic aliases', () => {
  test('an alias set with a topic can be used with an empty topic (3.3.2.3.4)', async (t) => {
    const h = await startBroker(t)
    const got: string[] = []
    h.broker.subscribe('alias/#', 0, (m) => got.push(`${m.topic}=${m.payload.toString()}`))
    const { client } = await connect5(h, { clientId: 'a' })
    client.send({ cmd: 'publish', topic: 'alias/long/topic', payload: Buffer.from('1'), qos: 1, messageId: 1, retain: false, dup: false, properties: { topicAlias: 3 } })
    await nextOf(client, 'puback')
    client.send({ cmd: 'publish', topic: '', payload: Buffer.from('2'), qos: 1, messageId: 2, retain: false, dup: false, properties: { topicAlias: 3 } })
    await nextOf(client, 'puback')
    assert.deepEqual(got, ['alias/long/topic=1', 'alias/long/topic=2'])
  })

  for (const [alias, why] of [[0, 'zero'], [11, 'over the maximum of 10']] as const) {
    test(`topic alias ${why}: DISCONNECT 0x94 [MQTT-3.3.2-8]`, async (t) => {
      const h = await startBroker(t, { maxTopicAlias: 10 })
      const { client } = await connect5(h, { clientId: 'a' })
      // mqtt-packet refuses to write alias 0: literal bytes, topic 't', property 0x23.
      client.send(rawPacket(0x30, [...utf8('t'), 3, 0x23, alias >> 8, alias & 0xff, 0x78]))
      assert.equal((await nextOf<mqttPacket.IDisconnectPacket>(client, 'disconnect')).reasonCode, 0x94)
      await client.expectClosed()
    })
  }

  test('an alias never set, with an empty topic, is a Protocol Error: DISCONNECT 0x82', async (t) => {
    const h = await startBroker(t)
    const { client } = await connect5(h, { clientId: 'a' })
    client.send(rawPacket(0x30, [0, 0, 3, 0x23, 0, 5, 0x78]))
    assert.equal((await nextOf<mqttPacket.IDisconnectPacket>(client, 'disconnect')).reasonCode, 0x82)
  })

  test('aliases are sent to a client that allows them: the topic once, then the alias alone', async (t) => {
    const h = await startBroker(t)
    const { client } = await connect5(h, { clientId: 'r', properties: { topicAliasMaximum: 2 } })
    client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'x/#', qos: 0 }] })
    await nextOf(client, 'suback')
    for (const topic of ['x/one', 'x/one', 'x/two', 'x/three', 'x/two']) h.broker.publish({ topic, payload: topic })
    const seen: Array<[string, number | undefined, string]> = []
    for (let i = 0; i < 5; i++) {
      const p = await nextOf<mqttPacket.IPublishPacket>(client, 'publish')
      seen.push([p.topic, p.properties?.topicAlias, p.payload.toString()])
    }
    // Two aliases allowed: x/three goes in full, without an alias.
    assert.deepEqual(seen, [['x/one', 1, 'x/one'], ['', 1, 'x/one'], ['x/two', 2, 'x/two'], ['x/three', undefined, 'x/three'], ['', 2, 'x/two']])
  })
})

describe('MQTT 5 properties forwarding', () => {
  test('properties reach an MQTT 5 subscriber unchanged, user properties in order [MQTT-3.3.2-17]', async (t) => {
    const h = await startBroker(t)
    const { client: sub } = await connect5(h, { clientId: 'sub' })
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'p', qos: 1 }] })
    await nextOf(sub, 'suback')
    const { client: pub } = await connect5(h, { clientId: 'pub' })
    // Interleaved names (a, b, a): an object would regroup them, so compare the raw bytes.
    const properties = [
      0x01, 1, // payload format indicator: UTF-8
      0x03, ...utf8('text/plain'), // content type
      0x08, ...utf8('reply/here'), // response topic
      0x09, 0, 3, 1, 2, 3, // correlation data
      0x26, ...utf8('a'), ...utf8('1'), 0x26, ...utf8('b'), ...utf8('2'), 0x26, ...utf8('a'), ...utf8('3')
    ]
    pub.send(rawPacket(0x32, [...utf8('p'), 0, 7, properties.length, ...properties, ...Buffer.from('héllo')]))
    await nextOf(pub, 'puback')
    const { bytes } = await sub.nextReceived()
    const expected = rawPacket(0x32, [...utf8('p'), 0, 1, properties.length, ...properties, ...Buffer.from('héllo')])
    assert.deepEqual(bytes, expected)
  })

  test('an MQTT 3.1.1 subscriber gets the message without properties', async (t) => {
    const h = await startBroker(t)
    const old = await h.client({ clientId: 'old' })
    await old.subscribe('p', 0)
    const { client: pub } = await connect5(h, { clientId: 'pub' })
    pub.send({ cmd: 'publish', topic: 'p', payload: Buffer.from('x'), qos: 0, retain: false, dup: false, properties: { contentType: 'a/b', userProperties: { k: 'v' } } })
    const { bytes } = await old.nextReceived()
    assert.deepEqual(bytes, Buffer.from([0x30, 4, 0, 1, 0x70, 0x78]))
  })

  test('a 3.1.1 publisher reaches a 5.0 subscriber with an empty property block', async (t) => {
    const h = await startBroker(t)
    const { client: sub } = await connect5(h, { clientId: 'sub' })
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'p', qos: 0 }] })
    await nextOf(sub, 'suback')
    const old = await h.client({ clientId: 'old' })
    old.send({ cmd: 'publish', topic: 'p', payload: Buffer.from('x'), qos: 0, retain: false, dup: false })
    const { bytes } = await sub.nextReceived()
    assert.deepEqual(bytes, Buffer.from([0x30, 5, 0, 1, 0x70, 0, 0x78]))
  })
})

describe('MQTT 5 acknowledgements and payload format', () => {
  test('PUBACK and PUBREC say Success whether or not anybody is subscribed, in the short form [MQTT-3.4.2-1]', async (t) => {
    const h = await startBroker(t)
    const { client } = await connect5(h, { clientId: 'p' })
    // 0x10 No Matching Subscribers is optional (3.4.2.1); some client libraries count it a failure.
    client.send({ cmd: 'publish', topic: 'nobody', payload: Buffer.from('x'), qos: 1, messageId: 1, retain: false, dup: false })
    assert.deepEqual((await client.nextReceived()).bytes, Buffer.from([0x40, 0x02, 0x00, 0x01]))
    client.send({ cmd: 'publish', topic: 'nobody', payload: Buffer.from('x'), qos: 2, messageId: 2, retain: false, dup: false })
    assert.deepEqual((await client.nextReceived()).bytes, Buffer.from([0x50, 0x02, 0x00, 0x02]))
    h.broker.subscribe('somebody', 0, () => {})
    client.send({ cmd: 'publish', topic: 'somebody', payload: Buffer.from('x'), qos: 1, messageId: 3, retain: false, dup: false })
    assert.deepEqual((await client.nextReceived()).bytes, Buffer.from([0x40, 0x02, 0x00, 0x03]))
  })

  test('Payload Format Indicator 1 with invalid UTF-8: PUBACK 0x99, not delivered; QoS 0: DISCONNECT 0x99', async (t) => {
    const h = await startBroker(t)
    const got: string[] = []
    h.broker.subscribe('f', 0, (m) => got.push(m.topic))
    const { client } = await connect5(h, { clientId: 'p' })
    client.send(rawPacket(0x32, [...utf8('f'), 0, 1, 2, 0x01, 1, 0xff, 0xfe]))
    assert.equal((await nextOf<mqttPacket.IPubackPacket>(client, 'puback')).reasonCode, 0x99)
    assert.deepEqual(got, [])
    client.send(rawPacket(0x30, [...utf8('f'), 2, 0x01, 1, 0xc3, 0x28]))
    assert.equal((await nextOf<mqttPacket.IDisconnectPacket>(client, 'disconnect')).reasonCode, 0x99)
  })

  test('a topic deeper than max_topic_levels: PUBACK and PUBREC 0x90, not delivered; QoS 0: DISCONNECT 0x90', async (t) => {
    const h = await startBroker(t, { maxTopicLevels: 3 })
    const got: string[] = []
    h.broker.subscribe('a/#', 0, (m) => got.push(m.topic))
    const { client } = await connect5(h, { clientId: 'p' })
    client.send(rawPacket(0x32, [...utf8('a/b/c/d'), 0, 1, 0, 0x78]))
    assert.deepEqual((await client.nextReceived()).bytes, Buffer.from([0x40, 0x03, 0x00, 0x01, 0x90]))
    client.send(rawPacket(0x34, [...utf8('a/b/c/d'), 0, 2, 0, 0x78]))
    assert.deepEqual((await client.nextReceived()).bytes, Buffer.from([0x50, 0x03, 0x00, 0x02, 0x90]))
    client.send(rawPacket(0x32, [...utf8('a/b/c'), 0, 3, 0, 0x78]))
    assert.deepEqual((await client.nextReceived()).bytes, Buffer.from([0x40, 0x02, 0x00, 0x03]))
    assert.deepEqual(got, ['a/b/c'])
    // QoS 0 has no acknowledgement to carry the code: the connection ends with it.
    client.send(rawPacket(0x30, [...utf8('a/b/c/d'), 0, 0x78]))
    assert.equal((await nextOf<mqttPacket.IDisconnectPacket>(client, 'disconnect')).reasonCode, 0x90)
    await client.expectClosed()
    assert.deepEqual(got, ['a/b/c'])
  })

  test('PUBLISH with a Subscription Identifier from a client is a Protocol Error [MQTT-3.3.4-6]', async (t) => {
    const h = await startBroker(t)
    const { client } = await connect5(h, { clientId: 'p' })
    client.send(rawPacket(0x30, [...utf8('t'), 2, 0x0b, 5, 0x78]))
    assert.equal((await nextOf<mqttPacket.IDisconnectPacket>(client, 'disconnect')).reasonCode, 0x82)
  })

  test('a property not allowed in PUBLISH (Session Expiry) is malformed: DISCONNECT 0x81', async (t) => {
    const h = await startBroker(t)
    const { client } = await connect5(h, { clientId: 'p' })
    client.send(rawPacket(0x30, [...utf8('t'), 5, 0x11, 0, 0, 0, 1, 0x78]))
    assert.equal((await nextOf<mqttPacket.IDisconnectPacket>(client, 'disconnect')).reasonCode, 0x81)
  })

  test('a duplicated Content Type is a Protocol Error: DISCONNECT 0x82', async (t) => {
    const h = await startBroker(t)
    const { client } = await connect5(h, { clientId: 'p' })
    const properties = [0x03, ...utf8('a'), 0x03, ...utf8('b')]
    client.send(rawPacket(0x30, [...utf8('t'), properties.length, ...properties, 0x78]))
    assert.equal((await nextOf<mqttPacket.IDisconnectPacket>(client, 'disconnect')).reasonCode, 0x82)
  })

  test('PUBREL and PUBREC for unknown packet ids get 0x92', async (t) => {
    const h = await startBroker(t)
    const { client } = await connect5(h, { clientId: 'p' })
    client.send({ cmd: 'pubrel', messageId: 42 })
    const pubcomp = await nextOf<mqttPacket.IPubcompPacket>(client, 'pubcomp')
    assert.deepEqual([pubcomp.messageId, pubcomp.reasonCode], [42, 0x92])
    client.send({ cmd: 'pubrec', messageId: 43 })
    const pubrel = await nextOf<mqttPacket.IPubrelPacket>(client, 'pubrel')
    assert.deepEqual([pubrel.messageId, pubrel.reasonCode], [43, 0x92])
  })
})

describe('MQTT 5 flow control and packet size', () => {
  test("no more messages in flight than the client's Receive Maximum [MQTT-3.3.4-7]", async (t) => {
    const h = await startBroker(t)
    const { client } = await connect5(h, { clientId: 'slow', properties: { receiveMaximum: 2 } })
    client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'f', qos: 1 }] })
    await nextOf(client, 'suback')
    for (let i = 0; i < 5; i++) h.broker.publish({ topic: 'f', payload: String(i), qos: 1 })
    const first = await nextOf<mqttPacket.IPublishPacket>(client, 'publish')
    const second = await nextOf<mqttPacket.IPublishPacket>(client, 'publish')
    await client.expectNothingPending()
    client.send({ cmd: 'puback', messageId: first.messageId })
    const third = await nextOf<mqttPacket.IPublishPacket>(client, 'publish')
    await client.expectNothingPending()
    assert.deepEqual([first, second, third].map((p) => p.payload.toString()), ['0', '1', '2'])
  })

  test('more unacknowledged QoS 2 messages than our Receive Maximum: DISCONNECT 0x93 [MQTT-3.3.4-9]', async (t) => {
    const h = await startBroker(t, { maxInflightMessages: 2 })
    const { client, connack } = await connect5(h, { clientId: 'flood' })
    assert.equal(connack.properties?.receiveMaximum, 2)
    for (let id = 1; id <= 3; id++) client.send({ cmd: 'publish', topic: 't', payload: Buffer.from('x'), qos: 2, messageId: id, retain: false, dup: false })
    await nextOf(client, 'pubrec')
    await nextOf(client, 'pubrec')
    assert.equal((await nextOf<mqttPacket.IDisconnectPacket>(client, 'disconnect')).reasonCode, 0x93)
  })

  test("a message over the client's Maximum Packet Size is dropped for that client only [MQTT-3.1.2-25]", async (t) => {
    const h = await startBroker(t)
    const { client: small } = await connect5(h, { clientId: 'small', properties: { maximumPacketSize: 64 } })
    small.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'big', qos: 1 }] })
    await nextOf(small, 'suback')
    const { client: large } = await connect5(h, { clientId: 'large' })
    large.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'big', qos: 1 }] })
    await nextOf(large, 'suback')
    h.broker.publish({ topic: 'big', payload: Buffer.alloc(100, 0x61), qos: 1 })
    h.broker.publish({ topic: 'big', payload: 'fits', qos: 1 })
    assert.equal((await nextOf<mqttPacket.IPublishPacket>(small, 'publish')).payload.toString(), 'fits')
    assert.equal((await nextOf<mqttPacket.IPublishPacket>(large, 'publish')).payload.length, 100)
    assert.equal(h.broker.stats.publishDropped, 1)
  })

  test('a packet over our max_packet_size: DISCONNECT 0x95', async (t) => {
    const h = await startBroker(t, { maxPacketSize: 128 })
    const { client } = await connect5(h, { clientId: 'big' })
    client.send({ cmd: 'publish', topic: 't', payload: Buffer.alloc(200), qos: 0, retain: false, dup: false })
    assert.equal((await nextOf<mqttPacket.IDisconnectPacket>(client, 'disconnect')).reasonCode, 0x95)
  })
})

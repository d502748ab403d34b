// QoS 0, 1 and 2 in both directions (MQTT 3.1.1, 4.3), the inflight window and the queue behind
// it, delivery at the lesser QoS, exactly-once for inbound QoS 2, overlapping subscriptions.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Session } from '../../lib/session/session'
import { startBroker } from '../helpers/broker'
import { encode, publishPacket } from '../helpers/raw-client'

test('QoS 0 both ways: no acknowledgement, delivered with no packet id', async (t) => {
  const h = await startBroker(t)
  const sub = await h.client({ clientId: 'sub' })
  await sub.subscribe('q/0', 0)
  const pub = await h.client({ clientId: 'pub' })
  pub.send(publishPacket('q/0', 'zero', 0))
  await pub.expectNothingPending()
  const { bytes } = await sub.expectPacket(publishPacket('q/0', 'zero', 0))
  assert.deepEqual(bytes, Buffer.concat([Buffer.from([0x30, 2 + 3 + 4, 0, 3]), Buffer.from('q/0zero')]))
})

test('QoS 1 both ways: PUBACK to the publisher [MQTT-4.3.2-2], PUBACK from the subscriber ends the flow', async (t) => {
  const h = await startBroker(t)
  const sub = await h.client({ clientId: 'sub' })
  await sub.subscribe('q/1', 1)
  const pub = await h.client({ clientId: 'pub' })
  pub.send(publishPacket('q/1', 'one', 1, { messageId: 42 }))
  const { bytes } = await pub.expectPacket({ cmd: 'puback', messageId: 42 })
  assert.deepEqual(bytes, Buffer.from([0x40, 0x02, 0x00, 42]))
  await sub.expectPacket(publishPacket('q/1', 'one', 1, { messageId: 1 }))
  sub.send({ cmd: 'puback', messageId: 1 })
  // The next message gets the next packet id, and nothing is re-sent.
  pub.send(publishPacket('q/1', 'two', 1, { messageId: 43 }))
  await pub.expectPacket({ cmd: 'puback', messageId: 43 })
  await sub.expectPacket(publishPacket('q/1', 'two', 1, { messageId: 2 }))
  sub.send({ cmd: 'puback', messageId: 2 })
  await sub.expectNothingPending()
})

test('QoS 2 inbound: PUBREC, then PUBCOMP for PUBREL [MQTT-4.3.3-2]', async (t) => {
  const h = await startBroker(t)
  const sub = await h.client({ clientId: 'sub' })
  await sub.subscribe('q/2', 0)
  const pub = await h.client({ clientId: 'pub' })
  pub.send(publishPacket('q/2', 'two', 2, { messageId: 9 }))
  const rec = await pub.expectPacket({ cmd: 'pubrec', messageId: 9 })
  assert.deepEqual(rec.bytes, Buffer.from([0x50, 0x02, 0x00, 0x09]))
  // Delivered on receipt (the spec's Method B), before PUBREL.
  await sub.expectPacket(publishPacket('q/2', 'two', 0))
  pub.send({ cmd: 'pubrel', messageId: 9 })
  const comp = await pub.expectPacket({ cmd: 'pubcomp', messageId: 9 })
  assert.deepEqual(comp.bytes, Buffer.from([0x70, 0x02, 0x00, 0x09]))
  await sub.expectNothingPending()
})

test('QoS 2 outbound: PUBLISH, PUBREC, PUBREL (flags 0010) [MQTT-3.6.1-1], PUBCOMP', async (t) => {
  const h = await startBroker(t)
  const sub = await h.client({ clientId: 'sub' })
  await sub.subscribe('q/2', 2)
  const pub = await h.client({ clientId: 'pub' })
  pub.send(publishPacket('q/2', 'exactly once', 2, { messageId: 1 }))
  await pub.expectPacket({ cmd: 'pubrec', messageId: 1 })
  await sub.expectPacket(publishPacket('q/2', 'exactly once', 2, { messageId: 1 }))
  sub.send({ cmd: 'pubrec', messageId: 1 })
  const rel = await sub.expectPacket({ cmd: 'pubrel', messageId: 1 })
  assert.deepEqual(rel.bytes, Buffer.from([0x62, 0x02, 0x00, 0x01]))
  sub.send({ cmd: 'pubcomp', messageId: 1 })
  await sub.expectNothingPending()
  pub.send({ cmd: 'pubrel', messageId: 1 })
  await pub.expectPacket({ cmd: 'pubcomp', messageId: 1 })
})

test('exactly once: a re-sent QoS 2 PUBLISH with DUP whose id is pending is acknowledged, not delivered again [MQTT-4.3.3-2]', async (t) => {
  const h = await startBroker(t)
  const sub = await h.client({ clientId: 'sub' })
  await sub.subscribe('once', 0)
  const pub = await h.client({ clientId: 'pub' })
  pub.send(publishPacket('once', 'first', 2, { messageId: 7 }))
  await pub.expectPacket({ cmd: 'pubrec', messageId: 7 })
  pub.send(publishPacket('once', 'first', 2, { messageId: 7, dup: true }))
  await pub.expectPacket({ cmd: 'pubrec', messageId: 7 })
  await sub.expectPacket(publishPacket('once', 'first', 0))
  await pub.expectNothingPending()
  await sub.expectNothingPending()
  // Once released, the id is free: the same id now carries a new message, delivered again.
  pub.send({ cmd: 'pubrel', messageId: 7 })
  await pub.expectPacket({ cmd: 'pubcomp', messageId: 7 })
  pub.send(publishPacket('once', 'second', 2, { messageId: 7 }))
  await pub.expectPacket({ cmd: 'pubrec', messageId: 7 })
  await sub.expectPacket(publishPacket('once', 'second', 0))
})

test('delivery is at the lesser of the published and the granted QoS [MQTT-3.8.4-6]', async (t) => {
  const h = await startBroker(t)
  const subs = []
  for (const granted of [0, 1, 2] as const) {
    const sub = await h.client({ clientId: `sub${granted}` })
    await sub.subscribe('lesser', granted)
    subs.push(sub)
  }
  const pub = await h.client({ clientId: 'pub' })
  const nextId = [1, 1, 1]
  for (const published of [0, 1, 2] as const) {
    pub.send(publishPacket('lesser', `q${published}`, published, { messageId: 100 + published }))
    if (published === 1) await pub.expectPacket({ cmd: 'puback', messageId: 101 })
    if (published === 2) await pub.expectPacket({ cmd: 'pubrec', messageId: 102 })
    for (const [granted, sub] of subs.entries()) {
      const qos = Math.min(granted, published) as 0 | 1 | 2
      const messageId = qos > 0 ? nextId[granted]!++ : undefined
      await sub.expectPacket(publishPacket('lesser', `q${published}`, qos, { messageId }))
      if (qos === 1) sub.send({ cmd: 'puback', messageId: messageId! })
      if (qos === 2) {
        sub.send({ cmd: 'pubrec', messageId: messageId! })
        await sub.expectPacket({ cmd: 'pubrel', messageId: messageId! })
        sub.send({ cmd: 'pubcomp', messageId: messageId! })
      }
    }
  }
  for (const sub of subs) await sub.expectNothingPending()
})

test('overlapping subscriptions deliver once, at the highest granted QoS [MQTT-3.3.5-1]', async (t) => {
  const h = await startBroker(t)
  const sub = await h.client({ clientId: 'sub' })
  sub.send({
    cmd: 'subscribe',
    messageId: 1,
    subscriptions: [{ topic: 'home/+/temp', qos: 0 }, { topic: 'home/#', qos: 2 }, { topic: 'home/kitchen/temp', qos: 1 }]
  })
  await sub.expectPacket({ cmd: 'suback', messageId: 1, granted: [0, 2, 1] })
  const pub = await h.client({ clientId: 'pub' })
  pub.send(publishPacket('home/kitchen/temp', '21', 2, { messageId: 1 }))
  await pub.expectPacket({ cmd: 'pubrec', messageId: 1 })
  await sub.expectPacket(publishPacket('home/kitchen/temp', '21', 2, { messageId: 1 }))
  await sub.expectNothingPending()
  pub.send(publishPacket('home/kitchen/temp', '22', 1, { messageId: 2 }))
  await pub.expectPacket({ cmd: 'puback', messageId: 2 })
  await sub.expectPacket(publishPacket('home/kitchen/temp', '22', 1, { messageId: 2 }))
  await sub.expectNothingPending()
})

test('the inflight window holds max_inflight_messages; the rest wait in order for acknowledgements', async (t) => {
  const h = await startBroker(t, { maxInflightMessages: 2 })
  const sub = await h.client({ clientId: 'sub' })
  await sub.subscribe('w', 1)
  const pub = await h.client({ clientId: 'pub' })
  for (let i = 1; i <= 5; i++) pub.send(publishPacket('w', `m${i}`, 1, { messageId: i }))
  for (let i = 1; i <= 5; i++) await pub.expectPacket({ cmd: 'puback', messageId: i })
  await sub.expectPacket(publishPacket('w', 'm1', 1, { messageId: 1 }))
  await sub.expectPacket(publishPacket('w', 'm2', 1, { messageId: 2 }))
  await sub.expectNothingPending()
  // Each acknowledgement lets exactly one queued message out.
  sub.send({ cmd: 'puback', messageId: 2 })
  await sub.expectPacket(publishPacket('w', 'm3', 1, { messageId: 3 }))
  await sub.expectNothingPending()
  sub.send({ cmd: 'puback', messageId: 1 })
  await sub.expectPacket(publishPacket('w', 'm4', 1, { messageId: 4 }))
  sub.send({ cmd: 'puback', messageId: 3 })
  await sub.expectPacket(publishPacket('w', 'm5', 1, { messageId: 5 }))
  sub.send({ cmd: 'puback', messageId: 4 })
  sub.send({ cmd: 'puback', messageId: 5 })
  await sub.expectNothingPending()
})

test('a QoS 2 message holds its window slot until PUBCOMP', async (t) => {
  const h = await startBroker(t, { maxInflightMessages: 1 })
  const sub = await h.client({ clientId: 'sub' })
  await sub.subscribe('w2', 2)
  const pub = await h.client({ clientId: 'pub' })
  pub.send(publishPacket('w2', 'a', 2, { messageId: 1 }))
  pub.send(publishPacket('w2', 'b', 2, { messageId: 2 }))
  await pub.expectPacket({ cmd: 'pubrec', messageId: 1 })
  await pub.expectPacket({ cmd: 'pubrec', messageId: 2 })
  await sub.expectPacket(publishPacket('w2', 'a', 2, { messageId: 1 }))
  sub.send({ cmd: 'pubrec', messageId: 1 })
  await sub.expectPacket({ cmd: 'pubrel', messageId: 1 })
  await sub.expectNothingPending()
  sub.send({ cmd: 'pubcomp', messageId: 1 })
  await sub.expectPacket(publishPacket('w2', 'b', 2, { messageId: 2 }))
})

test('max_queued_messages: messages past the queue are dropped and the drop is logged', async (t) => {
  const h = await startBroker(t, { maxInflightMessages: 1, maxQueuedMessages: 2 })
  const sub = await h.client({ clientId: 'sub' })
  await sub.subscribe('full', 1)
  const pub = await h.client({ clientId: 'pub' })
  for (let i = 1; i <= 5; i++) pub.send(publishPacket('full', `m${i}`, 1, { messageId: i }))
  for (let i = 1; i <= 5; i++) await pub.expectPacket({ cmd: 'puback', messageId: i })
  // One in flight, two queued, two dropped.
  for (let i = 1; i <= 3; i++) {
    await sub.expectPacket(publishPacket('full', `m${i}`, 1, { messageId: i }))
    sub.send({ cmd: 'puback', messageId: i })
  }
  await sub.expectNothingPending()
  assert.equal(h.broker.stats.publishDropped, 2)
  assert.deepEqual(h.log.lines.filter((line) => line.includes('being dropped')), ['Outgoing messages are being dropped for client sub (queue full).'])
})

test('max_queued_bytes: a message that would take the queue past the limit is dropped', async (t) => {
  const h = await startBroker(t, { maxInflightMessages: 1, maxQueuedBytes: 10 })
  const sub = await h.client({ clientId: 'sub' })
  await sub.subscribe('bytes', 1)
  const pub = await h.client({ clientId: 'pub' })
  // 4-byte payloads: one in flight, two queued (8 bytes), the fourth (12 bytes) dropped, the fifth too.
  for (let i = 1; i <= 5; i++) pub.send(publishPacket('bytes', `mmm${i}`, 1, { messageId: i }))
  for (let i = 1; i <= 5; i++) await pub.expectPacket({ cmd: 'puback', messageId: i })
  for (let i = 1; i <= 3; i++) {
    await sub.expectPacket(publishPacket('bytes', `mmm${i}`, 1, { messageId: i }))
    sub.send({ cmd: 'puback', messageId: i })
  }
  await sub.expectNothingPending()
  assert.equal(h.broker.stats.publishDropped, 2)
})

test('QoS 0 messages are not held back by the window of an online client', async (t) => {
  const h = await startBroker(t, { maxInflightMessages: 1 })
  const sub = await h.client({ clientId: 'sub' })
  await sub.subscribe('mix', 1)
  const pub = await h.client({ clientId: 'pub' })
  pub.send(publishPacket('mix', 'held-1', 1, { messageId: 1 }))
  pub.send(publishPacket('mix', 'held-2', 1, { messageId: 2 }))
  pub.send(publishPacket('mix', 'fast', 0))
  await pub.expectPacket({ cmd: 'puback', messageId: 1 })
  await pub.expectPacket({ cmd: 'puback', messageId: 2 })
  await sub.expectPacket(publishPacket('mix', 'held-1', 1, { messageId: 1 }))
  await sub.expectPacket(publishPacket('mix', 'fast', 0))
  sub.send({ cmd: 'puback', messageId: 1 })
  await sub.expectPacket(publishPacket('mix', 'held-2', 1, { messageId: 2 }))
})

test('acknowledgements for unknown packet ids are ignored; PUBREC for one still gets PUBREL', async (t) => {
  const h = await startBroker(t)
  const client = await h.client({ clientId: 'confused' })
  client.send({ cmd: 'puback', messageId: 77 })
  client.send({ cmd: 'pubcomp', messageId: 78 })
  client.send({ cmd: 'pubrec', messageId: 79 })
  await client.expectPacket({ cmd: 'pubrel', messageId: 79 })
  client.send({ cmd: 'pubrel', messageId: 80 })
  await client.expectPacket({ cmd: 'pubcomp', messageId: 80 })
  await client.expectNothingPending()
})

test('a QoS 1 PUBLISH with packet id 0 closes the connection [MQTT-2.3.1-1]', async (t) => {
  const h = await startBroker(t)
  const client = await h.client({ clientId: 'zero' })
  client.send(Buffer.from([0x32, 0x05, 0x00, 0x01, 0x61, 0x00, 0x00]))
  await client.expectClosed()
})

test('a PUBLISH with both QoS bits set closes the connection [MQTT-3.3.1-4]', async (t) => {
  const h = await startBroker(t)
  const client = await h.client({ clientId: 'three' })
  client.send(Buffer.from([0x36, 0x05, 0x00, 0x01, 0x61, 0x00, 0x01]))
  await client.expectClosed()
})

test('subscribing again to the same filter replaces its QoS [MQTT-3.8.4-3]', async (t) => {
  const h = await startBroker(t)
  const sub = await h.client({ clientId: 'sub' })
  await sub.subscribe('re', 2)
  await sub.subscribe('re', 0, 2)
  assert.equal(h.broker.subscriptionCount, 1)
  const pub = await h.client({ clientId: 'pub' })
  pub.send(publishPacket('re', 'x', 2, { messageId: 1 }))
  await pub.expectPacket({ cmd: 'pubrec', messageId: 1 })
  await sub.expectPacket(publishPacket('re', 'x', 0))
  await sub.expectNothingPending()
})

test('a QoS 0 PUBLISH with DUP set closes the connection [MQTT-3.3.1-2]', async (t) => {
  const h = await startBroker(t)
  const client = await h.client({ clientId: 'dup0' })
  client.send(Buffer.from([0x38, 0x04, 0x00, 0x01, 0x61, 0x78]))
  await client.expectClosed()
})

test('a PUBREL whose fixed header flags are not 0010 closes the connection [MQTT-3.6.1-1]', async (t) => {
  const h = await startBroker(t)
  const client = await h.client({ clientId: 'pubrel' })
  client.send(publishPacket('t', 'x', 2, { messageId: 1 }))
  await client.expectPacket({ cmd: 'pubrec', messageId: 1 })
  client.send(Buffer.from([0x60, 0x02, 0x00, 0x01]))
  await client.expectClosed()
})

test('packet ids wrap from 65535 to 1 and skip ids still in flight [MQTT-2.3.1-2]', () => {
  const sent: number[] = []
  const channel = {
    writable: true,
    receiveMaximum: 65535,
    sendPublish: (_message: unknown, _qos: unknown, _retain: unknown, _dup: unknown, packetId: number) => { sent.push(packetId); return true },
    sendPubrel: () => {}
  }
  const limits = { maxInflightMessages: 0, maxInflightBytes: 0, maxQueuedMessages: 0, maxQueuedBytes: 0, queueQos0Messages: false, onDrop: () => {}, onExpired: () => {} }
  const session = new Session('wrap', 0, limits)
  session.attach(channel)
  const message = { topic: 't', payload: Buffer.from('x'), qos: 1 as const, retain: false }
  // Id 1 stays in flight; ids 2..65535 are sent and acknowledged one by one.
  session.deliver(message, 1, false)
  for (let id = 2; id <= 65535; id++) {
    session.deliver(message, 1, false)
    assert.equal(session.complete(id), true)
  }
  session.deliver(message, 1, false)
  session.deliver(message, 1, false)
  assert.deepEqual(sent.slice(0, 2), [1, 2])
  assert.deepEqual(sent.slice(-3), [65535, 2, 3])
  assert.equal(sent.includes(0), false)
})

test('a PUBLISH and a DISCONNECT read together: the PUBACK still reaches the client before the close', async (t) => {
  const h = await startBroker(t)
  const sub = await h.client({ clientId: 'sub' })
  await sub.subscribe('last', 1)
  const pub = await h.client({ clientId: 'pub' })
  pub.send(Buffer.concat([encode(publishPacket('last', 'words', 1, { messageId: 9 }), 4), encode({ cmd: 'disconnect' }, 4)]))
  await pub.expectPacket({ cmd: 'puback', messageId: 9 })
  await pub.expectClosed()
  await sub.expectPacket(publishPacket('last', 'words', 1, { messageId: 1 }))
})

test('with no inflight limit the 65,535 packet ids are the window: later messages queue and go out in order', () => {
  const sent: string[] = []
  const channel = {
    writable: true,
    receiveMaximum: 65535,
    sendPublish: (message: { payload: Buffer }, _qos: unknown, _retain: unknown, _dup: unknown, packetId: number) => { sent.push(`${packetId}:${message.payload.toString()}`); return true },
    sendPubrel: () => {}
  }
  const limits = { maxInflightMessages: 0, maxInflightBytes: 0, maxQueuedMessages: 0, maxQueuedBytes: 0, queueQos0Messages: false, onDrop: () => {}, onExpired: () => {} }
  const session = new Session('unlimited', 0, limits)
  session.attach(channel)
  for (let i = 1; i <= 65535 + 3; i++) session.deliver({ topic: 't', payload: Buffer.from(String(i)), qos: 1, retain: false }, 1, false)
  assert.equal(sent.length, 65535)
  assert.equal(session.queuedCount, 3)
  // Each acknowledgement frees one id for the next queued message, in order.
  assert.equal(session.complete(7), true)
  assert.deepEqual(sent.slice(65535), ['7:65536'])
  assert.equal(session.complete(1), true)
  assert.equal(session.complete(2), true)
  assert.deepEqual(sent.slice(65535), ['7:65536', '1:65537', '2:65538'])
  assert.equal(session.queuedCount, 0)
})

test('payloads whose remaining length takes 1 to 4 bytes arrive intact, byte for byte', async (t) => {
  const h = await startBroker(t)
  const sub = await h.client({ clientId: 'sub' })
  await sub.subscribe('size/#', 1)
  const pub = await h.client({ clientId: 'pub' })
  const sizes = [0, 100, 20_000, 3_000_000]
  for (const [i, size] of sizes.entries()) {
    const payload = Buffer.alloc(size, i + 1)
    pub.send(publishPacket(`size/${size}`, payload, 1, { messageId: i + 1 }))
    await pub.expectPacket({ cmd: 'puback', messageId: i + 1 })
    await sub.expectPacket(publishPacket(`size/${size}`, payload, 1, { messageId: i + 1 }))
    sub.send({ cmd: 'puback', messageId: i + 1 })
  }
  await sub.expectNothingPending()
})

test('an acknowledgement of the wrong kind does not end a delivery: PUBACK for QoS 2, PUBCOMP before PUBREL (MQTT 3.1.1, 4.3)', async (t) => {
  const h = await startBroker(t, { maxInflightMessages: 1 })
  const sub = await h.client({ clientId: 'sub' })
  await sub.subscribe('k', 2)
  h.broker.publish({ topic: 'k', payload: 'two', qos: 2 })
  h.broker.publish({ topic: 'k', payload: 'next', qos: 2 })
  await sub.expectPacket(publishPacket('k', 'two', 2, { messageId: 1 }))
  // Neither frees the one-message window: the next message stays queued.
  sub.send({ cmd: 'puback', messageId: 1 })
  sub.send({ cmd: 'pubcomp', messageId: 1 })
  await sub.expectNothingPending()
  sub.send({ cmd: 'pubrec', messageId: 1 })
  await sub.expectPacket({ cmd: 'pubrel', messageId: 1 })
  sub.send({ cmd: 'pubcomp', messageId: 1 })
  await sub.expectPacket(publishPacket('k', 'next', 2, { messageId: 2 }))
})

// Limits, each with its log line and the protocol's answer: message_size_limit, max_connections,
// client id length, topic levels.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { startBroker } from '../helpers/broker'
import { connectPacket, publishPacket } from '../helpers/raw-client'

test('message_size_limit: a larger payload is acknowledged, dropped and logged; one at the limit goes through', async (t) => {
  const h = await startBroker(t, { messageSizeLimit: 10 })
  const sub = await h.client({ clientId: 'sub' })
  await sub.subscribe('big', 1)
  const pub = await h.client({ clientId: 'pub' })
  pub.send(publishPacket('big', 'x'.repeat(11), 1, { messageId: 1 }))
  await pub.expectPacket({ cmd: 'puback', messageId: 1 })
  pub.send(publishPacket('big', 'y'.repeat(11), 2, { messageId: 2 }))
  await pub.expectPacket({ cmd: 'pubrec', messageId: 2 })
  pub.send({ cmd: 'pubrel', messageId: 2 })
  await pub.expectPacket({ cmd: 'pubcomp', messageId: 2 })
  pub.send(publishPacket('big', 'z'.repeat(10), 1, { messageId: 3 }))
  await pub.expectPacket({ cmd: 'puback', messageId: 3 })
  await sub.expectPacket(publishPacket('big', 'z'.repeat(10), 1, { messageId: 1 }))
  await sub.expectNothingPending()
  assert.deepEqual(h.log.lines.filter((line) => line.startsWith('Dropped too large PUBLISH')), [
    "Dropped too large PUBLISH from pub (d0, q1, r0, m1, 'big', ... (11 bytes)): message_size_limit is 10.",
    "Dropped too large PUBLISH from pub (d0, q2, r0, m2, 'big', ... (11 bytes)): message_size_limit is 10."
  ])
  assert.equal(h.broker.stats.publishDropped, 2)
})

test('message_size_limit: a too large retained message is not stored', async (t) => {
  const h = await startBroker(t, { messageSizeLimit: 4 })
  const pub = await h.client({ clientId: 'pub' })
  pub.send(publishPacket('keep', 'too long', 0, { retain: true }))
  await pub.expectNothingPending()
  assert.equal(h.broker.retainedCount, 0)
})

test('max_connections: a client past the limit gets CONNACK 3; a takeover at the limit is allowed', async (t) => {
  const h = await startBroker(t, { maxConnections: 2 })
  const a = await h.client({ clientId: 'a' })
  await h.client({ clientId: 'b' })
  const third = await h.open()
  third.send(connectPacket({ clientId: 'c' }))
  await third.expectPacket({ cmd: 'connack', returnCode: 3, sessionPresent: false })
  await third.expectClosed()
  assert.ok(h.log.lines.includes('Client c (127.0.0.1) refused: max_connections (2) reached.'))
  // The same id replaces a client rather than adding one.
  await h.client({ clientId: 'a' })
  await a.expectClosed()
  assert.equal(h.broker.clientCount, 2)
})

test('max_connections: a slot freed by a disconnect can be used again', async (t) => {
  const h = await startBroker(t, { maxConnections: 1 })
  const a = await h.client({ clientId: 'a' })
  await a.disconnect()
  // disconnect() resolves once the broker has closed the socket, after it freed the slot.
  const b = await h.client({ clientId: 'b' })
  await b.expectNothingPending()
})

test('client id length: one byte over max_client_id_length gets CONNACK 2', async (t) => {
  const h = await startBroker(t, { maxClientIdLength: 10 })
  await (await h.client({ clientId: '0123456789' })).expectNothingPending()
  const long = await h.open()
  long.send(connectPacket({ clientId: '0123456789a' }))
  await long.expectPacket({ cmd: 'connack', returnCode: 2, sessionPresent: false })
  await long.expectClosed()
  assert.ok(h.log.lines.some((line) => line.includes('client id longer than 10 bytes')))
})

test('topic levels: a filter with too many levels gets SUBACK 0x80; such a PUBLISH closes the connection unacknowledged', async (t) => {
  const h = await startBroker(t, { maxTopicLevels: 3 })
  const sub = await h.client({ clientId: 'sub' })
  sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a/b/c/#', qos: 1 }, { topic: '#', qos: 1 }] })
  await sub.expectPacket({ cmd: 'suback', messageId: 1, granted: [0x80, 1] })
  const pub = await h.client({ clientId: 'pub' })
  pub.send(publishPacket('a/b/c', 'ok', 1, { messageId: 1 }))
  await pub.expectPacket({ cmd: 'puback', messageId: 1 })
  await sub.expectPacket(publishPacket('a/b/c', 'ok', 1, { messageId: 1 }))
  sub.send({ cmd: 'puback', messageId: 1 })
  // MQTT 3.1.1 cannot refuse in PUBACK, and a PUBACK would tell the publisher the message arrived.
  pub.send(publishPacket('a/b/c/d', 'deep', 1, { messageId: 2 }))
  await pub.expectClosed()
  await sub.expectNothingPending()
  assert.ok(h.log.lines.includes("Client pub (127.0.0.1) protocol error: PUBLISH topic 'a/b/c/d...' has more than 3 levels; disconnecting."), h.log.lines.join('\n'))
})

/** A topic of `levels` levels under `root`. */
function deepTopic (root: string, levels: number): string {
  return [root, ...Array.from({ length: levels - 1 }, (_, i) => String(i % 10))].join('/')
}

test('topic levels by default: 201 levels, as deep as Mosquitto goes, are accepted at every QoS', async (t) => {
  const h = await startBroker(t)
  const sub = await h.client({ clientId: 'sub' })
  await sub.subscribe('deep/#', 2)
  const pub = await h.client({ clientId: 'pub' })
  const topic = deepTopic('deep', 201)
  pub.send(publishPacket(topic, 'q0', 0))
  await sub.expectPacket(publishPacket(topic, 'q0', 0))
  pub.send(publishPacket(topic, 'q1', 1, { messageId: 1 }))
  await pub.expectPacket({ cmd: 'puback', messageId: 1 })
  await sub.expectPacket(publishPacket(topic, 'q1', 1, { messageId: 1 }))
  pub.send(publishPacket(topic, 'q2', 2, { messageId: 2 }))
  await pub.expectPacket({ cmd: 'pubrec', messageId: 2 })
  await sub.expectPacket(publishPacket(topic, 'q2', 2, { messageId: 2 }))
})

for (const qos of [0, 1, 2] as const) {
  test(`topic levels by default: a QoS ${qos} PUBLISH of 202 levels closes an MQTT 3.1.1 connection with nothing sent back`, async (t) => {
    const h = await startBroker(t)
    const sub = await h.client({ clientId: 'sub' })
    await sub.subscribe('deep/#', 2)
    const pub = await h.client({ clientId: 'pub' })
    pub.send(publishPacket(deepTopic('deep', 202), 'too deep', qos, { messageId: 1 }))
    await pub.expectClosed()
    await sub.expectNothingPending()
  })
}

test('message_size_limit: a CONNECT whose will payload is over the limit is refused with CONNACK 5 and a log line', async (t) => {
  const h = await startBroker(t, { messageSizeLimit: 10 })
  const ok = await h.client({ clientId: 'ok', will: { topic: 'lwt', payload: 'x'.repeat(10) } })
  await ok.expectNothingPending()
  const big = await h.open()
  big.send(connectPacket({ clientId: 'big', will: { topic: 'lwt', payload: 'x'.repeat(11) } }))
  // MQTT 3.1.1 has no "too large" code; Mosquitto answers 5 (not authorised) here too.
  await big.expectPacket({ cmd: 'connack', returnCode: 5, sessionPresent: false })
  await big.expectClosed()
  assert.deepEqual(h.broker.clients().map((c) => c.clientId), ['ok'])
  assert.ok(h.log.lines.includes('Client big (127.0.0.1) refused: will payload of 11 bytes over message_size_limit 10.'))
})

test('max_connections counts CONNECTs still being authenticated', async (t) => {
  let release: ((accepted: boolean) => void) | undefined
  const h = await startBroker(t, { maxConnections: 1 }, {
    auth: { authenticate: () => new Promise<boolean>((resolve) => { release = resolve }) }
  })
  const slow = await h.open()
  slow.send(connectPacket({ clientId: 'slow' }))
  // Bounded wait until the broker holds the first CONNECT in its authentication hook.
  for (let i = 0; i < 300 && release === undefined; i++) await new Promise((resolve) => setTimeout(resolve, 10))
  assert.ok(release !== undefined, 'the authentication hook was called')
  const second = await h.open()
  second.send(connectPacket({ clientId: 'second' }))
  await second.expectPacket({ cmd: 'connack', returnCode: 3, sessionPresent: false })
  release(true)
  await slow.expectPacket({ cmd: 'connack', returnCode: 0, sessionPresent: false })
  assert.equal(h.broker.clientCount, 1)
})

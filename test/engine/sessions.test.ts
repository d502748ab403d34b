// Sessions (MQTT 3.1.1, 3.1.2.4, 4.1, 4.4): clean session discards state; a persistent session
// keeps subscriptions, queues QoS 1/2 while offline, and re-sends what was unacknowledged.
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { test } from 'node:test'
import { startBroker } from '../helpers/broker'
import type { Harness } from '../helpers/broker'
import { publishPacket, type RawClient } from '../helpers/raw-client'

/** Disconnects a client and waits until the broker has ended its connection. */
async function dropAndWait (h: Harness, client: RawClient): Promise<void> {
  const gone = once(h.broker, 'clientDisconnected')
  await client.disconnect()
  await gone
}

async function publisher (h: Harness): Promise<RawClient> {
  return await h.client({ clientId: 'pub' })
}

test('a first persistent connection has session present 0 [MQTT-3.2.2-3]; the next one 1 [MQTT-3.2.2-2]', async (t) => {
  const h = await startBroker(t)
  const first = await h.client({ clientId: 'dev', clean: false }, false)
  await dropAndWait(h, first)
  const again = await h.client({ clientId: 'dev', clean: false }, true)
  await again.expectNothingPending()
  assert.equal(h.broker.sessionCount, 1)
})

test('clean session discards the session when the connection ends [MQTT-3.1.2-6]', async (t) => {
  const h = await startBroker(t)
  const first = await h.client({ clientId: 'dev', clean: true })
  await first.subscribe('cmd/dev', 1)
  await dropAndWait(h, first)
  assert.equal(h.broker.sessionCount, 0)
  assert.equal(h.broker.subscriptionCount, 0)
  const again = await h.client({ clientId: 'dev', clean: false }, false)
  const pub = await publisher(h)
  pub.send(publishPacket('cmd/dev', 'x', 0))
  await pub.expectNothingPending()
  await again.expectNothingPending()
})

test('clean session 1 on a persistent session discards it: session present 0 [MQTT-3.1.2-6] [MQTT-3.2.2-1]', async (t) => {
  const h = await startBroker(t)
  const first = await h.client({ clientId: 'dev', clean: false })
  await first.subscribe('cmd/dev', 1)
  await dropAndWait(h, first)
  const pub = await publisher(h)
  pub.send(publishPacket('cmd/dev', 'queued', 1, { messageId: 1 }))
  await pub.expectPacket({ cmd: 'puback', messageId: 1 })
  const clean = await h.client({ clientId: 'dev', clean: true }, false)
  await clean.expectNothingPending()
  await dropAndWait(h, clean)
  await (await h.client({ clientId: 'dev', clean: false }, false)).expectNothingPending()
})

test('a persistent session keeps its subscriptions and queues QoS 1 and 2, not QoS 0, while offline [MQTT-3.1.2-5]', async (t) => {
  const h = await startBroker(t)
  const first = await h.client({ clientId: 'dev', clean: false })
  await first.subscribe('cmd/#', 2)
  await dropAndWait(h, first)
  const pub = await publisher(h)
  pub.send(publishPacket('cmd/a', 'q0', 0))
  pub.send(publishPacket('cmd/b', 'q1', 1, { messageId: 1 }))
  pub.send(publishPacket('cmd/c', 'q2', 2, { messageId: 2 }))
  await pub.expectPacket({ cmd: 'puback', messageId: 1 })
  await pub.expectPacket({ cmd: 'pubrec', messageId: 2 })
  const back = await h.client({ clientId: 'dev', clean: false }, true)
  // Never sent before, so no DUP; QoS 0 was not kept.
  await back.expectPacket(publishPacket('cmd/b', 'q1', 1, { messageId: 1 }))
  await back.expectPacket(publishPacket('cmd/c', 'q2', 2, { messageId: 2 }))
  back.send({ cmd: 'puback', messageId: 1 })
  back.send({ cmd: 'pubrec', messageId: 2 })
  await back.expectPacket({ cmd: 'pubrel', messageId: 2 })
  back.send({ cmd: 'pubcomp', messageId: 2 })
  await back.expectNothingPending()
  // The subscription is still there for new messages.
  pub.send(publishPacket('cmd/d', 'live', 0))
  await back.expectPacket(publishPacket('cmd/d', 'live', 0))
})

test('queue_qos0_messages: QoS 0 is queued for an offline persistent session too', async (t) => {
  const h = await startBroker(t, { queueQos0Messages: true })
  const first = await h.client({ clientId: 'dev', clean: false })
  await first.subscribe('cmd/#', 1)
  await dropAndWait(h, first)
  const pub = await publisher(h)
  pub.send(publishPacket('cmd/a', 'q0', 0))
  await pub.expectNothingPending()
  const back = await h.client({ clientId: 'dev', clean: false }, true)
  await back.expectPacket(publishPacket('cmd/a', 'q0', 0))
})

test('the offline queue is bounded by max_queued_messages', async (t) => {
  const h = await startBroker(t, { maxQueuedMessages: 2 })
  const first = await h.client({ clientId: 'dev', clean: false })
  await first.subscribe('cmd/#', 1)
  await dropAndWait(h, first)
  const pub = await publisher(h)
  for (let i = 1; i <= 4; i++) pub.send(publishPacket('cmd/x', `m${i}`, 1, { messageId: i }))
  for (let i = 1; i <= 4; i++) await pub.expectPacket({ cmd: 'puback', messageId: i })
  const back = await h.client({ clientId: 'dev', clean: false }, true)
  await back.expectPacket(publishPacket('cmd/x', 'm1', 1, { messageId: 1 }))
  await back.expectPacket(publishPacket('cmd/x', 'm2', 1, { messageId: 2 }))
  await back.expectNothingPending()
})

test('unacknowledged QoS 1 and 2 messages are re-sent with DUP and their packet ids on reconnect [MQTT-4.4.0-1]', async (t) => {
  const h = await startBroker(t)
  const first = await h.client({ clientId: 'dev', clean: false })
  await first.subscribe('cmd/#', 2)
  const pub = await publisher(h)
  pub.send(publishPacket('cmd/1', 'one', 1, { messageId: 1 }))
  pub.send(publishPacket('cmd/2', 'two', 2, { messageId: 2 }))
  await pub.expectPacket({ cmd: 'puback', messageId: 1 })
  await pub.expectPacket({ cmd: 'pubrec', messageId: 2 })
  await first.expectPacket(publishPacket('cmd/1', 'one', 1, { messageId: 1 }))
  await first.expectPacket(publishPacket('cmd/2', 'two', 2, { messageId: 2 }))
  await dropAndWait(h, first)
  const back = await h.client({ clientId: 'dev', clean: false }, true)
  await back.expectPacket(publishPacket('cmd/1', 'one', 1, { messageId: 1, dup: true }))
  await back.expectPacket(publishPacket('cmd/2', 'two', 2, { messageId: 2, dup: true }))
  back.send({ cmd: 'puback', messageId: 1 })
  back.send({ cmd: 'pubrec', messageId: 2 })
  await back.expectPacket({ cmd: 'pubrel', messageId: 2 })
  back.send({ cmd: 'pubcomp', messageId: 2 })
  await back.expectNothingPending()
  // Acknowledged now: a further reconnect re-sends nothing.
  await dropAndWait(h, back)
  const third = await h.client({ clientId: 'dev', clean: false }, true)
  await third.expectNothingPending()
})

test('a released QoS 2 message gets its PUBREL re-sent on reconnect, not the PUBLISH [MQTT-4.4.0-1]', async (t) => {
  const h = await startBroker(t)
  const first = await h.client({ clientId: 'dev', clean: false })
  await first.subscribe('cmd/#', 2)
  const pub = await publisher(h)
  pub.send(publishPacket('cmd/2', 'two', 2, { messageId: 1 }))
  await pub.expectPacket({ cmd: 'pubrec', messageId: 1 })
  await first.expectPacket(publishPacket('cmd/2', 'two', 2, { messageId: 1 }))
  first.send({ cmd: 'pubrec', messageId: 1 })
  await first.expectPacket({ cmd: 'pubrel', messageId: 1 })
  await dropAndWait(h, first)
  const back = await h.client({ clientId: 'dev', clean: false }, true)
  await back.expectPacket({ cmd: 'pubrel', messageId: 1 })
  back.send({ cmd: 'pubcomp', messageId: 1 })
  await back.expectNothingPending()
})

test('a persistent publisher\'s pending inbound QoS 2 id survives a reconnect: the re-send is not delivered twice', async (t) => {
  const h = await startBroker(t)
  const sub = await h.client({ clientId: 'sub' })
  await sub.subscribe('once', 0)
  const first = await h.client({ clientId: 'pub2', clean: false })
  first.send(publishPacket('once', 'x', 2, { messageId: 5 }))
  await first.expectPacket({ cmd: 'pubrec', messageId: 5 })
  await sub.expectPacket(publishPacket('once', 'x', 0))
  await dropAndWait(h, first)
  const back = await h.client({ clientId: 'pub2', clean: false }, true)
  back.send(publishPacket('once', 'x', 2, { messageId: 5, dup: true }))
  await back.expectPacket({ cmd: 'pubrec', messageId: 5 })
  back.send({ cmd: 'pubrel', messageId: 5 })
  await back.expectPacket({ cmd: 'pubcomp', messageId: 5 })
  await sub.expectNothingPending()
})

test('messages queued while offline drain through the inflight window', async (t) => {
  const h = await startBroker(t, { maxInflightMessages: 1 })
  const first = await h.client({ clientId: 'dev', clean: false })
  await first.subscribe('cmd/#', 1)
  await dropAndWait(h, first)
  const pub = await publisher(h)
  for (let i = 1; i <= 3; i++) pub.send(publishPacket('cmd/x', `m${i}`, 1, { messageId: i }))
  for (let i = 1; i <= 3; i++) await pub.expectPacket({ cmd: 'puback', messageId: i })
  const back = await h.client({ clientId: 'dev', clean: false }, true)
  for (let i = 1; i <= 3; i++) {
    await back.expectPacket(publishPacket('cmd/x', `m${i}`, 1, { messageId: i }))
    await back.expectNothingPending()
    back.send({ cmd: 'puback', messageId: i })
  }
})

test('MQTT 3.1 has no session present flag: always 0', async (t) => {
  const h = await startBroker(t)
  const first = await h.client({ clientId: 'old', clean: false, protocolVersion: 3 })
  await dropAndWait(h, first)
  const again = await h.client({ clientId: 'old', clean: false, protocolVersion: 3 }, false)
  await again.expectNothingPending()
})

test('persistent_client_expiration removes an offline persistent session with its queue, logged and counted', async (t) => {
  const h = await startBroker(t, { persistentClientExpirationSec: 1 })
  const first = await h.client({ clientId: 'gone', clean: false })
  await first.subscribe('q', 1)
  await dropAndWait(h, first)
  h.broker.publish({ topic: 'q', payload: 'queued', qos: 1 })
  // Bounded wait for the sweep (it runs once a second with a one-second expiration).
  for (let i = 0; i < 50 && h.broker.sessionCount > 0; i++) await new Promise((resolve) => setTimeout(resolve, 100))
  assert.equal(h.broker.sessionCount, 0)
  assert.equal(h.broker.subscriptionCount, 0)
  assert.equal(h.broker.stats.clientsExpired, 1)
  assert.ok(h.log.lines.includes('Expiring client gone due to timeout.'))
  const back = await h.client({ clientId: 'gone', clean: false }, false)
  await back.expectNothingPending()
})

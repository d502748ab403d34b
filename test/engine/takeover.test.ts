// Session takeover: a new connection with a client id already connected closes the older one
// [MQTT-3.1.4-2] and inherits (or discards) its session.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { DisconnectReason } from '../../lib'
import { startBroker } from '../helpers/broker'
import { connectPacket, publishPacket } from '../helpers/raw-client'

test('a second connection with the same client id closes the first [MQTT-3.1.4-2]', async (t) => {
  const h = await startBroker(t)
  const reasons: Array<[string, DisconnectReason]> = []
  h.broker.on('clientDisconnected', (event) => reasons.push([event.clientId, event.reason]))
  const first = await h.client({ clientId: 'same' })
  const second = await h.client({ clientId: 'same' })
  await first.expectClosed()
  await second.expectNothingPending()
  assert.deepEqual(reasons, [['same', 'takenOver']])
  assert.equal(h.broker.clientCount, 1)
  assert.equal(h.log.lines.includes('Client same already connected, closing old connection.'), true)
})

test('the taken-over connection\'s will is published', async (t) => {
  const h = await startBroker(t)
  const sub = await h.client({ clientId: 'watcher' })
  await sub.subscribe('lwt/#', 0)
  const first = await h.client({ clientId: 'dev', will: { topic: 'lwt/dev', payload: 'gone' } })
  const second = await h.client({ clientId: 'dev' })
  await first.expectClosed()
  await sub.expectPacket(publishPacket('lwt/dev', 'gone', 0))
  // The new connection's will is its own (none here): closing it publishes nothing.
  await second.destroy()
  await sub.expectNothingPending()
})

test('a persistent session moves to the new connection: subscriptions kept, session present 1', async (t) => {
  const h = await startBroker(t)
  const first = await h.client({ clientId: 'dev', clean: false })
  await first.subscribe('cmd/dev', 1)
  const second = await h.client({ clientId: 'dev', clean: false }, true)
  await first.expectClosed()
  const pub = await h.client({ clientId: 'pub' })
  pub.send(publishPacket('cmd/dev', 'on', 1, { messageId: 5 }))
  await pub.expectPacket({ cmd: 'puback', messageId: 5 })
  await second.expectPacket(publishPacket('cmd/dev', 'on', 1, { messageId: 1 }))
})

test('a takeover with clean session 1 starts a fresh session: session present 0, no subscriptions', async (t) => {
  const h = await startBroker(t)
  const first = await h.client({ clientId: 'dev', clean: false })
  await first.subscribe('cmd/dev', 1)
  const second = await h.client({ clientId: 'dev', clean: true }, false)
  await first.expectClosed()
  const pub = await h.client({ clientId: 'pub' })
  pub.send(publishPacket('cmd/dev', 'on', 0))
  await pub.expectNothingPending()
  await second.expectNothingPending()
  assert.equal(h.broker.subscriptionCount, 0)
})

test('messages in flight to the old connection are re-sent to the new one with DUP [MQTT-4.4.0-1]', async (t) => {
  const h = await startBroker(t)
  const first = await h.client({ clientId: 'dev', clean: false })
  await first.subscribe('cmd/#', 2)
  const pub = await h.client({ clientId: 'pub' })
  pub.send(publishPacket('cmd/a', 'one', 1, { messageId: 1 }))
  await pub.expectPacket({ cmd: 'puback', messageId: 1 })
  await first.expectPacket(publishPacket('cmd/a', 'one', 1, { messageId: 1 }))
  // Not acknowledged; the device reconnects on a new socket.
  const second = await h.client({ clientId: 'dev', clean: false }, true)
  await first.expectClosed()
  await second.expectPacket(publishPacket('cmd/a', 'one', 1, { messageId: 1, dup: true }))
  second.send({ cmd: 'puback', messageId: 1 })
  await second.expectNothingPending()
})

test('a CONNECT that is refused does not take over the connected client', async (t) => {
  const h = await startBroker(t, { users: { alice: 'pw' } })
  const alice = await h.client({ clientId: 'dev', username: 'alice', password: 'pw' })
  const intruder = await h.open()
  intruder.send(connectPacket({ clientId: 'dev', username: 'alice', password: 'guess' }))
  await intruder.expectPacket({ cmd: 'connack', returnCode: 4, sessionPresent: false })
  await intruder.expectClosed()
  await alice.expectNothingPending()
  assert.deepEqual(h.broker.clients().map((c) => c.clientId), ['dev'])
})

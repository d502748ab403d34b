// Typed broker events: small plain objects with exact shapes, never a connection object.
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { test } from 'node:test'
import { type Broker, type BrokerEvents, createBroker } from '../../lib'
import { startBroker } from '../helpers/broker'
import { publishPacket, unsubackPacket } from '../helpers/raw-client'

type Recorded = Array<[keyof BrokerEvents, unknown]>

/** Records the first argument of each named event, in the order they were emitted. */
function record (broker: Broker, names: Array<keyof BrokerEvents>): Recorded {
  const seen: Recorded = []
  for (const name of names) broker.on(name, (...args: unknown[]) => seen.push([name, args[0]]))
  return seen
}

test('clientConnected and clientDisconnected carry the client as plain data', async (t) => {
  const h = await startBroker(t)
  const seen = record(h.broker, ['clientConnected', 'clientDisconnected'])
  const client = await h.client({ clientId: 'dev', username: 'alice', clean: false, keepalive: 30 })
  const port = client.socket.localPort
  const gone = once(h.broker, 'clientDisconnected')
  await client.disconnect()
  await gone
  const info = { clientId: 'dev', username: 'alice', remoteAddress: '127.0.0.1', remotePort: port, protocolVersion: 4, cleanSession: false, keepaliveSec: 30, listenerIndex: 0 }
  assert.deepEqual(seen, [
    ['clientConnected', { ...info, sessionPresent: false }],
    ['clientDisconnected', { ...info, reason: 'disconnect', willPublished: false }]
  ])
  assert.deepEqual(h.broker.clients(), [])
})

test('clientDisconnected names the reason for each way a connection ends', async (t) => {
  const h = await startBroker(t)
  const reasons: Array<[string, string]> = []
  h.broker.on('clientDisconnected', (event) => reasons.push([event.clientId, event.reason]))
  const closed = await h.client({ clientId: 'closed' })
  const closedSeen = once(h.broker, 'clientDisconnected')
  await closed.destroy()
  await closedSeen
  const violator = await h.client({ clientId: 'violator' })
  violator.send({ cmd: 'connack', returnCode: 0, sessionPresent: false })
  await violator.expectClosed()
  const old = await h.client({ clientId: 'dup' })
  await h.client({ clientId: 'dup' })
  await old.expectClosed()
  const polite = await h.client({ clientId: 'polite' })
  await polite.disconnect()
  // A TCP reset reaches the broker as a socket error (ECONNRESET).
  const reset = await h.client({ clientId: 'reset' })
  const resetSeen = once(h.broker, 'clientDisconnected')
  reset.socket.resetAndDestroy()
  await resetSeen
  await h.broker.close()
  assert.deepEqual(reasons, [
    ['closed', 'socketClosed'],
    ['violator', 'protocolError'],
    ['dup', 'takenOver'],
    ['polite', 'disconnect'],
    ['reset', 'socketError'],
    ['dup', 'serverShutdown']
  ])
})

test('subscribe, unsubscribe and publish events', async (t) => {
  const h = await startBroker(t, {}, { auth: { authorizeSubscribe: (_client, filter, qos) => filter === 'denied' ? false : qos } })
  const seen = record(h.broker, ['subscribe', 'unsubscribe', 'publish'])
  const client = await h.client({ clientId: 'c' })
  client.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a/+', qos: 1 }, { topic: 'denied', qos: 2 }] })
  await client.expectPacket({ cmd: 'suback', messageId: 1, granted: [1, 0x80] })
  client.send(publishPacket('a/b', 'hello', 1, { messageId: 3, retain: true }))
  // The message is routed (here back to its publisher) before it is acknowledged.
  await client.expectPacket(publishPacket('a/b', 'hello', 1, { messageId: 1 }))
  await client.expectPacket({ cmd: 'puback', messageId: 3 })
  client.send({ cmd: 'puback', messageId: 1 })
  client.send({ cmd: 'unsubscribe', messageId: 2, unsubscriptions: ['a/+'] })
  await client.expectPacket(unsubackPacket(2))
  assert.deepEqual(seen, [
    ['subscribe', { clientId: 'c', subscriptions: [{ filter: 'a/+', qos: 1 }, { filter: 'denied', qos: 0x80 }] }],
    ['publish', { clientId: 'c', topic: 'a/b', qos: 1, retain: true, payloadBytes: 5 }],
    ['unsubscribe', { clientId: 'c', filters: ['a/+'] }]
  ])
})

test('willPublished names the client and topic', async (t) => {
  const h = await startBroker(t)
  const client = await h.client({ clientId: 'dev', will: { topic: 'lwt/dev', payload: 'bye' } })
  const will = once(h.broker, 'willPublished')
  await client.destroy()
  assert.deepEqual((await will)[0], { clientId: 'dev', topic: 'lwt/dev' })
})

test('listening reports the bound address; closed fires once on close()', async (t) => {
  const broker = createBroker({ listeners: [{ port: 0, host: '127.0.0.1' }] })
  const listening = once(broker, 'listening')
  const [address] = await broker.listen()
  assert.deepEqual((await listening)[0], address)
  assert.equal(address?.host, '127.0.0.1')
  assert.ok((address?.port ?? 0) > 0)
  let closedCount = 0
  broker.on('closed', () => closedCount++)
  await broker.close()
  await broker.close()
  assert.equal(closedCount, 1)
  t.diagnostic(`bound port ${address?.port}`)
})

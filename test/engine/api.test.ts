// The in-process API the Node-RED nodes use: broker.publish() and broker.subscribe(), with the
// same routing, retained and QoS rules as a socket client, and no socket.
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { test } from 'node:test'
import { createBroker, type DeliveredMessage } from '../../lib'
import { startBroker } from '../helpers/broker'
import { publishPacket } from '../helpers/raw-client'

function plain (message: DeliveredMessage): Record<string, unknown> {
  return { topic: message.topic, payload: message.payload.toString(), qos: message.qos, retain: message.retain }
}

test('a socket PUBLISH reaches an in-process subscriber, QoS capped at the subscription', async (t) => {
  const h = await startBroker(t)
  const got: DeliveredMessage[] = []
  h.broker.subscribe('sensors/+/temp', 1, (message) => got.push(message))
  const pub = await h.client({ clientId: 'pub' })
  pub.send(publishPacket('sensors/kitchen/temp', '21.5', 2, { messageId: 1 }))
  await pub.expectPacket({ cmd: 'pubrec', messageId: 1 })
  pub.send(publishPacket('sensors/kitchen/temp', '21.0', 0))
  pub.send(publishPacket('sensors/kitchen/humidity', '40', 0))
  await pub.expectNothingPending()
  assert.deepEqual(got.map(plain), [
    { topic: 'sensors/kitchen/temp', payload: '21.5', qos: 1, retain: false },
    { topic: 'sensors/kitchen/temp', payload: '21.0', qos: 0, retain: false }
  ])
  assert.ok(Buffer.isBuffer(got[0]?.payload))
})

test('broker.publish reaches socket subscribers with their QoS, and accepts string, Buffer and Uint8Array payloads', async (t) => {
  const h = await startBroker(t)
  const sub = await h.client({ clientId: 'sub' })
  await sub.subscribe('out/#', 1)
  h.broker.publish({ topic: 'out/a', payload: 'text', qos: 2 })
  h.broker.publish({ topic: 'out/b', payload: Buffer.from([1, 2, 3]) })
  h.broker.publish({ topic: 'out/c', payload: new Uint8Array([0x68, 0x69]), qos: 1 })
  h.broker.publish({ topic: 'out/d' })
  await sub.expectPacket(publishPacket('out/a', 'text', 1, { messageId: 1 }))
  await sub.expectPacket(publishPacket('out/b', Buffer.from([1, 2, 3]), 0))
  await sub.expectPacket(publishPacket('out/c', 'hi', 1, { messageId: 2 }))
  await sub.expectPacket(publishPacket('out/d', '', 0))
})

test('broker.publish with retain stores the message; subscribing delivers it with retain true', async (t) => {
  const h = await startBroker(t)
  h.broker.publish({ topic: 'state/lamp', payload: 'on', qos: 1, retain: true })
  assert.equal(h.broker.retainedCount, 1)
  const got: DeliveredMessage[] = []
  h.broker.subscribe('state/#', 2, (message) => got.push(message))
  assert.deepEqual(got.map(plain), [{ topic: 'state/lamp', payload: 'on', qos: 1, retain: true }])
  const q0: DeliveredMessage[] = []
  h.broker.subscribe('state/lamp', 0, (message) => q0.push(message))
  assert.deepEqual(q0.map(plain), [{ topic: 'state/lamp', payload: 'on', qos: 0, retain: true }])
  // A socket client sees the same retained message.
  const sub = await h.client({ clientId: 'sub' })
  await sub.subscribe('state/+', 1)
  await sub.expectPacket(publishPacket('state/lamp', 'on', 1, { retain: true, messageId: 1 }))
})

test('broker.publish with retain and an empty payload removes the retained message', () => {
  const broker = createBroker()
  broker.publish({ topic: 'state/lamp', payload: 'on', retain: true })
  broker.publish({ topic: 'state/lamp', payload: '', retain: true })
  assert.equal(broker.retainedCount, 0)
  const got: DeliveredMessage[] = []
  broker.subscribe('state/#', 0, (message) => got.push(message))
  assert.deepEqual(got, [])
})

test('in-process delivery is synchronous; each subscribe() call is a subscriber of its own with its own QoS', () => {
  const broker = createBroker()
  const got: DeliveredMessage[] = []
  const handler = (message: DeliveredMessage): void => { got.push(message) }
  broker.subscribe('a/+', 0, handler)
  broker.subscribe('a/#', 2, handler)
  broker.publish({ topic: 'a/b', payload: 'x', qos: 2 })
  // Two subscribe() calls are two subscribers, each with its own QoS.
  assert.deepEqual(got.map(plain).sort((x, y) => (x.qos as number) - (y.qos as number)), [
    { topic: 'a/b', payload: 'x', qos: 0, retain: false },
    { topic: 'a/b', payload: 'x', qos: 2, retain: false }
  ])
})

test('the unsubscribe function stops delivery and is safe to call twice', () => {
  const broker = createBroker()
  const got: string[] = []
  const unsubscribe = broker.subscribe('t', 0, (message) => got.push(message.payload.toString()))
  broker.publish({ topic: 't', payload: '1' })
  unsubscribe()
  unsubscribe()
  broker.publish({ topic: 't', payload: '2' })
  assert.deepEqual(got, ['1'])
  assert.equal(broker.subscriptionCount, 0)
})

test('a handler that throws does not stop the others; the failure is reported as an error event', () => {
  const broker = createBroker()
  const errors: Error[] = []
  broker.on('error', ({ error }) => errors.push(error))
  const got: string[] = []
  broker.subscribe('t', 0, () => { throw new Error('flow bug') })
  broker.subscribe('t', 0, (message) => got.push(`second:${message.payload.toString()}`))
  broker.subscribe('#', 0, (message) => got.push(`third:${message.payload.toString()}`))
  broker.publish({ topic: 't', payload: 'p' })
  assert.deepEqual(got.sort(), ['second:p', 'third:p'])
  assert.deepEqual(errors.map((error) => error.message), ['flow bug'])
})

test('a handler that throws with no error listener does not crash the broker', () => {
  const broker = createBroker()
  broker.subscribe('t', 0, () => { throw new Error('unheard') })
  assert.doesNotThrow(() => broker.publish({ topic: 't', payload: 'p' }))
})

test('a handler that publishes re-entrantly: every subscriber gets both messages, the outer one first where it was first', async (t) => {
  const h = await startBroker(t)
  const sub = await h.client({ clientId: 'sub' })
  await sub.subscribe('#', 0)
  const seen: string[] = []
  h.broker.subscribe('ping', 0, (message) => {
    seen.push(`relay:${message.topic}`)
    h.broker.publish({ topic: 'pong', payload: `re:${message.payload.toString()}` })
  })
  h.broker.subscribe('#', 1, (message) => seen.push(`all:${message.topic}=${message.payload.toString()}`))
  h.broker.publish({ topic: 'ping', payload: 'x', qos: 1 })
  // The relay ran first (it subscribed first) and published inside its own delivery; the outer
  // message still reached the later subscriber, with its own payload.
  assert.deepEqual(seen, ['relay:ping', 'all:pong=re:x', 'all:ping=x'])
  const packets = [await sub.next(), await sub.next()]
  assert.deepEqual(packets.map((p) => p.cmd === 'publish' ? `${p.topic}=${p.payload.toString()}` : p.cmd).sort(), ['ping=x', 'pong=re:x'])
  await sub.expectNothingPending()
})

test('shared subscriptions work in-process: one member of the group per message', () => {
  const broker = createBroker()
  const got: string[] = []
  broker.subscribe('$share/g/jobs/#', 0, (message) => got.push(`w1:${message.topic}`))
  broker.subscribe('$share/g/jobs/#', 0, (message) => got.push(`w2:${message.topic}`))
  for (let i = 1; i <= 4; i++) broker.publish({ topic: `jobs/${i}` })
  assert.deepEqual(got, ['w1:jobs/1', 'w2:jobs/2', 'w1:jobs/3', 'w2:jobs/4'])
})

test('invalid topics, filters and QoS are refused with an error', () => {
  const broker = createBroker({ maxTopicLevels: 3 })
  assert.throws(() => broker.publish({ topic: 'a/#' }), /Invalid topic "a\/#": contains a wildcard/)
  assert.throws(() => broker.publish({ topic: '' }), /Invalid topic "": is empty/)
  assert.throws(() => broker.publish({ topic: 'a/b/c/d' }), /has more than 3 levels/)
  assert.throws(() => broker.publish({ topic: 'a', qos: 3 as never }), /Invalid QoS 3/)
  assert.throws(() => broker.subscribe('a/#/b', 0, () => {}), /Invalid topic filter "a\/#\/b"/)
  assert.throws(() => broker.subscribe('$share//x', 0, () => {}), /Invalid topic filter/)
  assert.throws(() => broker.subscribe('a', 5 as never, () => {}), /Invalid QoS 5/)
  assert.equal(broker.subscriptionCount, 0)
})

test('in-process publishes emit the publish event with no client id', async () => {
  const broker = createBroker()
  const seen = once(broker, 'publish')
  broker.publish({ topic: 'ev', payload: 'abc', qos: 1, retain: true })
  assert.deepEqual((await seen)[0], { clientId: undefined, topic: 'ev', qos: 1, retain: true, payloadBytes: 3 })
})

// Retained messages (MQTT 3.1.1, 3.3.1.3): one per topic, sent on subscribe with the retain flag,
// removed by an empty payload, and forwarded with the flag clear to existing subscribers.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { startBroker } from '../helpers/broker'
import type { Harness } from '../helpers/broker'
import { publishPacket } from '../helpers/raw-client'

async function publishRetained (h: Harness, topic: string, payload: string, qos: 0 | 1 = 0): Promise<void> {
  const pub = await h.client({ clientId: `pub-${topic}-${payload}` })
  pub.send(publishPacket(topic, payload, qos, { retain: true, messageId: 1 }))
  if (qos === 1) await pub.expectPacket({ cmd: 'puback', messageId: 1 })
  else await pub.expectNothingPending()
  await pub.disconnect()
}

test('a retained message is sent on subscribe, after SUBACK, with the retain flag set [MQTT-3.3.1-6] [MQTT-3.3.1-8]', async (t) => {
  const h = await startBroker(t)
  await publishRetained(h, 'house/door', 'closed')
  const sub = await h.client({ clientId: 'sub' })
  sub.send({ cmd: 'subscribe', messageId: 4, subscriptions: [{ topic: 'house/door', qos: 0 }] })
  await sub.expectPacket({ cmd: 'suback', messageId: 4, granted: [0] })
  const { bytes } = await sub.expectPacket(publishPacket('house/door', 'closed', 0, { retain: true }))
  assert.equal((bytes[0] as number) & 0x01, 1)
  await sub.expectNothingPending()
})

test('only the latest retained message per topic is kept [MQTT-3.3.1-5]', async (t) => {
  const h = await startBroker(t)
  await publishRetained(h, 'house/door', 'open')
  await publishRetained(h, 'house/door', 'closed')
  assert.equal(h.broker.retainedCount, 1)
  const sub = await h.client({ clientId: 'sub' })
  await sub.subscribe('house/door', 0)
  await sub.expectPacket(publishPacket('house/door', 'closed', 0, { retain: true }))
  await sub.expectNothingPending()
})

test('retained messages go out at the lesser of their QoS and the granted QoS', async (t) => {
  const h = await startBroker(t)
  await publishRetained(h, 'r/q1', 'one', 1)
  await publishRetained(h, 'r/q0', 'zero', 0)
  const sub2 = await h.client({ clientId: 'sub2' })
  await sub2.subscribe('r/q1', 2)
  await sub2.expectPacket(publishPacket('r/q1', 'one', 1, { retain: true, messageId: 1 }))
  sub2.send({ cmd: 'puback', messageId: 1 })
  await sub2.subscribe('r/q0', 2, 2)
  await sub2.expectPacket(publishPacket('r/q0', 'zero', 0, { retain: true }))
  const sub0 = await h.client({ clientId: 'sub0' })
  await sub0.subscribe('r/q1', 0)
  await sub0.expectPacket(publishPacket('r/q1', 'one', 0, { retain: true }))
})

test('the retain flag is cleared when a message goes to existing subscribers [MQTT-3.3.1-9]', async (t) => {
  const h = await startBroker(t)
  const sub = await h.client({ clientId: 'sub' })
  await sub.subscribe('live', 1)
  const pub = await h.client({ clientId: 'pub' })
  pub.send(publishPacket('live', 'now', 1, { retain: true, messageId: 3 }))
  await pub.expectPacket({ cmd: 'puback', messageId: 3 })
  await sub.expectPacket(publishPacket('live', 'now', 1, { messageId: 1 }))
})

test('an empty retained payload removes the topic\'s retained message and is still forwarded [MQTT-3.3.1-10] [MQTT-3.3.1-11]', async (t) => {
  const h = await startBroker(t)
  await publishRetained(h, 'house/door', 'open')
  const sub = await h.client({ clientId: 'sub' })
  await sub.subscribe('house/door', 0)
  await sub.expectPacket(publishPacket('house/door', 'open', 0, { retain: true }))
  const pub = await h.client({ clientId: 'pub' })
  pub.send(publishPacket('house/door', '', 0, { retain: true }))
  await pub.expectNothingPending()
  await sub.expectPacket(publishPacket('house/door', '', 0))
  assert.equal(h.broker.retainedCount, 0)
  const late = await h.client({ clientId: 'late' })
  await late.subscribe('house/#', 0)
  await late.expectNothingPending()
})

test('subscribing again re-sends the retained messages [MQTT-3.8.4-3]', async (t) => {
  const h = await startBroker(t)
  await publishRetained(h, 'cfg/a', 'A')
  const sub = await h.client({ clientId: 'sub' })
  await sub.subscribe('cfg/#', 0)
  await sub.expectPacket(publishPacket('cfg/a', 'A', 0, { retain: true }))
  await sub.subscribe('cfg/#', 0, 2)
  await sub.expectPacket(publishPacket('cfg/a', 'A', 0, { retain: true }))
  await sub.expectNothingPending()
})

test('wildcard subscriptions get every matching retained message; a leading wildcard skips $ topics [MQTT-4.7.2-1]', async (t) => {
  const h = await startBroker(t)
  await publishRetained(h, 'a', 'root')
  await publishRetained(h, 'a/b', 'ab')
  await publishRetained(h, 'a/b/c', 'abc')
  await publishRetained(h, 'x/b', 'xb')
  await publishRetained(h, '$internal/b', 'hidden')
  const hash = await h.client({ clientId: 'hash' })
  await hash.subscribe('a/#', 0)
  const got = new Set<string>()
  for (let i = 0; i < 3; i++) {
    const packet = await hash.next()
    assert.equal(packet.cmd, 'publish')
    if (packet.cmd === 'publish') {
      assert.equal(packet.retain, true)
      got.add(`${packet.topic}=${packet.payload.toString()}`)
    }
  }
  // [MQTT-4.7.1-2] 'a/#' matches the parent 'a' too
  assert.deepEqual([...got].sort(), ['a/b/c=abc', 'a/b=ab', 'a=root'])
  await hash.expectNothingPending()

  const plus = await h.client({ clientId: 'plus' })
  await plus.subscribe('+/b', 0)
  const topics = [(await plus.next()), (await plus.next())].map((p) => p.cmd === 'publish' ? p.topic : p.cmd).sort()
  assert.deepEqual(topics, ['a/b', 'x/b'])
  await plus.expectNothingPending()

  const dollar = await h.client({ clientId: 'dollar' })
  await dollar.subscribe('$internal/+', 0)
  await dollar.expectPacket(publishPacket('$internal/b', 'hidden', 0, { retain: true }))
})

test('a shared subscription gets no retained messages on subscribe', async (t) => {
  const h = await startBroker(t)
  await publishRetained(h, 'jobs/1', 'work')
  const worker = await h.client({ clientId: 'worker' })
  await worker.subscribe('$share/g/jobs/#', 1)
  await worker.expectNothingPending()
})

// Routing by interest between Roost nodes on one nats-server (lib/cluster/link.ts): a node takes
// from NATS only the subjects its subscribers' filters need, sends on what its clients publish, and
// never sends back what came from NATS. Real MQTT.js clients on each node.
import assert from 'node:assert/strict'
import { after, afterEach, before, test } from 'node:test'
import { ClientPool } from '../clients/support'
import { type NatsServer, startNatsServer, subjectsOf } from './nats-server'
import { settle, startNode, subscribeAll, until, upTo, within } from './support'

let nats: NatsServer
const pool = new ClientPool()

before(async () => { nats = await startNatsServer({ monitor: true }) })
after(async () => { await nats.stop() })
afterEach(async () => { await pool.endAll() })

test('a message published on one node reaches the matching wildcard subscribers of the other, both ways, once each', async (t) => {
  const a = await startNode(t, nats, 'node-a')
  const b = await startNode(t, nats, 'node-b')
  assert.equal(a.broker.clusterState, 'connected')
  const onB = await subscribeAll(pool, b.port, ['sensors/+/temp', 'alerts/#', 'end/b'], 'sub-b')
  const onA = await subscribeAll(pool, a.port, ['#'], 'sub-a')
  await settle(a.broker, b.broker)
  const pubA = (await pool.connect(a.port, { clientId: 'pub-a' })).client
  // [MQTT-4.7.1-2] 'alerts/#' matches 'alerts' itself
  for (const topic of ['sensors/kitchen/temp', 'alerts', 'alerts/fire/1', 'sensors/kitchen/humidity', 'other']) {
    await pubA.publishAsync(topic, `from a: ${topic}`)
  }
  await pubA.publishAsync('end/b', 'marker')
  assert.deepEqual(await upTo(onB, 'end/b'), [
    { topic: 'sensors/kitchen/temp', payload: 'from a: sensors/kitchen/temp' },
    { topic: 'alerts', payload: 'from a: alerts' },
    { topic: 'alerts/fire/1', payload: 'from a: alerts/fire/1' },
    { topic: 'end/b', payload: 'marker' }
  ])

  const pubB = (await pool.connect(b.port, { clientId: 'pub-b' })).client
  // Empty levels cross as nats-server escapes them ('/.lead.in', 'gap./.level')
  await pubB.publishAsync('/lead/in', 'empty first level')
  await pubB.publishAsync('gap//level', 'empty middle level')
  await pubB.publishAsync('end/a', 'marker')
  // A's own '#' subscriber saw A's messages once (no echo from NATS), then B's.
  const seenOnA = await upTo(onA, 'end/a')
  assert.deepEqual(seenOnA.map((message) => message.topic), [
    'sensors/kitchen/temp', 'alerts', 'alerts/fire/1', 'sensors/kitchen/humidity', 'other', 'end/b',
    '/lead/in', 'gap//level', 'end/a'
  ])
  // Nothing came round again: one more marker from A arrives right after the last one.
  await settle(a.broker, b.broker)
  await pubA.publishAsync('end/a', 'second marker')
  assert.equal((await upTo(onA, 'end/a')).length, 9)
  const again = await within(onA.waitFor(10), 'second marker')
  assert.deepEqual(again.slice(9).map((message) => message.payload.toString()), ['second marker'])
  assert.equal(onB.messages.length, 4)
})

test('a node subscribes on NATS to the subjects of its filters, counted, and lets go when the last subscriber leaves', async (t) => {
  const b = await startNode(t, nats, 'node-count')
  const name = 'roost node-count'
  const first = await pool.connect(b.port, { clientId: 'count-1' })
  const second = await pool.connect(b.port, { clientId: 'count-2' })
  await first.client.subscribeAsync(['rooms/+/light', 'hall/#', '$SYS/#'])
  await second.client.subscribeAsync('rooms/+/light')
  await settle(b.broker)
  // 'hall/#' needs 'hall' as well [MQTT-4.7.1-2]; $SYS stays on its node
  assert.deepEqual(await subjectsOf(nats, name), ['hall', 'hall.>', 'rooms.*.light'])
  await first.client.unsubscribeAsync(['rooms/+/light', 'hall/#'])
  await settle(b.broker)
  assert.deepEqual(await subjectsOf(nats, name), ['rooms.*.light'])
  await second.client.endAsync()
  // A clean session's subscriptions go with its connection.
  await until(() => b.broker.sessionCount === 1, 'second client gone')
  await settle(b.broker)
  assert.deepEqual(await subjectsOf(nats, name), [])
})

test('in-process subscribers and publishers of broker.subscribe()/publish() are part of the cluster', async (t) => {
  const a = await startNode(t, nats, 'node-api-a')
  const b = await startNode(t, nats, 'node-api-b')
  const received: string[] = []
  const done = new Promise<void>((resolve) => {
    b.broker.subscribe('api/#', 0, (message) => {
      received.push(`${message.topic}=${message.payload.toString()}`)
      if (received.length === 2) resolve()
    })
  })
  await settle(b.broker)
  a.broker.publish({ topic: 'api/one', payload: '1' })
  a.broker.publish({ topic: 'api/two', payload: '2', qos: 1 })
  await within(done, 'in-process delivery')
  // QoS 0 crosses on a plain subject, QoS 1 through the stream: two topics, no order between them [MQTT-4.6.0-6].
  assert.deepEqual(received.sort(), ['api/one=1', 'api/two=2'])
})

test('a retained message stays with the node it was published on; live subscribers elsewhere get it without the retain flag', async (t) => {
  const a = await startNode(t, nats, 'node-ret-a')
  const b = await startNode(t, nats, 'node-ret-b')
  const onB = await subscribeAll(pool, b.port, ['state/#'], 'ret-sub')
  await settle(b.broker)
  const pub = (await pool.connect(a.port, { clientId: 'ret-pub' })).client
  await pub.publishAsync('state/door', 'open', { retain: true, qos: 1 })
  const [message] = await within(onB.waitFor(1), 'retained message')
  // [MQTT-3.3.1-9] a message sent to an existing subscription goes with retain 0
  assert.equal(message?.retain, false)
  assert.equal(message?.qos, 0)
  assert.equal(a.broker.retainedCount, 1)
  assert.equal(b.broker.retainedCount, 0)
})

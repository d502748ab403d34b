// Retained messages across the cluster (lib/cluster/retained-bucket.ts): one JetStream key-value
// bucket, cached on every node and kept fresh by a watch. Real nats-server -js, three Roost nodes,
// MQTT.js clients.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { IPublishPacket } from 'mqtt'
import { clusterPerTest, until, upTo, within } from './support'

const { cluster, pool } = clusterPerTest()

test('a message retained on A reaches a new subscriber on C, retain flag set; a node that joins later loads it', async () => {
  const a = await cluster.node('ret-a')
  const b = await cluster.node('ret-b')
  const pub = (await pool.connect(a.port, { clientId: 'ret-pub' })).client
  await pub.publishAsync('plant/pump', 'running', { retain: true, qos: 1 })
  await until(() => b.broker.retainedCount === 1, 'retained message cached on B')
  // C joins after the message was retained: it reads the bucket before serving its first client.
  const c = await cluster.node('ret-c')
  assert.equal(c.broker.retainedCount, 1)
  const { client, inbox } = await pool.connect(c.port, { clientId: 'ret-sub-c' })
  await client.subscribeAsync('plant/#', { qos: 1 })
  const [message] = await within(inbox.waitFor(1), 'retained message on C')
  // [MQTT-3.3.1-8] a retained message sent for a new subscription carries the retain flag
  assert.deepEqual({ topic: message?.topic, payload: message?.payload.toString(), retain: message?.retain, qos: message?.qos },
    { topic: 'plant/pump', payload: 'running', retain: true, qos: 1 })
})

test('an empty retained payload on B deletes the message on every node', async () => {
  const a = await cluster.node('del-a')
  const b = await cluster.node('del-b')
  const c = await cluster.node('del-c')
  const pubA = (await pool.connect(a.port, { clientId: 'del-pub-a' })).client
  await pubA.publishAsync('door/front', 'open', { retain: true })
  await pubA.publishAsync('door/back', 'closed', { retain: true })
  await until(() => b.broker.retainedCount === 2 && c.broker.retainedCount === 2, 'both retained on every node')
  const pubB = (await pool.connect(b.port, { clientId: 'del-pub-b' })).client
  // [MQTT-3.3.1-10] a retained PUBLISH with an empty payload removes the topic's retained message
  await pubB.publishAsync('door/front', '', { retain: true })
  await until(() => [a, b, c].every((node) => node.broker.retainedCount === 1), 'deleted on every node')
  const { client, inbox } = await pool.connect(c.port, { clientId: 'del-sub-c' })
  await client.subscribeAsync('door/#')
  assert.deepEqual(await upTo(inbox, 'door/back'), [{ topic: 'door/back', payload: 'closed' }])
})

test('the Message Expiry Interval holds on every node: the remaining time is sent, an expired message is not', async () => {
  const a = await cluster.node('exp-a')
  const b = await cluster.node('exp-b')
  const pub = (await pool.connect(a.port, { clientId: 'exp-pub', protocolVersion: 5 })).client
  await pub.publishAsync('meter/long', 'kept', { retain: true, properties: { messageExpiryInterval: 3600 } })
  await pub.publishAsync('meter/short', 'gone soon', { retain: true, properties: { messageExpiryInterval: 1 } })
  await until(() => b.broker.retainedCount === 2, 'both retained on B')
  // Past the short one's deadline (a wait for expiry, not a timing assertion).
  await new Promise((resolve) => setTimeout(resolve, 1100))
  const { client } = await pool.connect(b.port, { clientId: 'exp-sub', protocolVersion: 5 })
  const received: IPublishPacket[] = []
  const first = new Promise<void>((resolve) => {
    client.on('message', (_topic, _payload, packet) => {
      received.push(packet)
      resolve()
    })
  })
  await client.subscribeAsync('meter/#')
  await within(first, 'retained message on B')
  // A marker published after the retained ones have been sent: nothing else came before it.
  await client.subscribeAsync('marker/exp')
  await b.broker.clusterSync()
  await pub.publishAsync('marker/exp', 'end')
  await until(() => received.some((packet) => packet.topic === 'marker/exp'), 'marker')
  assert.deepEqual(received.map((packet) => packet.topic), ['meter/long', 'marker/exp'])
  // [MQTT-3.3.2-6] the interval sent is what is left of it
  const left = received[0]?.properties?.messageExpiryInterval ?? 0
  assert.ok(left > 0 && left <= 3600, `expiry interval ${left}`)
})

test('NATS back with an empty store: a message retained while it was away reaches the other nodes', async () => {
  const a = await cluster.node('empty-a')
  const b = await cluster.node('empty-b')
  const pub = (await pool.connect(a.port, { clientId: 'empty-pub' })).client
  await pub.publishAsync('hall/light', 'on', { retain: true })
  await until(() => b.broker.retainedCount === 1, 'first retained message on B')
  await cluster.outage(async () => {
    await until(() => a.broker.clusterState === 'disconnected' && b.broker.clusterState === 'disconnected', 'both nodes see NATS gone')
    await pub.publishAsync('hall/heating', 'eco', { retain: true, qos: 1 })
    assert.equal(a.broker.retainedCount, 2)
  })
  // Each node writes back what the new bucket does not hold: A both messages, B the first.
  await until(() => b.broker.retainedCount === 2, 'retained message of the outage on B')
  const { client, inbox } = await pool.connect(b.port, { clientId: 'empty-sub' })
  await client.subscribeAsync('hall/#')
  const messages = await within(inbox.waitFor(2), 'both retained messages on B')
  assert.deepEqual(messages.map((message) => `${message.topic}=${message.payload.toString()}`).sort(), ['hall/heating=eco', 'hall/light=on'])
})

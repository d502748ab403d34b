// Cluster-wide takeover (lib/cluster/takeover.ts): the same client id connecting on another node
// closes the older connection, DISCONNECT 0x8E on MQTT 5 [MQTT-3.1.4-3]. Real nats-server -js,
// Roost nodes, MQTT.js clients.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { IDisconnectPacket, MqttClient } from 'mqtt'
import { clusterPerTest, until, upTo, within } from './support'

const { cluster, pool } = clusterPerTest()

function closed (client: MqttClient): Promise<void> {
  return new Promise((resolve) => { client.once('close', () => { resolve() }) })
}

test('MQTT 5: the same client id on node B takes over from node A, which sends DISCONNECT 0x8E Session taken over', async () => {
  const a = await cluster.node('take-a')
  const b = await cluster.node('take-b')
  const old = (await pool.connect(a.port, { clientId: 'twin-5', protocolVersion: 5 })).client
  const told = new Promise<IDisconnectPacket>((resolve) => { old.once('disconnect', resolve) })
  const gone = closed(old)
  const { client: newer, inbox } = await pool.connect(b.port, { clientId: 'twin-5', protocolVersion: 5 })
  // MQTT 5.0, 3.14.2.1: 0x8E, another connection using the same ClientID has connected
  assert.equal((await within(told, 'DISCONNECT on the old connection')).reasonCode, 0x8e)
  await within(gone, 'old connection closed')
  await until(() => a.broker.clientCount === 0, 'client gone from A')
  assert.equal(b.broker.clientCount, 1)
  // The new connection is served.
  await newer.subscribeAsync('twin/echo')
  await newer.publishAsync('twin/echo', 'still here')
  assert.deepEqual(await upTo(inbox, 'twin/echo'), [{ topic: 'twin/echo', payload: 'still here' }])
})

test('MQTT 3.1.1: the older connection on the other node is closed', async () => {
  const a = await cluster.node('take311-a')
  const b = await cluster.node('take311-b')
  const old = (await pool.connect(a.port, { clientId: 'twin-4', protocolVersion: 4 })).client
  let disconnectPackets = 0
  old.on('disconnect', () => { disconnectPackets++ })
  const gone = closed(old)
  await pool.connect(b.port, { clientId: 'twin-4', protocolVersion: 4 })
  await within(gone, 'old connection closed')
  // MQTT 3.1.1 has no DISCONNECT from the server: the network connection closes.
  assert.equal(disconnectPackets, 0)
  await until(() => a.broker.clientCount === 0, 'client gone from A')
  assert.equal(b.broker.clientCount, 1)
})

test('two connections with one client id racing on three nodes: one stays, whichever the bucket ordered last', async () => {
  const all = [await cluster.node('race-a'), await cluster.node('race-b'), await cluster.node('race-c')]
  const clients = await Promise.all(all.map(async (node) => (await pool.connect(node.port, { clientId: 'racer', protocolVersion: 5 })).client))
  await until(() => all.reduce((sum, node) => sum + node.broker.clientCount, 0) === 1, 'one connection left in the cluster')
  await until(() => clients.filter((client) => client.connected).length === 1, 'one client still connected')
})

test('a Clean Start takeover on another node ends the session there: its delayed will is published once', async () => {
  const a = await cluster.node('will-take-a')
  const b = await cluster.node('will-take-b')
  const { client: watcher, inbox } = await pool.connect(b.port, { clientId: 'will-watcher' })
  await watcher.subscribeAsync('wills/#', { qos: 1 })
  await b.broker.clusterSync()
  await pool.connect(a.port, {
    clientId: 'delayed',
    protocolVersion: 5,
    clean: false,
    properties: { sessionExpiryInterval: 600 },
    will: { topic: 'wills/delayed', payload: Buffer.from('gone for good'), qos: 1, retain: false, properties: { willDelayInterval: 600 } }
  })
  await a.broker.clusterSync()
  // Clean Start 1 on B: the session on A ends, and its delayed will goes out with it (MQTT 5.0, 3.1.3.2.2).
  await pool.connect(b.port, { clientId: 'delayed', protocolVersion: 5, clean: true })
  await until(() => a.broker.sessionCount === 0, 'session ended on A')
  await watcher.publishAsync('wills/marker', 'after the will', { qos: 1 })
  const messages = await upTo(inbox, 'wills/marker')
  assert.deepEqual(messages, [{ topic: 'wills/delayed', payload: 'gone for good' }, { topic: 'wills/marker', payload: 'after the will' }])
})

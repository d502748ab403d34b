// A persistent session moves between nodes with its queue (lib/cluster/session-consumers.ts): a
// client subscribes on node A, goes offline, messages are published meanwhile on C (and A), and
// the client comes back on B, where CONNACK says Session Present 1 [MQTT-3.2.2-2] (MQTT 5.0,
// 3.2.2.1.1) and it gets them all, once, in order. Real nats-server -js, MQTT.js (MQTT 3.1.1 clean
// session 0, MQTT 5 Session Expiry Interval).
import assert from 'node:assert/strict'
import { after, afterEach, before, test } from 'node:test'
import { jetstreamManager } from '@nats-io/jetstream'
import { connect } from '@nats-io/transport-node'
import { clientKey } from '../../lib/cluster/session-consumers'
import { STREAM_NAME } from '../../lib/cluster/stream'
import { ClientPool } from '../clients/support'
import { type NatsServer, startNatsServer } from './nats-server'
import { settle, startNode, until, upTo, within } from './support'

let nats: NatsServer
const pool = new ClientPool()

before(async () => { nats = await startNatsServer() })
after(async () => { await nats.stop() })
afterEach(async () => { await pool.endAll() })

test('MQTT 3.1.1 clean session 0: subscribed on A, offline, messages from C and A, back on B with all of them once and in order', async (t) => {
  const a = await startNode(t, nats, 'move-a')
  const b = await startNode(t, nats, 'move-b')
  const c = await startNode(t, nats, 'move-c')
  const options = { clientId: 'mover', clean: false, protocolVersion: 4 as const }
  const first = await pool.connect(a.port, options)
  // Two filters match 'orders/new': the session still gets each message once [MQTT-3.3.5-1].
  await within(first.client.subscribeAsync({ 'orders/#': { qos: 2 }, 'orders/+': { qos: 1 } }), 'SUBACK on A')
  await settle(a.broker)
  await first.client.endAsync()
  await until(() => !a.broker.clients().some((client) => client.clientId === 'mover'), 'mover offline on A')
  await settle(a.broker, b.broker, c.broker)

  const onC = (await pool.connect(c.port, { clientId: 'pub-c' })).client
  const onA = (await pool.connect(a.port, { clientId: 'pub-a' })).client
  const sent: string[] = []
  for (let i = 0; i < 8; i++) {
    await onC.publishAsync('orders/new', `c${i}`, { qos: i % 2 === 0 ? 1 : 2 })
    sent.push(`c${i}`)
  }
  for (let i = 0; i < 3; i++) {
    await onA.publishAsync('orders/new', `a${i}`, { qos: 1 })
    sent.push(`a${i}`)
  }
  await onC.publishAsync('orders/end', 'marker', { qos: 1 })

  const second = await pool.connect(b.port, options)
  // Node B never saw this client: the cluster kept its session.
  assert.equal(second.sessionPresent, true)
  sent.push('marker')
  const got = (await within(second.inbox.waitFor(sent.length), 'the queue on B')).map((message) => message.payload.toString())
  // MQTT.js hands a QoS 2 message over at PUBREL, a QoS 1 one at once: each QoS in the order sent.
  const qos2 = new Set(['c1', 'c3', 'c5', 'c7'])
  assert.deepEqual(got.filter((payload) => qos2.has(payload)), sent.filter((payload) => qos2.has(payload)))
  assert.deepEqual(got.filter((payload) => !qos2.has(payload)), sent.filter((payload) => !qos2.has(payload)))
  // Live messages after the move reach it on B, once.
  await settle(b.broker)
  await onC.publishAsync('orders/new', 'live', { qos: 1 })
  const all = await within(second.inbox.waitFor(sent.length + 1), 'live message')
  assert.equal(all.at(-1)?.payload.toString(), 'live')
  await settle(a.broker, b.broker, c.broker)
  assert.equal(second.inbox.messages.length, sent.length + 1)
})

test('MQTT 5 Session Expiry: the queue waits in the cluster; a clean start elsewhere forgets it and its consumers', async (t) => {
  const a = await startNode(t, nats, 'expiry-a')
  const b = await startNode(t, nats, 'expiry-b')
  const persistent = { clientId: 'v5-mover', protocolVersion: 5 as const, clean: false, properties: { sessionExpiryInterval: 300 } }
  const first = await pool.connect(a.port, { ...persistent, clean: true })
  await within(first.client.subscribeAsync('alerts/#', { qos: 1 }), 'SUBACK on A')
  await settle(a.broker)
  await first.client.endAsync()
  await until(() => !a.broker.clients().some((client) => client.clientId === 'v5-mover'), 'offline on A')
  await settle(a.broker, b.broker)
  const pub = (await pool.connect(b.port, { clientId: 'v5-pub', protocolVersion: 5 })).client
  await pub.publishAsync('alerts/fire', 'while away', { qos: 1, properties: { contentType: 'text/plain' } })
  await pub.publishAsync('alerts/flood', 'exactly once', { qos: 2 })
  await pub.publishAsync('alerts/end', 'marker', { qos: 1 })

  const second = await pool.connect(b.port, persistent)
  assert.equal(second.sessionPresent, true)
  // MQTT.js hands the QoS 2 message over at PUBREL, after the QoS 1 ones sent before it may have come.
  const got = (await within(second.inbox.waitFor(3), 'the queue on B')).map((message) => message.payload.toString()).sort()
  assert.deepEqual(got, ['exactly once', 'marker', 'while away'])
  await settle(a.broker, b.broker)
  assert.equal(second.inbox.messages.length, 3)
  await second.client.endAsync()
  await settle(a.broker, b.broker)

  // [MQTT-3.1.2-4] Clean Start discards the session: its consumers on the stream go too.
  const fresh = await pool.connect(a.port, { ...persistent, clean: true })
  assert.equal(fresh.sessionPresent, false)
  await settle(a.broker, b.broker)
  const nc = await connect({ servers: nats.url })
  t.after(async () => { await nc.close() })
  const jsm = await jetstreamManager(nc)
  const names: string[] = []
  for await (const consumer of jsm.consumers.list(STREAM_NAME)) names.push(consumer.name)
  assert.deepEqual(names.filter((name) => name.includes(clientKey('v5-mover'))), [])
  await pub.publishAsync('alerts/fire', 'after clean start', { qos: 1 })
  await pub.publishAsync('alerts/end', 'marker 2', { qos: 1 })
  await settle(a.broker, b.broker)
  assert.equal(fresh.inbox.messages.length, 0)
})

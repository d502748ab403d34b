// A Roost node and nats-server's own MQTT listener share one subject space (lib/cluster/subjects.ts):
// MQTT clients connected to nats-server directly (MQTT.js, mosquitto_pub/mosquitto_sub, all MQTT
// 3.1.1, which is what nats-server speaks) and clients of a Roost node see each other's messages,
// wildcards and empty levels included. Plain NATS clients too, and what they send that is no MQTT
// topic is dropped with a log line, the node unharmed.
import assert from 'node:assert/strict'
import { after, afterEach, before, test } from 'node:test'
import { connect } from '@nats-io/transport-node'
import { ClientPool } from '../clients/support'
import { ProcessPool } from '../clients/processes'
import { RecordingLogger } from '../helpers/broker'
import { type NatsServer, startNatsServer } from './nats-server'
import { settle, startNode, subscribeAll, upTo, within } from './support'

let nats: NatsServer
const pool = new ClientPool()
const processes = new ProcessPool()

before(async () => { nats = await startNatsServer({ mqtt: true }) })
after(async () => { await nats.stop() })
afterEach(async () => {
  await pool.endAll()
  await processes.killAll()
})

function natsMqttPort (): number {
  if (nats.mqttPort === undefined) throw new Error('nats-server runs no MQTT listener')
  return nats.mqttPort
}

test('a Roost client receives what an MQTT client of nats-server publishes, wildcards and empty levels included', async (t) => {
  const node = await startNode(t, nats, 'interop-in')
  const onRoost = await subscribeAll(pool, node.port, ['gap//#', 'done'], 'roost-sub')
  const q1 = await pool.connect(node.port, { clientId: 'roost-sub-q1' })
  await within(q1.client.subscribeAsync('plant/+/level', { qos: 1 }), 'SUBACK')
  await settle(node.broker)
  const natsClient = (await pool.connect(natsMqttPort(), { clientId: 'nats-pub', protocolVersion: 4 })).client
  await natsClient.publishAsync('plant/tank1/level', '71', { qos: 1 })
  await natsClient.publishAsync('plant/tank1/pressure', 'not subscribed')
  await natsClient.publishAsync('gap//x', 'empty level')
  await natsClient.publishAsync('done', 'marker')
  const received = await upTo(onRoost, 'done')
  assert.deepEqual(received, [
    { topic: 'gap//x', payload: 'empty level' },
    { topic: 'done', payload: 'marker' }
  ])
  // nats-server marks what its MQTT clients publish with their QoS (header Nmqtt-Pub): QoS 1 here too
  const [level] = await within(q1.inbox.waitFor(1), 'QoS 1 message')
  assert.deepEqual([level?.topic, level?.payload.toString(), level?.qos], ['plant/tank1/level', '71', 1])
})

test('an MQTT client of nats-server (MQTT.js, and mosquitto_sub) receives what a Roost client publishes', async (t) => {
  const node = await startNode(t, nats, 'interop-out')
  const natsSide = await subscribeAll(pool, natsMqttPort(), ['meter/#', '/lead/+'], 'nats-sub')
  const mosquittoSub = processes.start('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(natsMqttPort()), '-V', 'mqttv311', '-i', 'mosq-sub', '-t', 'meter/+/kwh', '-C', '2', '-v'])
  // mosquitto_sub says nothing once subscribed: its subscription shows in nats-server's MQTT session
  // as soon as a message reaches it, so publish until the first one arrives, bounded.
  const pub = (await pool.connect(node.port, { clientId: 'roost-pub' })).client
  let stdout = ''
  mosquittoSub.child.stdout?.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
  for (let attempt = 0; attempt < 100 && stdout === ''; attempt++) {
    await pub.publishAsync('meter/probe/kwh', 'probe')
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  await pub.publishAsync('meter/m1/kwh', '12.5')
  await pub.publishAsync('/lead/x', 'empty first level')
  const finished = await within(mosquittoSub.finished, 'mosquitto_sub')
  assert.equal(finished.code, 0, finished.stderr)
  assert.match(finished.stdout, /meter\/m1\/kwh 12\.5\n$/)
  const seen = await upTo(natsSide, '/lead/x')
  assert.deepEqual(seen.filter((message) => message.topic !== 'meter/probe/kwh'), [
    { topic: 'meter/m1/kwh', payload: '12.5' },
    { topic: '/lead/x', payload: 'empty first level' }
  ])
})

test('mosquitto_pub to nats-server reaches a Roost client', async (t) => {
  const node = await startNode(t, nats, 'interop-mosq')
  const onRoost = await subscribeAll(pool, node.port, ['door/#'], 'roost-door')
  await settle(node.broker)
  const result = await processes.run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(natsMqttPort()), '-V', 'mqttv311', '-i', 'mosq-pub', '-t', 'door/front', '-m', 'opened', '-q', '1'])
  assert.equal(result.code, 0, result.stderr)
  assert.deepEqual(await upTo(onRoost, 'door/front'), [{ topic: 'door/front', payload: 'opened' }])
})

test('plain NATS clients: a subject reads as a topic; a subject that is no MQTT topic name is dropped with a log line', async (t) => {
  const log = new RecordingLogger()
  const node = await startNode(t, nats, 'interop-plain', {}, log)
  const onRoost = await subscribeAll(pool, node.port, ['orders/#'], 'roost-orders')
  await settle(node.broker)
  const nc = await connect({ servers: nats.url })
  t.after(async () => { await nc.close() })
  nc.publish('orders.bad#level', 'wildcard character in a topic name')
  nc.publish('orders.new', 'order 1')
  await nc.flush()
  assert.deepEqual(await upTo(onRoost, 'orders/new'), [{ topic: 'orders/new', payload: 'order 1' }])
  assert.ok(log.lines.some((line) => line.includes("subject 'orders.bad#level' is no MQTT topic name")), log.lines.join('\n'))
  // and a Roost client's message reaches a plain NATS subscriber on the escaped subject
  const sub = nc.subscribe('reply.>', { max: 1 })
  await nc.flush()
  const pub = (await pool.connect(node.port, { clientId: 'roost-reply' })).client
  await pub.publishAsync('reply/a.b', 'dot in a level')
  for await (const msg of sub) {
    assert.equal(msg.subject, 'reply.a//b')
    assert.equal(msg.string(), 'dot in a level')
  }
})

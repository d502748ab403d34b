// `kill -9` of a roost process under QoS 1 load: every message its publisher got a PUBACK for is in
// the JetStream stream, so a subscriber on another node receives all of them (acknowledged = stored).
// Clients of the killed node move to another one (MQTT.js with several servers): a persistent
// subscriber finds its session there (Session Present) with every acknowledged message, those the
// dead node held unacknowledged included, and each client's will is published once by a survivor.
// A real `roost` process (killed with SIGKILL), in-process nodes, MQTT.js clients.
import assert from 'node:assert/strict'
import { after, afterEach, before, test } from 'node:test'
import mqtt, { type MqttClient } from 'mqtt'
import { freePort, makeTempDir, type RoostProcess, roostPerTest } from '../cli/helpers'
import { ClientPool } from '../clients/support'
import { RawClient } from '../helpers/raw-client'
import { type NatsServer, startNatsServer } from './nats-server'
import { settle, startNode, until, within } from './support'

let nats: NatsServer
const pool = new ClientPool()
const temp = makeTempDir()
const roost = roostPerTest()

before(async () => { nats = await startNatsServer() })
after(async () => {
  await nats.stop()
  temp.remove()
})
afterEach(async () => { await pool.endAll() })

/** A `roost` process in the cluster, listening on a free port, once it is connected to NATS. */
async function startRoostNode (nodeId: string): Promise<{ port: number, process: RoostProcess }> {
  const port = await freePort()
  const conf = temp.write(`${nodeId}.conf`, `listener ${port} 127.0.0.1\nallow_anonymous true\ncluster_nats_url ${nats.url}\ncluster_node_id ${nodeId}\n`)
  const process = roost(['-c', conf])
  await process.waitForOutput(`Cluster: node ${nodeId} connected to NATS`)
  return { port, process }
}

/** Messages the publisher keeps unacknowledged at once. */
const WINDOW = 20
/** PUBACKs to wait for before the publishing node is killed. */
const BEFORE_KILL = 150

test('kill -9 of the publishing node under QoS 1 load: every acknowledged message reaches the subscriber on another node', async (t) => {
  const { port, process: a } = await startRoostNode('crash-a')
  const b = await startNode(t, nats, 'crash-b')
  const { client: sub, inbox } = await pool.connect(b.port, { clientId: 'crash-sub' })
  await within(sub.subscribeAsync('load/#', { qos: 1 }), 'SUBACK')
  await settle(b.broker)
  const pub = (await pool.connect(port, { clientId: 'crash-pub' })).client
  pub.on('error', () => {})

  const acknowledged: string[] = []
  let sent = 0
  let inFlight = 0
  let stopped = false
  const pump = (): void => {
    while (!stopped && inFlight < WINDOW && sent < 100_000) {
      const payload = `m${sent++}`
      inFlight++
      pub.publish('load/x', payload, { qos: 1 }, (error) => {
        inFlight--
        if (error === undefined || error === null) acknowledged.push(payload)
        pump()
      })
    }
  }
  pub.on('close', () => { stopped = true })
  pump()
  await until(() => acknowledged.length >= BEFORE_KILL, `${BEFORE_KILL} PUBACKs`)
  a.kill()
  await a.exited
  await until(() => stopped, 'publisher sees its node gone')
  const received = new Set<string>()
  await until(() => {
    for (const message of inbox.messages.slice(received.size)) received.add(message.payload.toString())
    return acknowledged.every((payload) => received.has(payload))
  }, 'every acknowledged message on the other node')
  assert.ok(acknowledged.length >= BEFORE_KILL)
  assert.deepEqual(acknowledged.filter((payload) => !received.has(payload)), [])
})

/** Messages the moving publisher sends in all, before and after the kill. */
const TOTAL = 400
/**
 * How long the moved subscriber may wait for everything: what the dead node held unacknowledged
 * comes back when JetStream's ack wait (10 s, lib/cluster/session-consumers.ts) runs out.
 */
const MOVE_LIMIT_MS = 45_000

test('kill -9 of the node a persistent subscriber and a publisher are on: they move to B, every acknowledged message arrives, each will once', async (t) => {
  const { port, process: a } = await startRoostNode('crash-move-a')
  const b = await startNode(t, nats, 'crash-move-b')
  const c = await startNode(t, nats, 'crash-move-c')
  const { client: watcher, inbox: wills } = await pool.connect(c.port, { clientId: 'crash-will-watcher' })
  await within(watcher.subscribeAsync('gone/#', { qos: 1 }), 'SUBACK for the wills')
  await settle(b.broker, c.broker)

  // A first, B when A is gone: MQTT.js takes the servers in turn on each reconnection.
  const servers = [{ host: '127.0.0.1', port }, { host: '127.0.0.1', port: b.port }]
  const movers: MqttClient[] = []
  t.after(async () => { await Promise.all(movers.map(async (client) => { await client.endAsync(true) })) })
  const connectMover = (clientId: string, clean: boolean): MqttClient => {
    const client = mqtt.connect({ servers, clientId, clean, reconnectPeriod: 100, will: { topic: `gone/${clientId}`, payload: Buffer.from('lost'), qos: 1, retain: false } })
    client.on('error', () => {})
    movers.push(client)
    return client
  }
  const sub = connectMover('crash-move-sub', false)
  const sessionPresent: boolean[] = []
  sub.on('connect', (connack) => { sessionPresent.push(connack.sessionPresent) })
  const received: string[] = []
  sub.on('message', (topic, payload) => { if (topic === 'moving/x') received.push(payload.toString()) })
  const pub = connectMover('crash-move-pub', true)
  await until(() => sub.connected && pub.connected, 'both clients connected to A')
  await within(sub.subscribeAsync('moving/#', { qos: 1 }), 'SUBACK on A')
  // The session's consumer on the stream is made just after SUBACK: probe until a message comes through.
  let probed = false
  sub.on('message', (topic) => { if (topic === 'moving/probe') probed = true })
  for (let attempt = 0; attempt < 100 && !probed; attempt++) {
    await within(pub.publishAsync('moving/probe', 'probe', { qos: 1 }), 'probe PUBACK')
    if (!probed) await new Promise((resolve) => setTimeout(resolve, 50))
  }
  assert.ok(probed, 'the subscriber on A receives')

  const acknowledged: string[] = []
  let sent = 0
  let answered = 0
  let inFlight = 0
  const pump = (): void => {
    while (inFlight < WINDOW && sent < TOTAL) {
      const payload = `m${sent++}`
      inFlight++
      pub.publish('moving/x', payload, { qos: 1 }, (error) => {
        inFlight--
        answered++
        if (error === undefined || error === null) acknowledged.push(payload)
        pump()
      })
    }
  }
  pump()
  await until(() => acknowledged.length >= BEFORE_KILL, `${BEFORE_KILL} PUBACKs`)
  a.kill()
  await a.exited
  // MQTT.js sends again what was in flight, and the rest, through B.
  await until(() => answered === TOTAL, 'an answer for every publish', MOVE_LIMIT_MS)
  await until(() => {
    const got = new Set(received)
    return acknowledged.every((payload) => got.has(payload))
  }, 'every acknowledged message at the moved subscriber', MOVE_LIMIT_MS)
  // The cluster kept the subscriber's session: B answered Session Present 1.
  assert.deepEqual(sessionPresent.slice(0, 2), [false, true])
  const got = new Set(received)
  assert.deepEqual(acknowledged.filter((payload) => !got.has(payload)), [])
  // QoS 1 allows a second copy: what A handed over and did not get acknowledged on JetStream before it died.
  t.diagnostic(`${acknowledged.length} acknowledged of ${TOTAL}; ${received.length - got.size} duplicates at the subscriber`)

  // Both clients lost their connection without DISCONNECT: a survivor publishes each will once [MQTT-3.1.2-8].
  await until(() => wills.messages.length >= 2, 'the wills of the killed node\'s clients', MOVE_LIMIT_MS)
  const marker = (await pool.connect(b.port, { clientId: 'crash-will-marker' })).client
  await settle(b.broker, c.broker)
  await marker.publishAsync('gone/end', 'marker', { qos: 1 })
  await within(wills.waitForTopic('gone/end'), 'marker after the wills')
  assert.deepEqual(wills.messages.map((message) => message.topic).sort(), ['gone/crash-move-pub', 'gone/crash-move-sub', 'gone/end'])
})

test('kill -9 of a node holding unacknowledged messages: the session\'s next node gets them from JetStream', async (t) => {
  const { port, process: a } = await startRoostNode('crash-held-a')
  const b = await startNode(t, nats, 'crash-held-b')
  // A raw client: it receives and never acknowledges, so node A holds every message when it dies.
  const raw = await RawClient.open(port)
  t.after(async () => { await raw.destroy() })
  await raw.connect({ clientId: 'crash-held-sub', clean: false })
  await raw.subscribe('stuck/#', 1)
  const pub = (await pool.connect(b.port, { clientId: 'crash-held-pub' })).client
  const payloads = ['s1', 's2', 's3', 's4', 's5']
  // The session's consumer is made just after SUBACK: the first publish goes again until it arrives.
  let first: string | undefined
  for (let attempt = 0; attempt < 100 && first === undefined; attempt++) {
    await pub.publishAsync('stuck/probe', `probe${attempt}`, { qos: 1 })
    first = await raw.next(100).then((packet) => (packet as { payload: Buffer }).payload.toString(), () => undefined)
  }
  assert.ok(first?.startsWith('probe'), 'the raw client on A receives')
  for (const payload of payloads) await pub.publishAsync('stuck/x', payload, { qos: 1 })
  const onA: string[] = []
  for (let i = 0; i < payloads.length; i++) onA.push(((await within(raw.next(), 'PUBLISH on A')) as { payload: Buffer }).payload.toString())
  assert.deepEqual(onA, payloads)
  a.kill()
  await a.exited
  const moved = await pool.connect(b.port, { clientId: 'crash-held-sub', clean: false, protocolVersion: 4 })
  assert.equal(moved.sessionPresent, true)
  await until(() => payloads.every((payload) => moved.inbox.messages.some((message) => message.payload.toString() === payload)), 'the messages A held, on B', MOVE_LIMIT_MS)
  // The probe A sent and the client never acknowledged comes too; nothing else.
  const got = moved.inbox.messages.filter((message) => message.topic === 'stuck/x').map((message) => message.payload.toString())
  assert.deepEqual(got.sort(), payloads)
})

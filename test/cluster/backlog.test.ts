// Store and forward across a NATS outage (lib/cluster/backlog.ts): QoS 1/2 messages a node
// acknowledged while NATS was away reach its own subscribers at once and every other node's once
// NATS is back, in order, once; the bound drops the excess with one log line; with `persistence
// true` the backlog outlives a kill -9 of the node. Real nats-server -js (restarted on the same
// port and store directory), MQTT.js clients, and `roost -c` processes.
import assert from 'node:assert/strict'
import { after, afterEach, test } from 'node:test'
import type { MqttClient } from 'mqtt'
import { freePort, tempDir } from '../client/helpers'
import { makeTempDir, roostPerTest } from '../cli/helpers'
import { ClientPool, type Inbox, type Received } from '../clients/support'
import { RecordingLogger } from '../helpers/broker'
import { headers } from '@nats-io/transport-node'
import type { JsMsg } from '@nats-io/jetstream'
import { ClusterBacklog } from '../../lib/cluster/backlog'
import { StreamReader } from '../../lib/cluster/consumers'
import type { QueuedEntry, SessionRecord } from '../../lib/store/records'
import type { SessionJournal } from '../../lib/store/store'
import type { Message } from '../../lib/types'
import { STREAM_PREFIX } from '../../lib/cluster/stream'
import { DELIVERED_HEADER, QOS_HEADER } from '../../lib/cluster/wire'
import { type NatsServer, startNatsServer } from './nats-server'
import { settle, startNode, until, within } from './support'

const pool = new ClientPool()
const temp = makeTempDir()
const roost = roostPerTest()
let nats: NatsServer | undefined
let natsStore: { dir: string, remove: () => void } | undefined
afterEach(async () => {
  await pool.endAll()
  await nats?.stop()
  nats = undefined
  natsStore?.remove()
  natsStore = undefined
})
after(() => { temp.remove() })

/** A nats-server whose JetStream store outlives it, so restartNats() finds the stream and the durable consumers again. */
async function startKeptNats (): Promise<NatsServer> {
  natsStore = tempDir('nats-kept')
  nats = await startNatsServer({ port: await freePort(), storeDir: natsStore.dir })
  return nats
}

async function restartNats (port: number): Promise<NatsServer> {
  nats = await startNatsServer({ port, storeDir: natsStore?.dir })
  return nats
}

/** A subscriber whose session outlives its connection (clean session 0), at QoS 1: MQTT.js hands a QoS 2 message over at PUBREL, after later QoS 1 ones, so one QoS keeps the order visible. */
async function persistentSubscriber (port: number, clientId: string, filter: string): Promise<Inbox> {
  const { client, inbox } = await pool.connect(port, { clientId, clean: false, protocolVersion: 4 })
  await within(client.subscribeAsync(filter, { qos: 1 }), `SUBACK for ${clientId}`)
  return inbox
}

/** Publishes `count` messages m0, m1, ... on `topic`, QoS 1 with every 10th at QoS 2; resolves once each is acknowledged. */
async function publishNumbered (client: MqttClient, topic: string, count: number): Promise<void> {
  const acknowledged: Array<Promise<unknown>> = []
  for (let n = 0; n < count; n++) acknowledged.push(client.publishAsync(topic, `m${n}`, { qos: n % 10 === 9 ? 2 : 1 }))
  await within(Promise.all(acknowledged), `acknowledgements of ${count} messages`)
}

function payloads (messages: Received[], topic: string): string[] {
  return messages.filter((message) => message.topic === topic).map((message) => message.payload.toString())
}

function numbered (count: number): string[] {
  return Array.from({ length: count }, (_, n) => `m${n}`)
}

test('QoS 1/2 messages acknowledged while NATS is away reach the other node once NATS is back, in order, once, and the node itself gets no second copy', async (t) => {
  const server = await startKeptNats()
  const log = new RecordingLogger()
  const a = await startNode(t, server, 'keep-a', { sysIntervalSec: 1 }, log)
  const b = await startNode(t, server, 'keep-b')
  const onB = await persistentSubscriber(b.port, 'keep-b-sub', 'orders/#')
  const onA = await persistentSubscriber(a.port, 'keep-a-sub', 'orders/#')
  // A clean session: served by the node's own consumers rather than consumers of its session.
  const cleanA = await pool.connect(a.port, { clientId: 'keep-a-clean', protocolVersion: 4 })
  await within(cleanA.client.subscribeAsync('orders/#', { qos: 1 }), 'SUBACK for keep-a-clean')
  const sys = await pool.connect(a.port, { clientId: 'keep-sys' })
  await within(sys.client.subscribeAsync('$SYS/cluster/backlog/messages', { qos: 0 }), 'SUBACK for $SYS')
  await settle(a.broker, b.broker)

  await server.stop()
  await until(() => a.broker.clusterState === 'disconnected' && b.broker.clusterState === 'disconnected', 'both nodes see NATS gone')
  const publisher = (await pool.connect(a.port, { clientId: 'keep-pub' })).client
  await publishNumbered(publisher, 'orders/new', 110)
  assert.deepEqual(payloads(await within(onA.waitFor(110), 'A\'s subscriber during the outage'), 'orders/new'), numbered(110))
  assert.deepEqual(payloads(await within(cleanA.inbox.waitFor(110), 'A\'s clean subscriber during the outage'), 'orders/new'), numbered(110))
  await until(() => sys.inbox.messages.some((message) => message.payload.toString() === '110'), '$SYS/cluster/backlog/messages 110')
  assert.equal(payloads(onB.messages, 'orders/new').length, 0)

  await restartNats(server.port)
  await until(() => a.broker.clusterState === 'connected' && b.broker.clusterState === 'connected', 'both nodes back')
  // Sent at once, so it waits behind the backlog: its acknowledgement too.
  await within(publisher.publishAsync('orders/end', 'after', { qos: 1 }), 'acknowledgement of the marker')
  const atB = await within(onB.waitForTopic('orders/end'), 'the marker on B')
  assert.deepEqual(payloads(atB, 'orders/new'), numbered(110))
  const atA = await within(onA.waitForTopic('orders/end'), 'the marker on A')
  assert.deepEqual(payloads(atA, 'orders/new'), numbered(110))
  await until(() => sys.inbox.messages.at(-1)?.payload.toString() === '0', '$SYS/cluster/backlog/messages back to 0')
  assert.ok(log.lines.some((line) => line.includes('the 110 QoS 1/2 messages kept while NATS was away are on the stream')), log.lines.join('\n'))
  // Nothing more came to either after the marker.
  await settle(a.broker, b.broker)
  assert.equal(onB.messages.length, atB.length)
  assert.equal(onA.messages.length, atA.length)
  // The clean subscriber's consumer (an ordered one, the node's own) comes back later after a
  // nats-server restart; the test below shows that reader passes the backlog over too.
  assert.ok(cleanA.inbox.messages.length <= 111)
})

test('past the bound the backlog keeps no more: the excess is delivered on its node only, with one log line, and the rest still crosses', async (t) => {
  const server = await startKeptNats()
  const log = new RecordingLogger()
  const a = await startNode(t, server, 'bound-a', { cluster: { servers: [server.url], backlogMessages: 5 } }, log)
  const b = await startNode(t, server, 'bound-b')
  const onB = await persistentSubscriber(b.port, 'bound-b-sub', 'meters/#')
  const onA = await persistentSubscriber(a.port, 'bound-a-sub', 'meters/#')
  await settle(a.broker, b.broker)

  await server.stop()
  await until(() => a.broker.clusterState === 'disconnected', 'A sees NATS gone')
  const publisher = (await pool.connect(a.port, { clientId: 'bound-pub' })).client
  await publishNumbered(publisher, 'meters/1', 20)
  assert.deepEqual(payloads(await within(onA.waitFor(20), 'A\'s subscriber during the outage'), 'meters/1'), numbered(20))
  assert.equal(log.lines.filter((line) => line.includes('cluster backlog bound')).length, 1, log.lines.join('\n'))

  await restartNats(server.port)
  await until(() => a.broker.clusterState === 'connected' && b.broker.clusterState === 'connected', 'both nodes back')
  await within(publisher.publishAsync('meters/end', 'after', { qos: 1 }), 'acknowledgement of the marker')
  const atB = await within(onB.waitForTopic('meters/end'), 'the marker on B')
  assert.deepEqual(payloads(atB, 'meters/1'), numbered(5))
})

test('with persistence true the backlog outlives a kill -9 of the node and reaches the other node once both are back', async (t) => {
  const server = await startKeptNats()
  const b = await startNode(t, server, 'disk-b')
  const onB = await persistentSubscriber(b.port, 'disk-b-sub', 'plant/#')
  await settle(b.broker)
  const mqttPort = await freePort()
  const conf = temp.write('disk-a.conf', [
    `listener ${mqttPort} 127.0.0.1`,
    'allow_anonymous true',
    'persistence true',
    `persistence_location ${temp.dir}/disk-a-store/`,
    `cluster_nats_url ${server.url}`,
    'cluster_node_id disk-a',
    ''
  ].join('\n'))
  const first = roost(['-c', conf])
  await first.waitForOutput('Cluster: node disk-a connected to NATS')

  await server.stop()
  await first.waitForOutput('Cluster: lost NATS')
  const publisher = (await pool.connect(mqttPort, { clientId: 'disk-pub' })).client
  await publishNumbered(publisher, 'plant/line', 30)
  await publisher.endAsync(true)
  first.kill()
  await first.exited

  await restartNats(server.port)
  await until(() => b.broker.clusterState === 'connected', 'B back')
  const second = roost(['-c', conf])
  await second.waitForOutput('30 QoS 1/2 messages kept while NATS was away are waiting for the stream')
  await second.waitForOutput('the 30 QoS 1/2 messages kept while NATS was away are on the stream')
  const atB = await within(onB.waitFor(30), 'the backlog on B')
  assert.deepEqual(payloads(atB, 'plant/line'), numbered(30))
  second.kill()
  await second.exited
})

test('a node\'s stream readers, its own and its sessions\', pass over what it sent from its backlog; other nodes read it', () => {
  const log = new RecordingLogger()
  const fromBacklog = (node: string): JsMsg => {
    const h = headers()
    h.set(QOS_HEADER, '1')
    h.set(DELIVERED_HEADER, node)
    return { subject: `${STREAM_PREFIX}orders.new`, data: Buffer.from('kept'), headers: h, timestampNanos: BigInt(Date.now()) * 1_000_000n } as unknown as JsMsg
  }
  for (const nodeStream of [true, false]) {
    const reader = new StreamReader({ nodeId: 'node-a', logger: log, maxTopicLevels: 0 }, nodeStream)
    assert.equal(reader.read(fromBacklog('node-a')), undefined)
    const elsewhere = reader.read(fromBacklog('node-b'))
    assert.equal(elsewhere?.topic, 'orders/new')
    assert.equal(elsewhere?.qos, 1)
  }
  assert.deepEqual(log.lines, [])
})

/** The backlog's writes to the store: the keys and payloads queued and dequeued, in order. */
class JournalRecord implements SessionJournal {
  readonly lines: string[] = []
  sessionSaved (record: SessionRecord): void { this.lines.push(`session ${JSON.stringify(record.clientId)}`) }
  sessionRemoved (clientId: string): void { this.lines.push(`removed ${JSON.stringify(clientId)}`) }
  subscriptionSaved (): void {}
  subscriptionRemoved (): void {}
  queued (clientId: string, entry: QueuedEntry): void { this.lines.push(`queued ${JSON.stringify(clientId)} ${entry.message.payload.toString()}`) }
  dequeued (clientId: string, entry: QueuedEntry): void { this.lines.push(`dequeued ${JSON.stringify(clientId)} ${entry.message.payload.toString()}`) }
  inflightSaved (): void {}
  inflightRemoved (): void {}
  inboundQos2Added (): void {}
  inboundQos2Removed (): void {}
}

test('the backlog journals what it keeps under a key no client id can name, lets a message go only once the stream stored it, tries again one at a time, and sends no expired message', async (t) => {
  const journal = new JournalRecord()
  const log = new RecordingLogger()
  const sent: string[] = []
  let refuse = 'm2'
  let retried: () => void = () => {}
  const backlog = new ClusterBacklog({
    logger: log,
    journal,
    stored: undefined,
    maxMessages: 0,
    maxBytes: 0,
    changed: () => {},
    retryWaitMs: 10,
    stream: () => async (message) => {
      const payload = message.payload.toString()
      sent.push(payload)
      if (payload === refuse) {
        refuse = ''
        return false
      }
      if (sent.length === 5) retried()
      return true
    }
  })
  t.after(() => { backlog.stop() })
  const message = (payload: string, expiresAt?: number): Message => ({ id: 0, topic: 'a/b', payload: Buffer.from(payload), qos: 1, retain: false, ...(expiresAt === undefined ? {} : { expiresAt }) })
  for (const payload of ['m0', 'm1', 'm2', 'm3']) assert.equal(backlog.place(message(payload), false), 'kept')
  backlog.keep(message('expired', Date.now() - 1000))
  assert.equal(backlog.messages, 5)
  const key = JSON.stringify('\u0000cluster/backlog')
  assert.deepEqual(journal.lines, [`session ${key}`, ...['m0', 'm1', 'm2', 'm3', 'expired'].map((payload) => `queued ${key} ${payload}`)])

  const again = new Promise<void>((resolve) => { retried = resolve })
  backlog.send()
  // While it is being sent, a new message waits behind it.
  assert.equal(backlog.place(message('m4'), true), 'wait')
  await within(again, 'the second sending')
  await backlog.idle()
  // The first sending: the batch (the expired message not sent); m2 refused. The second: m2 alone.
  assert.deepEqual(sent, ['m0', 'm1', 'm2', 'm3', 'm2'])
  assert.equal(backlog.messages, 0)
  assert.equal(backlog.place(message('m4'), true), 'stream')
  // m0 and m1 leave the store at once; m3 and the expired one only after m2, from the head, in order.
  assert.deepEqual(journal.lines.slice(6), ['m0', 'm1', 'm2', 'm3', 'expired'].map((payload) => `dequeued ${key} ${payload}`))
  assert.ok(log.lines.some((line) => line.includes('1 QoS 1/2 messages kept while NATS was away could not be stored on the stream yet')), log.lines.join('\n'))
})

test('while publishes under way when NATS went away are unanswered, new messages wait, then are kept after them', async (t) => {
  const journal = new JournalRecord()
  const backlog = new ClusterBacklog({ logger: new RecordingLogger(), journal, stored: undefined, maxMessages: 0, maxBytes: 0, changed: () => {}, retryWaitMs: 10, stream: () => undefined })
  t.after(() => { backlog.stop() })
  const message = (payload: string): Message => ({ id: 0, topic: 'a/b', payload: Buffer.from(payload), qos: 1, retain: false })
  let answered: () => void = () => {}
  backlog.holdUntil(async () => { await new Promise<void>((resolve) => { answered = resolve }) })
  assert.equal(backlog.place(message('late'), false), 'wait')
  // The publish under way is given up: kept first.
  backlog.keep(message('under way'))
  answered()
  await backlog.idle()
  assert.equal(backlog.place(message('late'), false), 'kept')
  const key = JSON.stringify('\u0000cluster/backlog')
  assert.deepEqual(journal.lines.slice(1), [`queued ${key} under way`, `queued ${key} late`])
})

// QoS 1 and 2 across nodes through the JetStream stream (lib/cluster/stream.ts, consumers.ts):
// every subscriber, on the publishing node too, gets each message once and in the order its
// publisher sent it; the publisher's PUBACK/PUBREC leaves only once the stream holds the message;
// MQTT 5 properties cross with it. Real nats-server -js, MQTT.js and mosquitto_pub/mosquitto_sub.
import assert from 'node:assert/strict'
import { after, afterEach, before, test } from 'node:test'
import { jetstreamManager } from '@nats-io/jetstream'
import { connect } from '@nats-io/transport-node'
import { STREAM_NAME } from '../../lib/cluster/stream'
import { ClientPool, type Inbox, subscribed } from '../clients/support'
import { ProcessPool } from '../clients/processes'
import { type NatsServer, startNatsServer } from './nats-server'
import { settle, startNode, upTo, within } from './support'

let nats: NatsServer
const pool = new ClientPool()
const processes = new ProcessPool()

before(async () => { nats = await startNatsServer() })
after(async () => { await nats.stop() })
afterEach(async () => {
  await pool.endAll()
  await processes.killAll()
})

/**
 * Topic, payload and QoS of the first `count` messages the inbox got, topic by topic: MQTT orders
 * each topic [MQTT-4.6.0-6], and MQTT.js hands a QoS 2 message over at PUBREL, a QoS 1 one at once.
 */
async function receivedByTopic (inbox: Inbox, count: number): Promise<string[]> {
  const messages = await within(inbox.waitFor(count), `${count} messages`)
  return byTopic(messages.map((message) => `${message.topic} ${message.payload.toString()} q${message.qos}`))
}

function byTopic (lines: string[]): string[] {
  const topics = [...new Set(lines.map((line) => line.split(' ')[0]))].sort()
  return topics.flatMap((topic) => lines.filter((line) => line.startsWith(`${topic} `)))
}

test('QoS 1 and 2 from one node reach subscribers on three nodes once each, in the order published', async (t) => {
  const a = await startNode(t, nats, 'qos-a')
  const b = await startNode(t, nats, 'qos-b')
  const c = await startNode(t, nats, 'qos-c')
  // Overlapping filters on B: two consumers bring each message, the subscriber gets it once [MQTT-3.3.5-1].
  const onB = await pool.connect(b.port, { clientId: 'sub-b' })
  await within(onB.client.subscribeAsync({ 'q/#': { qos: 1 }, 'q/+': { qos: 1 } }), 'SUBACK on B')
  const onC = await pool.connect(c.port, { clientId: 'sub-c', protocolVersion: 5 })
  await within(onC.client.subscribeAsync('q/#', { qos: 2 }), 'SUBACK on C')
  // A subscriber on the publishing node gets the message from the stream as well, once.
  const onA = await pool.connect(a.port, { clientId: 'sub-a' })
  await within(onA.client.subscribeAsync('q/#', { qos: 2 }), 'SUBACK on A')
  await settle(a.broker, b.broker, c.broker)

  const pub = (await pool.connect(a.port, { clientId: 'pub-a' })).client
  const sent: Array<[string, string, 1 | 2]> = []
  for (let i = 0; i < 15; i++) {
    sent.push(['q/one', `one ${i}`, 1], ['q/two', `two ${i}`, 2])
  }
  sent.push(['q/end', 'marker', 2])
  for (const [topic, payload, qos] of sent) await pub.publishAsync(topic, payload, { qos })

  const expected = (cap: 1 | 2): string[] => byTopic(sent.map(([topic, payload, qos]) => `${topic} ${payload} q${Math.min(qos, cap)}`))
  assert.deepEqual(await receivedByTopic(onB.inbox, sent.length), expected(1))
  assert.deepEqual(await receivedByTopic(onC.inbox, sent.length), expected(2))
  assert.deepEqual(await receivedByTopic(onA.inbox, sent.length), expected(2))
  // Nothing came twice: one more marker arrives right after the first.
  await pub.publishAsync('q/end', 'second marker', { qos: 1 })
  for (const inbox of [onA.inbox, onB.inbox, onC.inbox]) {
    const all = await within(inbox.waitFor(sent.length + 1), 'second marker')
    assert.equal(all.at(-1)?.payload.toString(), 'second marker')
  }
  await settle(a.broker, b.broker, c.broker)
  for (const inbox of [onA.inbox, onB.inbox, onC.inbox]) assert.equal(inbox.messages.length, sent.length + 1)
})

test('a PUBACK or PUBREC leaves only once the stream holds the message (acknowledged = stored)', async (t) => {
  const a = await startNode(t, nats, 'stored-a')
  const b = await startNode(t, nats, 'stored-b')
  const onB = await pool.connect(b.port, { clientId: 'stored-sub' })
  await within(onB.client.subscribeAsync('stored/#', { qos: 1 }), 'SUBACK')
  await settle(a.broker, b.broker)
  const nc = await connect({ servers: nats.url })
  t.after(async () => { await nc.close() })
  const jsm = await jetstreamManager(nc)
  const lastSeq = async (): Promise<number> => (await jsm.streams.info(STREAM_NAME)).state.last_seq
  const pub = (await pool.connect(a.port, { clientId: 'stored-pub' })).client
  const before = await lastSeq()
  for (let i = 1; i <= 6; i++) {
    await pub.publishAsync('stored/x', `m${i}`, { qos: i % 2 === 0 ? 2 : 1 })
    // Read after the acknowledgement: the stream already counts this message.
    assert.ok(await lastSeq() >= before + i, `message ${i} acknowledged before the stream held it`)
  }
  await pub.publishAsync('stored/end', 'marker', { qos: 1 })
  assert.deepEqual((await upTo(onB.inbox, 'stored/end')).map((message) => message.payload), ['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'marker'])
})

test('MQTT 5 properties cross nodes: content type, response topic, correlation data, user properties, payload format, expiry left', async (t) => {
  const a = await startNode(t, nats, 'props-a')
  const b = await startNode(t, nats, 'props-b')
  const { client: sub, inbox } = await pool.connect(b.port, { clientId: 'props-sub', protocolVersion: 5 })
  const packets: Array<Record<string, unknown>> = []
  sub.on('message', (_topic, _payload, packet) => { packets.push({ ...packet.properties }) })
  await within(sub.subscribeAsync('req/#', { qos: 1 }), 'SUBACK')
  await settle(a.broker, b.broker)
  const pub = (await pool.connect(a.port, { clientId: 'props-pub', protocolVersion: 5 })).client
  const properties = {
    contentType: 'application/json',
    responseTopic: 'reply/props-pub',
    correlationData: Buffer.from([0, 1, 2, 255]),
    // [MQTT-3.3.2-17] user properties keep their order, a name may come twice
    userProperties: { zone: ['north', 'south'], 'odd name: with space': 'ü' },
    payloadFormatIndicator: true,
    messageExpiryInterval: 120
  }
  for (const qos of [0, 1, 2] as const) await pub.publishAsync(`req/q${qos}`, '{"on":true}', { qos, properties })
  await within(inbox.waitFor(3), 'three requests')
  assert.deepEqual(inbox.messages.map((message) => message.topic).sort(), ['req/q0', 'req/q1', 'req/q2'])
  for (const got of packets) {
    assert.equal(got.contentType, 'application/json')
    assert.equal(got.responseTopic, 'reply/props-pub')
    assert.deepEqual(got.correlationData, Buffer.from([0, 1, 2, 255]))
    assert.deepEqual({ ...(got.userProperties as object) }, { zone: ['north', 'south'], 'odd name: with space': 'ü' })
    assert.equal(got.payloadFormatIndicator, true)
    // [MQTT-3.3.2-6] the time left, at most what was given
    const expiry = got.messageExpiryInterval as number
    assert.ok(expiry > 0 && expiry <= 120, `expiry ${expiry}`)
  }
})

test('No Local holds for a QoS 1 message that comes back to its own node through the stream', async (t) => {
  const a = await startNode(t, nats, 'nolocal-a')
  const { client, inbox } = await pool.connect(a.port, { clientId: 'nolocal-self', protocolVersion: 5 })
  await within(client.subscribeAsync('chat/#', { qos: 1, nl: true }), 'SUBACK')
  const other = await pool.connect(a.port, { clientId: 'nolocal-other', protocolVersion: 5 })
  await within(other.client.subscribeAsync('chat/#', { qos: 1 }), 'SUBACK')
  await settle(a.broker)
  await client.publishAsync('chat/room', 'mine', { qos: 1 })
  await other.client.publishAsync('chat/room', 'theirs', { qos: 1 })
  // [MQTT-3.8.3-3] not back to the publishing client; the other one gets both
  assert.deepEqual((await within(inbox.waitFor(1), 'their message')).map((message) => message.payload.toString()), ['theirs'])
  assert.deepEqual((await within(other.inbox.waitFor(2), 'both')).map((message) => message.payload.toString()), ['mine', 'theirs'])
  await settle(a.broker)
  assert.equal(inbox.messages.length, 1)
})

test('a shared subscription with members on two nodes gets each QoS 1 message once in the cluster', async (t) => {
  const a = await startNode(t, nats, 'shareq-a')
  const b = await startNode(t, nats, 'shareq-b')
  const c = await startNode(t, nats, 'shareq-c')
  const members = [await pool.connect(a.port, { clientId: 'shareq-1', protocolVersion: 5 }), await pool.connect(b.port, { clientId: 'shareq-2', protocolVersion: 5 })]
  for (const member of members) await within(member.client.subscribeAsync('$share/workers/jobs/#', { qos: 1 }), 'SUBACK')
  await settle(a.broker, b.broker, c.broker)
  const pub = (await pool.connect(c.port, { clientId: 'shareq-pub' })).client
  const jobs = Array.from({ length: 30 }, (_, i) => `job ${i}`)
  for (const job of jobs) await pub.publishAsync('jobs/new', job, { qos: 1 })
  await within(new Promise<void>((resolve) => {
    const check = (): void => {
      if (members[0]!.inbox.messages.length + members[1]!.inbox.messages.length >= jobs.length) resolve()
      else setTimeout(check, 10)
    }
    check()
  }), 'every job')
  await settle(a.broker, b.broker, c.broker)
  const got = members.flatMap((member) => member.inbox.messages.map((message) => message.payload.toString()))
  assert.deepEqual(got.sort(), [...jobs].sort())
})

test('mosquitto_pub at QoS 2 on one node, mosquitto_sub at QoS 2 on another: every line once, in order', async (t) => {
  const a = await startNode(t, nats, 'mosq-a')
  const b = await startNode(t, nats, 'mosq-b')
  const lines = ['first', 'second', 'third', 'fourth', 'fifth']
  const ready = subscribed(b.broker, 'mosq-sub')
  const sub = processes.start('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(b.port), '-i', 'mosq-sub', '-q', '2', '-t', 'lines/#', '-C', String(lines.length), '-v'])
  await within(ready, 'mosquitto_sub subscribed')
  await settle(a.broker, b.broker)
  for (const line of lines) {
    const pub = await processes.run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(a.port), '-i', 'mosq-pub', '-q', '2', '-t', 'lines/text', '-m', line])
    assert.equal(pub.code, 0, pub.stderr)
  }
  const finished = await within(sub.finished, 'mosquitto_sub')
  assert.equal(finished.stdout, lines.map((line) => `lines/text ${line}\n`).join(''))
})

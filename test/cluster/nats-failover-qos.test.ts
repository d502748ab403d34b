// A three-server NATS cluster under two Roost nodes with replicas 3 (the stream ROOST_QOS and the
// buckets kept on every NATS server): killing the server that leads the stream, while an MQTT.js
// publisher on node A sends QoS 1 (then QoS 2) messages with several in flight, costs a leader
// election and loses nothing acknowledged: every message whose PUBACK (PUBCOMP) the publisher
// received reaches a persistent and a non-persistent subscriber on node B, in the order sent for
// what arrives once. QoS 1 may bring duplicates [MQTT-4.3.2] (counted and reported); QoS 2 none
// [MQTT-4.3.3].
// The non-persistent subscriber's messages come through node B's ordered consumer, ephemeral and
// kept on one NATS server: when that server is the one killed, the consumer is made again from the
// next sequence (consumers.ts), but the stream (interest retention) may have let go meanwhile of
// messages no other consumer wanted, and the remade consumer does not always resume. What it
// receives is counted and reported, and must come once (QoS 2) and in order; the persistent
// session's durable consumer, replicated with the stream, must lose nothing.
import assert from 'node:assert/strict'
import { test, type TestContext } from 'node:test'
import type { Inbox } from '../clients/support'
import { jetStreamReady, type NatsServer, startNatsCluster, streamState } from './nats-server'
import { natsServersPerTest, settle, startNode, until, within } from './support'

/** Messages the publisher sends in all; the kill comes after the first KILL_AFTER are acknowledged. */
const TOTAL = 300
const KILL_AFTER = 80
/** Publishes waiting for their acknowledgement at once. */
const WINDOW = 10
const TOPIC = 'load/failover'

const { pool, servers: started } = natsServersPerTest()

interface Outcome {
  acknowledged: Set<number>
  /** What each subscriber received, in arrival order. */
  received: Map<string, number[]>
}

/** Starts the NATS cluster and the two nodes, kills the stream's leader under load at `qos`, and returns what was acknowledged and received. */
async function failoverUnderLoad (t: TestContext, qos: 1 | 2, prefix: string): Promise<Outcome> {
  const servers = await startNatsCluster(3)
  started.push(...servers)
  await jetStreamReady(servers)
  const urls = servers.map((server) => server.url)
  const a = await startNode(t, servers[0] as NatsServer, `${prefix}-a`, { cluster: { servers: urls, replicas: 3 } })
  const b = await startNode(t, servers[0] as NatsServer, `${prefix}-b`, { cluster: { servers: [...urls].reverse(), replicas: 3 } })
  const before = await streamState(servers, 'ROOST_QOS')
  assert.equal(before.replicas, 3)

  const inboxes = new Map<string, Inbox>()
  for (const clean of [false, true]) {
    const clientId = `${prefix}-${clean ? 'plain' : 'persistent'}`
    const { client, inbox } = await pool.connect(b.port, { clientId, clean, protocolVersion: 4 })
    await within(client.subscribeAsync(TOPIC, { qos }), `SUBACK for ${clientId}`)
    inboxes.set(clientId, inbox)
  }
  await settle(a.broker, b.broker)
  const { client: publisher } = await pool.connect(a.port, { clientId: `${prefix}-pub`, protocolVersion: 4 })
  // Interest crosses NATS routes on its own time: a first message both subscribers have opens the run.
  for (let attempt = 0; attempt < 100 && [...inboxes.values()].some((inbox) => inbox.messages.length === 0); attempt++) {
    await within(publisher.publishAsync(TOPIC, '-1', { qos }), 'acknowledgement of the opening message')
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  for (const inbox of inboxes.values()) assert.ok(inbox.messages.length > 0, 'the opening message crossed')
  const opened = new Map([...inboxes].map(([id, inbox]) => [id, inbox.messages.length]))

  const acknowledged = new Set<number>()
  let next = 0
  const sendFrom = async (): Promise<void> => {
    while (next < TOTAL) {
      const n = next++
      await publisher.publishAsync(TOPIC, String(n), { qos })
      acknowledged.add(n)
    }
  }
  const senders = Array.from({ length: WINDOW }, async () => { await sendFrom() })
  await until(() => acknowledged.size >= KILL_AFTER, `${KILL_AFTER} acknowledgements before the kill`)
  const { leader } = await streamState(servers, 'ROOST_QOS')
  await leader.stop()
  // Every publish is acknowledged in the end: stored by the stream once it has a new leader.
  await within(Promise.all(senders), `acknowledgements of all ${TOTAL} messages`)
  const survivors = servers.filter((server) => server !== leader)
  const after = await streamState(survivors, 'ROOST_QOS')
  assert.notEqual(after.leader, leader)

  // The persistent session's durable consumer, replicated with the stream, has every acknowledged message.
  const persistent = inboxes.get(`${prefix}-persistent`) as Inbox
  const numbers = (clientId: string): number[] => (inboxes.get(clientId) as Inbox).messages.slice(opened.get(clientId)).map((message) => Number(message.payload.toString())).filter((n) => n >= 0)
  const arrived = (): boolean => { const got = new Set(numbers(`${prefix}-persistent`)); return [...acknowledged].every((n) => got.has(n)) }
  // Pulls resume after a few missed heartbeats, slower on a loaded machine: three waits at most.
  for (let wait = 1; wait < 3 && !(await until(arrived, 'a first wait').then(() => true, () => false)); wait++);
  await until(arrived, `the acknowledged messages at ${prefix}-persistent (${persistent.messages.length} received)`)
  const received = new Map<string, number[]>()
  for (const clientId of inboxes.keys()) received.set(clientId, numbers(clientId))
  return { acknowledged, received }
}

/** Messages that arrived more than once, and the order of the first arrivals. */
function tally (numbers: number[]): { duplicates: number, firstArrivals: number[] } {
  const seen = new Set<number>()
  const firstArrivals: number[] = []
  for (const n of numbers) {
    if (seen.has(n)) continue
    seen.add(n)
    firstArrivals.push(n)
  }
  return { duplicates: numbers.length - firstArrivals.length, firstArrivals }
}

test('QoS 1: killing the stream leader under load loses no acknowledged message for a persistent session; order kept', async (t) => {
  const { acknowledged, received } = await failoverUnderLoad(t, 1, 'fq1')
  assert.equal(acknowledged.size, TOTAL)
  for (const [clientId, numbers] of received) {
    const { duplicates, firstArrivals } = tally(numbers)
    t.diagnostic(`${clientId}: ${firstArrivals.length} of ${TOTAL} acknowledged received, ${duplicates} duplicate(s)`)
    assert.deepEqual(firstArrivals, [...firstArrivals].sort((x, y) => x - y), `${clientId} receives in the order sent`)
  }
})

test('QoS 2: killing the stream leader under load loses no acknowledged message for a persistent session and duplicates none', async (t) => {
  const { acknowledged, received } = await failoverUnderLoad(t, 2, 'fq2')
  assert.equal(acknowledged.size, TOTAL)
  const all = [...acknowledged].sort((x, y) => x - y)
  assert.deepEqual(received.get('fq2-persistent'), all, 'the persistent session receives each once, in the order sent')
  const plain = received.get('fq2-plain') ?? []
  t.diagnostic(`fq2-plain: ${plain.length} of ${TOTAL} acknowledged received`)
  assert.deepEqual(plain, [...new Set(plain)].sort((x, y) => x - y), 'the other subscriber receives each once at most, in the order sent')
})

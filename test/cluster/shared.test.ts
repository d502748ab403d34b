// Shared subscriptions across the cluster (MQTT 5.0, 4.8.2): members of `$share/<group>/<filter>` on
// several nodes form one NATS queue group, so each message reaches one member in the whole
// cluster; ordinary subscribers still get every message. MQTT.js clients, MQTT 5.
import assert from 'node:assert/strict'
import { after, afterEach, before, test } from 'node:test'
import type { RunningBroker } from '../clients/support'
import { ClientPool, type Inbox } from '../clients/support'
import { type NatsServer, startNatsServer } from './nats-server'
import { settle, startNode, until, within } from './support'

let nats: NatsServer
const pool = new ClientPool()

before(async () => { nats = await startNatsServer() })
after(async () => { await nats.stop() })
afterEach(async () => { await pool.endAll() })

async function member (node: RunningBroker, clientId: string, filters: string[]): Promise<Inbox> {
  const { client, inbox } = await pool.connect(node.port, { clientId, protocolVersion: 5 })
  await within(client.subscribeAsync(filters, { qos: 0 }), `SUBACK for ${clientId}`)
  return inbox
}

/** Every message each inbox got on `topic` until the in-process marker 'end' reached it. */
async function jobsBeforeMarker (nodes: RunningBroker[], inboxes: Inbox[], topic: string): Promise<string[][]> {
  await settle(...nodes.map((node) => node.broker))
  for (const node of nodes) node.broker.publish({ topic: 'end', payload: 'marker' })
  const lists: string[][] = []
  for (const inbox of inboxes) {
    const messages = await within(inbox.waitForTopic('end'), 'marker')
    lists.push(messages.filter((message) => message.topic === topic).map((message) => message.payload.toString()))
  }
  return lists
}

test('members of one shared subscription on two nodes get each message once between them', async (t) => {
  const a = await startNode(t, nats, 'share-a')
  const b = await startNode(t, nats, 'share-b')
  const onA = await member(a, 'worker-a', ['$share/workers/jobs/+', 'end'])
  const onB = await member(b, 'worker-b', ['$share/workers/jobs/+', 'end'])
  const watcher = await member(b, 'watcher', ['jobs/#', 'end'])
  await settle(a.broker, b.broker)
  const count = 40
  const pub = (await pool.connect(a.port, { clientId: 'job-pub', protocolVersion: 5 })).client
  for (let i = 0; i < count; i++) await pub.publishAsync('jobs/print', String(i))
  await until(() => onA.messages.length + onB.messages.length >= count, `${count} jobs`)
  const [gotA = [], gotB = [], watched = []] = await jobsBeforeMarker([a, b], [onA, onB, watcher], 'jobs/print')
  const all = [...gotA, ...gotB].map(Number).sort((x, y) => x - y)
  assert.deepEqual(all, Array.from({ length: count }, (_, i) => i), 'each message once across the group')
  // NATS picks a queue member at random: with 40 messages both nodes get some (all on one: odds 2^-39)
  assert.ok(gotA.length > 0 && gotB.length > 0, `spread: ${gotA.length} on A, ${gotB.length} on B`)
  assert.equal(watched.length, count, 'an ordinary subscriber gets every message')
})

test('a group whose members are all on the publishing node still gets each message once', async (t) => {
  const a = await startNode(t, nats, 'share-local')
  const first = await member(a, 'local-1', ['$share/solo/tasks/#', 'end'])
  const second = await member(a, 'local-2', ['$share/solo/tasks/#', 'end'])
  await settle(a.broker)
  const pub = (await pool.connect(a.port, { clientId: 'task-pub', protocolVersion: 5 })).client
  for (let i = 0; i < 10; i++) await pub.publishAsync('tasks/t', String(i))
  await until(() => first.messages.length + second.messages.length >= 10, 'ten tasks')
  const [one = [], two = []] = await jobsBeforeMarker([a], [first, second], 'tasks/t')
  assert.deepEqual([...one, ...two].map(Number).sort((x, y) => x - y), Array.from({ length: 10 }, (_, i) => i))
})

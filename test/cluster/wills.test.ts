// Wills of a node that dies (lib/cluster/wills.ts, membership.ts): a `roost` process is killed
// with SIGKILL while its client, which left a will, is connected; the survivors (two Roost nodes)
// see its heartbeat stop, one of them claims the will in the bucket and publishes it: a subscriber
// on each survivor gets it once. Real nats-server -js, MQTT.js clients.
import assert from 'node:assert/strict'
import { after, type TestContext, test } from 'node:test'
import type { IClientOptions, MqttClient } from 'mqtt'
import { connect } from '@nats-io/transport-node'
import type { KV } from '@nats-io/kv'
import { BUCKETS, openBucket } from '../../lib/cluster/buckets'
import { freePort, makeTempDir, type RoostProcess, roostPerTest } from '../cli/helpers'
import type { Inbox, RunningBroker } from '../clients/support'
import { RecordingLogger } from '../helpers/broker'
import { clusterPerTest, until, upTo, within } from './support'

const temp = makeTempDir()
const roost = roostPerTest()
const { cluster, pool } = clusterPerTest()
after(() => { temp.remove() })

/** A `roost` process in the cluster, as a separate node that can be killed. */
async function startRoostNode (nodeId: string): Promise<{ port: number, child: RoostProcess }> {
  const port = await freePort()
  const conf = temp.write(`${nodeId}.conf`, `listener ${port} 127.0.0.1\nallow_anonymous true\ncluster_nats_url ${cluster.nats.url}\ncluster_node_id ${nodeId}\n`)
  const child = roost(['-c', conf])
  await child.waitForOutput(`Cluster: node ${nodeId} connected to NATS`)
  return { port, child }
}

/** The wills bucket, through a NATS connection of the test's own. */
async function willsBucket (t: TestContext): Promise<KV> {
  const nc = await connect({ servers: cluster.nats.url })
  t.after(async () => { await nc.close() })
  return await openBucket(nc, BUCKETS.wills)
}

/** Keys of the wills bucket under `prefix`; bounded by within(). */
async function willKeys (wills: KV, prefix: string): Promise<string[]> {
  return await within((async () => {
    const keys: string[] = []
    for await (const key of await wills.keys(`${prefix}.>`)) keys.push(key)
    return keys.sort()
  })(), `keys of the wills bucket under ${prefix}`)
}

/** Resolves once the wills bucket holds exactly `expected` under `prefix`, looked at every 20 ms. */
async function untilWillKeys (wills: KV, prefix: string, expected: string[]): Promise<void> {
  await within((async () => {
    while (JSON.stringify(await willKeys(wills, prefix)) !== JSON.stringify(expected)) await new Promise((resolve) => setTimeout(resolve, 20))
  })(), `wills bucket under ${prefix} holding ${expected.join(', ')}`)
}

/** Subscribes a watcher on each node to `filters`. */
async function watchersOn (nodes: RunningBroker[], filters: string[]): Promise<Array<{ client: MqttClient, inbox: Inbox }>> {
  const watchers = await Promise.all(nodes.map(async (node, index) => {
    const { client, inbox } = await pool.connect(node.port, { clientId: `will-watcher-${index}` })
    await client.subscribeAsync(filters, { qos: 1 })
    return { client, inbox }
  }))
  for (const node of nodes) await node.broker.clusterSync()
  return watchers
}

test('kill -9 of a roost node: its client\'s will reaches a subscriber on each surviving node exactly once; a client that said DISCONNECT leaves none', async (t) => {
  const wills = await willsBucket(t)
  const dying = await startRoostNode('dying')
  // sys_interval on: the survivors' $SYS/cluster view tells when each has seen the node go.
  const b = await cluster.node('survivor-b', { sysIntervalSec: 1 })
  const c = await cluster.node('survivor-c', { sysIntervalSec: 1 })
  const watchers = await watchersOn([b, c], ['wills/#', '$SYS/cluster/nodes/dying/state'])
  await pool.connect(dying.port, { clientId: 'sensor-7', will: { topic: 'wills/sensor-7', payload: Buffer.from('offline'), qos: 1, retain: false } })
  const polite = (await pool.connect(dying.port, { clientId: 'polite', will: { topic: 'wills/polite', payload: Buffer.from('not sent'), qos: 1, retain: false } })).client
  await untilWillKeys(wills, 'dying', ['dying.polite', 'dying.sensor-7'])
  // [MQTT-3.1.2-10] DISCONNECT discards the will: its key goes.
  await polite.endAsync()
  await untilWillKeys(wills, 'dying', ['dying.sensor-7'])

  dying.child.kill()
  await dying.child.exited
  for (const [index, { inbox }] of watchers.entries()) {
    const seen = (): string[] => inbox.messages.map((message) => `${message.topic}=${message.payload.toString()}`)
    // Both survivors have seen the node go (its key deleted) once each shows it down.
    await until(() => seen().includes('$SYS/cluster/nodes/dying/state=down'), `survivor ${index} sees the node down`)
  }
  await until(() => watchers.every(({ inbox }) => inbox.messages.some((message) => message.topic === 'wills/sensor-7')), 'will on both survivors')
  // After every survivor has handled the death: a marker, and nothing but the will came before it.
  await watchers[0]?.client.publishAsync('wills/marker', 'end', { qos: 1 })
  for (const { inbox } of watchers) {
    const messages = (await upTo(inbox, 'wills/marker')).filter((message) => message.topic.startsWith('wills/'))
    assert.deepEqual(messages, [{ topic: 'wills/sensor-7', payload: 'offline' }, { topic: 'wills/marker', payload: 'end' }])
  }
  // The claim emptied the dead node's part of the bucket.
  assert.deepEqual(await willKeys(wills, 'dying'), [])
})

test('a dead node\'s delayed wills: sent after the Will Delay Interval, unless the client connected again on a live node in time', async (t) => {
  const wills = await willsBucket(t)
  const dying = await startRoostNode('dying-delay')
  const log = new RecordingLogger()
  const b = await cluster.node('delay-b', {}, log)
  const [watcher] = await watchersOn([b], ['wills/#'])
  const delayed = { protocolVersion: 5 as const, clean: false, properties: { sessionExpiryInterval: 600 } }
  const will = (name: string): IClientOptions['will'] => ({ topic: `wills/${name}`, payload: Buffer.from(`${name} is gone`), qos: 1, retain: false, properties: { willDelayInterval: 1 } })
  await pool.connect(dying.port, { ...delayed, clientId: 'stays-away', will: will('stays-away') })
  await pool.connect(dying.port, { ...delayed, clientId: 'comes-back', will: will('comes-back') })
  await untilWillKeys(wills, 'dying-delay', ['dying-delay.comes-back', 'dying-delay.stays-away'])
  dying.child.kill()
  await dying.child.exited
  // Back on a live node before its delay is over [MQTT-3.1.3-9].
  await pool.connect(b.port, { ...delayed, clientId: 'comes-back' })
  await within(watcher?.inbox.waitForTopic('wills/stays-away') ?? Promise.reject(new Error('no watcher')), 'will of stays-away')
  await until(() => log.lines.some((line) => line.startsWith('Will of comes-back (node dying-delay) not sent')), 'will of comes-back settled')
  await watcher?.client.publishAsync('wills/marker', 'end', { qos: 1 })
  const messages = (await upTo(watcher?.inbox as Inbox, 'wills/marker'))
  assert.deepEqual(messages, [{ topic: 'wills/stays-away', payload: 'stays-away is gone' }, { topic: 'wills/marker', payload: 'end' }])
})

test('a node that shuts down leaves its delayed wills to the survivors, who send them when due', async () => {
  const a = await cluster.node('leaving-a')
  const b = await cluster.node('staying-b')
  const [watcher] = await watchersOn([b], ['wills/#'])
  await pool.connect(a.port, {
    clientId: 'slow-goodbye',
    protocolVersion: 5,
    clean: false,
    properties: { sessionExpiryInterval: 600 },
    will: { topic: 'wills/slow-goodbye', payload: Buffer.from('gone'), qos: 1, retain: false, properties: { willDelayInterval: 1 } }
  })
  // Its connection ends with the node; its will waits out its delay (MQTT 5.0, 3.1.3.2.2), on B.
  await a.broker.close()
  const [message] = await within(watcher?.inbox.waitFor(1) ?? Promise.reject(new Error('no watcher')), 'delayed will from B')
  assert.deepEqual([message?.topic, message?.payload.toString()], ['wills/slow-goodbye', 'gone'])
})

// Wills of a node that dies (lib/cluster/wills.ts, membership.ts): a `roost` process is killed
// with SIGKILL while its client, which left a will, is connected; the survivors (two Roost nodes)
// see its heartbeat stop, one of them claims the will in the bucket and publishes it: a subscriber
// on each survivor gets it once. Real nats-server -js, MQTT.js clients.
import assert from 'node:assert/strict'
import { after, afterEach, beforeEach, test } from 'node:test'
import { connect } from '@nats-io/transport-node'
import { BUCKETS, openBucket } from '../../lib/cluster/buckets'
import { freePort, makeTempDir, roostPerTest } from '../cli/helpers'
import { ClientPool } from '../clients/support'
import { PerTestCluster, until, upTo, within } from './support'

const temp = makeTempDir()
const roost = roostPerTest()
const pool = new ClientPool()
const cluster = new PerTestCluster()
after(() => { temp.remove() })
beforeEach(async () => { await cluster.start() })
afterEach(async () => {
  await pool.endAll()
  await cluster.stop()
})

test('kill -9 of a roost node: its client\'s will reaches a subscriber on each surviving node exactly once', async (t) => {
  const nats = cluster.nats
  const port = await freePort()
  const conf = temp.write('dying.conf', `listener ${port} 127.0.0.1\nallow_anonymous true\ncluster_nats_url ${nats.url}\ncluster_node_id dying\n`)
  const dying = roost(['-c', conf])
  await dying.waitForOutput('Cluster: node dying connected to NATS')
  // sys_interval on: the survivors' $SYS/cluster view tells when each has seen the node go.
  const b = await cluster.node('survivor-b', { sysIntervalSec: 1 })
  const c = await cluster.node('survivor-c', { sysIntervalSec: 1 })
  const watchers = await Promise.all([b, c].map(async (node, index) => {
    const { client, inbox } = await pool.connect(node.port, { clientId: `will-watcher-${index}` })
    await client.subscribeAsync(['wills/#', '$SYS/cluster/nodes/dying/state'], { qos: 1 })
    return { client, inbox }
  }))
  await b.broker.clusterSync()
  await c.broker.clusterSync()

  await pool.connect(port, { clientId: 'sensor-7', will: { topic: 'wills/sensor-7', payload: Buffer.from('offline'), qos: 1, retain: false } })
  // The will is in the bucket before the node dies.
  const nc = await connect({ servers: nats.url })
  t.after(async () => { await nc.close() })
  const wills = await openBucket(nc, BUCKETS.wills)
  await within((async () => {
    for (;;) {
      const keys: string[] = []
      for await (const key of await wills.keys('dying.>')) keys.push(key)
      if (keys.includes('dying.sensor-7')) return
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  })(), 'will of sensor-7 in the bucket')

  dying.kill()
  await dying.exited
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
  const left: string[] = []
  for await (const key of await wills.keys('dying.>')) left.push(key)
  assert.deepEqual(left, [])
})

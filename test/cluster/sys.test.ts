// The cluster view in $SYS (lib/cluster/sys.ts): nodes up, each node's state and clients, the
// clients of the whole cluster, this node's id and link. Real nats-server -js, two Roost nodes,
// an MQTT.js subscriber to $SYS/cluster/#.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { clusterPerTest, until, within } from './support'

const { cluster, pool } = clusterPerTest()

test('$SYS/cluster shows the nodes up, their clients and the cluster total; a node that shuts down shows down', async () => {
  const a = await cluster.node('sys-a', { sysIntervalSec: 1 })
  const b = await cluster.node('sys-b', { sysIntervalSec: 1 })
  const { client, inbox } = await pool.connect(a.port, { clientId: 'sys-watcher' })
  await client.subscribeAsync('$SYS/cluster/#')
  await pool.connect(b.port, { clientId: 'sys-client-1' })
  await pool.connect(b.port, { clientId: 'sys-client-2' })
  // The latest value of each topic, as a subscriber sees it.
  const view = (): Map<string, string> => new Map(inbox.messages.map((message) => [message.topic, message.payload.toString()]))
  const shows = (expected: Record<string, string>): boolean => {
    const current = view()
    return Object.entries(expected).every(([topic, value]) => current.get(`$SYS/cluster/${topic}`) === value)
  }
  const both = {
    node: 'sys-a',
    state: 'connected',
    nodes: '2',
    'nodes/sys-a/state': 'up',
    'nodes/sys-a/clients/connected': '1',
    'nodes/sys-b/state': 'up',
    'nodes/sys-b/clients/connected': '2',
    'clients/connected': '3'
  }
  await until(() => shows(both), `$SYS/cluster showing ${JSON.stringify(both)}`)
  // $SYS stays per node: B's subscribers see B's own view, which names B.
  const onB = await pool.connect(b.port, { clientId: 'sys-watcher-b' })
  await onB.client.subscribeAsync('$SYS/cluster/node')
  const [own] = await within(onB.inbox.waitFor(1), '$SYS/cluster/node on B')
  assert.equal(own?.payload.toString(), 'sys-b')
  await b.broker.close()
  const alone = { nodes: '1', 'nodes/sys-b/state': 'down', 'nodes/sys-b/clients/connected': '0', 'clients/connected': '1' }
  await until(() => shows(alone), `$SYS/cluster showing ${JSON.stringify(alone)}`)
})

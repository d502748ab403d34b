// The cluster from a config file: Roost's own words cluster_nats_url and cluster_node_id, checked
// line by line as every word is; then two `roost` processes on one nats-server, driven by
// mosquitto_pub and mosquitto_sub.
import assert from 'node:assert/strict'
import { after, afterEach, before, describe, it } from 'node:test'
import { readMosquittoConf } from '../../lib/config/mosquitto-conf'
import { freePort, makeTempDir, roostPerTest } from '../cli/helpers'
import { ProcessPool } from '../clients/processes'
import { type NatsServer, startNatsServer } from './nats-server'
import { assertConfRefused, crossWithMosquitto } from './support'

const temp = makeTempDir()
after(() => temp.remove())

describe('cluster words in a config file', () => {
  it('reads cluster_nats_url (one server a line) and cluster_node_id', () => {
    const file = temp.write('cluster.conf', 'cluster_nats_url nats://10.0.0.1:4222\ncluster_nats_url tls://nats.example:4443\ncluster_node_id edge-1\n')
    assert.deepEqual(readMosquittoConf(file).options.cluster, { servers: ['nats://10.0.0.1:4222', 'tls://nats.example:4443'], nodeId: 'edge-1' })
  })

  it('reads the bound of the backlog kept while NATS is away: cluster_backlog_messages and cluster_backlog_bytes', () => {
    const file = temp.write('backlog.conf', 'cluster_nats_url nats://10.0.0.1:4222\ncluster_backlog_messages 5000\ncluster_backlog_bytes 0\n')
    assert.deepEqual(readMosquittoConf(file).options.cluster, { servers: ['nats://10.0.0.1:4222'], backlogMessages: 5000, backlogBytes: 0 })
  })

  it('reads cluster_replicas', () => {
    const file = temp.write('replicas.conf', 'cluster_nats_url nats://10.0.0.1:4222\ncluster_replicas 3\n')
    assert.deepEqual(readMosquittoConf(file).options.cluster, { servers: ['nats://10.0.0.1:4222'], replicas: 3 })
  })

  for (const [name, text, expected] of [
    ['no replica', 'cluster_nats_url nats://a\ncluster_replicas 0\n', "2: 'cluster_replicas 0': cluster.replicas must be >= 1"],
    ['more replicas than JetStream keeps', 'cluster_nats_url nats://a\ncluster_replicas 6\n', "2: 'cluster_replicas 6': cluster.replicas must be <= 5"],
    ['replicas that are not a number', 'cluster_nats_url nats://a\ncluster_replicas three\n', "2: 'cluster_replicas' needs a whole number, not 'three'"],
    ['a URL that is not nats:// or tls://', 'cluster_nats_url http://10.0.0.1\n', "1: 'cluster_nats_url http://10.0.0.1': cluster.servers.0 must match pattern"],
    ['a node id with a separator', 'cluster_nats_url nats://a\ncluster_node_id edge/1\n', "2: 'cluster_node_id edge/1': cluster.nodeId must match pattern"],
    ['cluster_nats_url without a value', 'cluster_nats_url\n', "1: 'cluster_nats_url' needs a value"],
    ['a node id without a server', 'cluster_node_id edge-1\n', "'cluster_node_id' needs a 'cluster_nats_url' line"],
    ['a backlog bound that is no whole number', 'cluster_nats_url nats://a\ncluster_backlog_messages many\n', "'cluster_backlog_messages' needs a whole number, not 'many'"],
    ['a negative backlog bound', 'cluster_nats_url nats://a\ncluster_backlog_bytes -1\n', "2: 'cluster_backlog_bytes -1': cluster.backlogBytes must be >= 0"]
  ] as const) {
    it(`refuses ${name}, naming the line`, () => {
      const file = temp.write(`bad-${name.length}.conf`, text)
      assertConfRefused(file, expected)
    })
  }
})

describe('two roost processes on one nats-server', () => {
  let nats: NatsServer
  const roost = roostPerTest()
  const processes = new ProcessPool()
  before(async () => { nats = await startNatsServer() })
  after(async () => { await nats.stop() })
  afterEach(async () => { await processes.killAll() })

  it('a mosquitto_pub to one reaches a mosquitto_sub on the other', async () => {
    const ports = [await freePort(), await freePort()]
    const nodes = ports.map((port, index) => {
      const conf = temp.write(`node-${index}.conf`, `listener ${port} 127.0.0.1\nallow_anonymous true\ncluster_nats_url ${nats.url}\ncluster_node_id cmd-${index}\n`)
      return roost(['-c', conf])
    })
    for (const [index, node] of nodes.entries()) await node.waitForOutput(`Cluster: node cmd-${index} connected to NATS`)
    const finished = await crossWithMosquitto(processes, ports[0] as number, ports[1] as number, 'cmd')
    assert.equal(finished.stdout, 'site/pump/state running\n')
  })
})

// How many NATS servers keep Roost's stream and buckets (cluster.replicas, `cluster_replicas`),
// against real nats-server processes: made with the count asked for on a three-server NATS
// cluster, changed in place by a node asking for another, and refused with a clear log line by a
// single nats-server.
import assert from 'node:assert/strict'
import { afterEach, test } from 'node:test'
import { RecordingLogger } from '../helpers/broker'
import { jetStreamReady, type NatsServer, startNatsCluster, startNatsServer, streamState } from './nats-server'
import { startNode, until } from './support'

const BUCKET_STREAMS = ['KV_roost_retained', 'KV_roost_clients', 'KV_roost_wills', 'KV_roost_nodes', 'KV_ROOST_SESSION_SUBS']

let servers: NatsServer[] = []
afterEach(async () => {
  await Promise.all(servers.map(async (server) => { await server.stop() }))
  servers = []
})

test('replicas 3 on a three-server NATS cluster: the stream and every bucket on three servers; a node asking for 2 brings them to 2', async (t) => {
  servers = await startNatsCluster(3)
  await jetStreamReady(servers)
  const urls = servers.map((server) => server.url)
  const a = await startNode(t, servers[0] as NatsServer, 'rep-a', { cluster: { servers: urls, replicas: 3 } })
  await a.broker.clusterSync()
  for (const stream of ['ROOST_QOS', ...BUCKET_STREAMS]) assert.equal((await streamState(servers, stream)).replicas, 3, stream)

  const log = new RecordingLogger()
  const b = await startNode(t, servers[1] as NatsServer, 'rep-b', { cluster: { servers: urls, replicas: 2 } }, log)
  await b.broker.clusterSync()
  await until(() => log.lines.some((line) => line === 'Cluster: JetStream now keeps ROOST_QOS on 2 NATS server(s) instead of 3.'), 'the log of the change')
  assert.equal((await streamState(servers, 'ROOST_QOS')).replicas, 2)
})

test('replicas 3 on a single nats-server: JetStream refuses, and the log says why', async (t) => {
  servers = [await startNatsServer()]
  const log = new RecordingLogger()
  const node = await startNode(t, servers[0] as NatsServer, 'rep-single', { cluster: { servers: [(servers[0] as NatsServer).url], replicas: 3 } }, log)
  await until(() => log.lines.some((line) => line.includes('cannot make stream ROOST_QOS with 3 replica(s): replicas > 1 not supported in non-clustered mode')), 'the stream refused')
  await until(() => log.lines.some((line) => line.includes('cannot make bucket roost_retained with 3 replica(s)')), 'the buckets refused')
  // Routing goes on without them.
  assert.equal(node.broker.clusterState, 'connected')
})

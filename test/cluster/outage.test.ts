// NATS unreachable: a node keeps serving its own clients, says so in its log, and joins the cluster
// when NATS comes up, with the subscriptions its clients made meanwhile.
import assert from 'node:assert/strict'
import { afterEach, test, type TestContext } from 'node:test'
import { freePort } from '../client/helpers'
import { ClientPool, type RunningBroker } from '../clients/support'
import { RecordingLogger } from '../helpers/broker'
import { type NatsServer, startNatsServer } from './nats-server'
import { settle, startNode, subscribeAll, until, upTo, within } from './support'

const pool = new ClientPool()
let nats: NatsServer | undefined
afterEach(async () => {
  await pool.endAll()
  await nats?.stop()
  nats = undefined
})

test('a node started while NATS is down serves its own clients, then joins the cluster when NATS comes up', async (t) => {
  const port = await freePort()
  const url = `nats://127.0.0.1:${port}`
  const log = new RecordingLogger()
  const offline = { url, port, mqttPort: undefined, monitorPort: undefined, stop: async () => {} }
  const a = await startNode(t, offline, 'late-a', {}, log)
  assert.equal(a.broker.clusterState, 'disconnected')
  assert.ok(log.lines.some((line) => line.startsWith(`Cluster: cannot reach NATS at ${url}`)), log.lines.join('\n'))
  const onA = await subscribeAll(pool, a.port, ['news/#'], 'late-sub')
  const localPub = (await pool.connect(a.port, { clientId: 'local-pub' })).client
  await localPub.publishAsync('news/local', 'served alone')
  assert.deepEqual(await upTo(onA, 'news/local'), [{ topic: 'news/local', payload: 'served alone' }])

  nats = await startNatsServer({ port })
  await until(() => a.broker.clusterState === 'connected', 'node A connected')
  const b = await startNode(t, nats, 'late-b')
  await settle(a.broker, b.broker)
  const remotePub = (await pool.connect(b.port, { clientId: 'remote-pub' })).client
  await remotePub.publishAsync('news/remote', 'across the cluster')
  assert.deepEqual((await upTo(onA, 'news/remote')).slice(1), [{ topic: 'news/remote', payload: 'across the cluster' }])
})

test('NATS going away and coming back: each node serves its own clients meanwhile, then the cluster carries messages again', async (t) => {
  const port = await freePort()
  nats = await startNatsServer({ port })
  const log = new RecordingLogger()
  const a = await startNode(t, nats, 'restart-a', {}, log)
  const b = await startNode(t, nats, 'restart-b')
  const onA = await subscribeAll(pool, a.port, ['feed/#'], 'restart-sub')
  await settle(a.broker, b.broker)
  await nats.stop()
  await until(() => a.broker.clusterState === 'disconnected' && b.broker.clusterState === 'disconnected', 'both nodes see NATS gone')
  assert.ok(log.lines.some((line) => line.startsWith('Cluster: lost NATS')), log.lines.join('\n'))
  const localPub = (await pool.connect(a.port, { clientId: 'restart-local' })).client
  await localPub.publishAsync('feed/local', 'while NATS is away')
  assert.deepEqual(await upTo(onA, 'feed/local'), [{ topic: 'feed/local', payload: 'while NATS is away' }])

  nats = await startNatsServer({ port })
  await until(() => a.broker.clusterState === 'connected' && b.broker.clusterState === 'connected', 'both nodes back')
  await settle(a.broker, b.broker)
  const remotePub = (await pool.connect(b.port, { clientId: 'restart-remote' })).client
  await remotePub.publishAsync('feed/remote', 'after NATS came back')
  assert.deepEqual((await upTo(onA, 'feed/remote')).slice(1), [{ topic: 'feed/remote', payload: 'after NATS came back' }])
})

/** Nodes A and B on this test's NATS (B logging to `logB`), and a persistent session `clientId` left offline on A. */
async function sessionLeftOnA (t: TestContext, prefix: string, clientId: string, logB: RecordingLogger): Promise<{ a: RunningBroker, b: RunningBroker }> {
  nats = await startNatsServer()
  const a = await startNode(t, nats, `${prefix}-a`)
  const b = await startNode(t, nats, `${prefix}-b`, {}, logB)
  const first = await pool.connect(a.port, { clientId, clean: false, protocolVersion: 4 })
  await within(first.client.subscribeAsync('kept/#', { qos: 1 }), 'SUBACK on A')
  await settle(a.broker)
  await first.client.endAsync()
  await until(() => a.broker.clientCount === 0, 'offline on A')
  await settle(a.broker, b.broker)
  return { a, b }
}

test('NATS out of reach: a persistent client\'s CONNACK says what its node knows of the session, and the log says why', async (t) => {
  const logB = new RecordingLogger()
  const { a, b } = await sessionLeftOnA(t, 'present', 'present-keeper', logB)
  await (nats as NatsServer).stop()
  await until(() => a.broker.clusterState === 'disconnected' && b.broker.clusterState === 'disconnected', 'both nodes see NATS gone')
  // Node A kept the session itself [MQTT-3.2.2-2].
  assert.equal((await pool.connect(a.port, { clientId: 'present-keeper', clean: false, protocolVersion: 4 })).sessionPresent, true)
  // Node B cannot ask the cluster: it answers from its own state, and says so.
  const elsewhere = await pool.connect(b.port, { clientId: 'present-keeper-2', clean: false, protocolVersion: 5, properties: { sessionExpiryInterval: 60 } })
  assert.equal(elsewhere.sessionPresent, false)
  assert.ok(logB.lines.some((line) => line.includes('the CONNACK of present-keeper-2 says only what this node knows')), logB.lines.join('\n'))
})

test('NATS too slow to answer: a persistent client\'s CONNACK waits a bounded time, then says what its node knows, and the log says why', async (t) => {
  const logB = new RecordingLogger()
  const { b } = await sessionLeftOnA(t, 'slow', 'slow-keeper', logB)
  // A paused nats-server keeps its connections open and answers nothing.
  const pid = (nats as NatsServer).pid as number
  process.kill(pid, 'SIGSTOP')
  try {
    const elsewhere = await pool.connect(b.port, { clientId: 'slow-keeper', clean: false, protocolVersion: 4 })
    assert.equal(elsewhere.sessionPresent, false)
  } finally {
    process.kill(pid, 'SIGCONT')
  }
  assert.ok(logB.lines.some((line) => line.startsWith('Cluster: JetStream did not say within') && line.includes('slow-keeper')), logB.lines.join('\n'))
})

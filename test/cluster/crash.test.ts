// `kill -9` of a roost process under QoS 1 load: every message its publisher got a PUBACK for is in
// the JetStream stream, so a subscriber on another node receives all of them (acknowledged = stored).
// A real `roost` process (killed with SIGKILL), an in-process node, MQTT.js clients.
import assert from 'node:assert/strict'
import { after, afterEach, before, test } from 'node:test'
import { freePort, makeTempDir, roostPerTest } from '../cli/helpers'
import { ClientPool } from '../clients/support'
import { type NatsServer, startNatsServer } from './nats-server'
import { settle, startNode, until, within } from './support'

let nats: NatsServer
const pool = new ClientPool()
const temp = makeTempDir()
const roost = roostPerTest()

before(async () => { nats = await startNatsServer() })
after(async () => {
  await nats.stop()
  temp.remove()
})
afterEach(async () => { await pool.endAll() })

/** Messages the publisher keeps unacknowledged at once. */
const WINDOW = 20
/** PUBACKs to wait for before the publishing node is killed. */
const BEFORE_KILL = 150

test('kill -9 of the publishing node under QoS 1 load: every acknowledged message reaches the subscriber on another node', async (t) => {
  const port = await freePort()
  const conf = temp.write('crash-a.conf', `listener ${port} 127.0.0.1\nallow_anonymous true\ncluster_nats_url ${nats.url}\ncluster_node_id crash-a\n`)
  const a = roost(['-c', conf])
  await a.waitForOutput('Cluster: node crash-a connected to NATS')
  const b = await startNode(t, nats, 'crash-b')
  const { client: sub, inbox } = await pool.connect(b.port, { clientId: 'crash-sub' })
  await within(sub.subscribeAsync('load/#', { qos: 1 }), 'SUBACK')
  await settle(b.broker)
  const pub = (await pool.connect(port, { clientId: 'crash-pub' })).client
  pub.on('error', () => {})

  const acknowledged: string[] = []
  let sent = 0
  let inFlight = 0
  let stopped = false
  const pump = (): void => {
    while (!stopped && inFlight < WINDOW && sent < 100_000) {
      const payload = `m${sent++}`
      inFlight++
      pub.publish('load/x', payload, { qos: 1 }, (error) => {
        inFlight--
        if (error === undefined || error === null) acknowledged.push(payload)
        pump()
      })
    }
  }
  pub.on('close', () => { stopped = true })
  pump()
  await until(() => acknowledged.length >= BEFORE_KILL, `${BEFORE_KILL} PUBACKs`)
  a.kill()
  await a.exited
  await until(() => stopped, 'publisher sees its node gone')
  const received = new Set<string>()
  await until(() => {
    for (const message of inbox.messages.slice(received.size)) received.add(message.payload.toString())
    return acknowledged.every((payload) => received.has(payload))
  }, 'every acknowledged message on the other node')
  assert.ok(acknowledged.length >= BEFORE_KILL)
  assert.deepEqual(acknowledged.filter((payload) => !received.has(payload)), [])
})

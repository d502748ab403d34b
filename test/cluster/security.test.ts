// The link to NATS with TLS and credentials: a nats-server that wants a client certificate (openssl
// certificates made here), one with users and passwords, one with an nkey user. Nodes that prove
// themselves route as one broker; a node with a wrong password or no CA says so once in its log and
// goes on serving its own MQTT.js clients.
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { after, afterEach, test } from 'node:test'
import { tempDir } from '../client/helpers'
import { ClientPool } from '../clients/support'
import { RecordingLogger } from '../helpers/broker'
import { makeCertificates } from '../helpers/certificates'
import { type NatsServer, startNatsServer } from './nats-server'
import { settle, startNode, subscribeAll, upTo } from './support'

// A user nkey pair (seed and public key), made once with @nats-io/nkeys' createUser().
const NKEY_SEED = 'SUAMTM3KEA6QORVH56LNJJRPDMUJJN6H6243NJECGBPEGFGV3D46FEF4CA'
const NKEY_PUBLIC = 'UBRQCLRHMPLUNHLSDJIVPILXC27A5QGXVQ7L53S7E2CJWYK3YGZZKZTA'

const certDir = tempDir('nats-tls')
const certs = makeCertificates(certDir.dir)
certs.client('roost-node', '/CN=roost-node')
after(() => { certDir.remove() })

const pool = new ClientPool()
let nats: NatsServer | undefined
afterEach(async () => {
  await pool.endAll()
  await nats?.stop()
  nats = undefined
})

/** Publishes on node `from` and expects the message from a subscriber on node `to`. */
async function routes (from: number, to: number, topic: string): Promise<void> {
  const inbox = await subscribeAll(pool, to, [topic], `sub-${topic}`)
  const { client } = await pool.connect(from, { clientId: `pub-${topic}` })
  await client.publishAsync(topic, 'across')
  assert.deepEqual(await upTo(inbox, topic), [{ topic, payload: 'across' }])
}

/** A node's own MQTT.js clients still reach each other. */
async function servesOwnClients (port: number, topic: string): Promise<void> {
  const inbox = await subscribeAll(pool, port, [topic], `own-sub-${topic}`)
  const { client } = await pool.connect(port, { clientId: `own-pub-${topic}` })
  await client.publishAsync(topic, 'alone')
  assert.deepEqual(await upTo(inbox, topic), [{ topic, payload: 'alone' }])
}

test('TLS with client certificates: nodes with the CA and a certificate route; a node without the CA logs why and serves alone', async (t) => {
  nats = await startNatsServer({
    config: [`tls { cert_file: "${certs.file('server.crt')}", key_file: "${certs.file('server.key')}", ca_file: "${certs.file('ca.crt')}", verify: true }`]
  })
  const tls = { cafile: certs.file('ca.crt'), certfile: certs.file('roost-node.crt'), keyfile: certs.file('roost-node.key') }
  const a = await startNode(t, nats, 'tls-a', { cluster: { servers: [nats.url], tls } })
  const b = await startNode(t, nats, 'tls-b', { cluster: { servers: [nats.url], tls } })
  assert.equal(a.broker.clusterState, 'connected')
  assert.equal(b.broker.clusterState, 'connected')
  await settle(a.broker, b.broker)
  await routes(a.port, b.port, 'tls/across')

  const log = new RecordingLogger()
  const stranger = await startNode(t, nats, 'tls-stranger', { cluster: { servers: [nats.url], tls: { certfile: tls.certfile, keyfile: tls.keyfile } } }, log)
  assert.equal(stranger.broker.clusterState, 'disconnected')
  assert.ok(log.lines.some((line) => line.startsWith(`Cluster: cannot reach NATS at ${nats?.url ?? ''}`) && /certificate/i.test(line)), log.lines.join('\n'))
  await servesOwnClients(stranger.port, 'tls/alone')
})

test('user and password: the right ones join; a wrong password is one clear log line while the node serves its own clients', async (t) => {
  nats = await startNatsServer({ config: ['authorization { users: [ { user: roost, password: "s3cret" } ] }'] })
  const credentials = { servers: [nats.url], username: 'roost', password: 's3cret' }
  const a = await startNode(t, nats, 'auth-a', { cluster: credentials })
  const b = await startNode(t, nats, 'auth-b', { cluster: credentials })
  await settle(a.broker, b.broker)
  await routes(b.port, a.port, 'auth/across')

  const log = new RecordingLogger()
  const wrong = await startNode(t, nats, 'auth-wrong', { cluster: { ...credentials, password: 'guess' } }, log)
  assert.equal(wrong.broker.clusterState, 'disconnected')
  await servesOwnClients(wrong.port, 'auth/alone')
  const refusals = log.lines.filter((line) => line.includes("NATS refused this node's credentials"))
  assert.equal(refusals.length, 1, log.lines.join('\n'))
  assert.match(refusals[0] ?? '', /Authorization Violation/)
  assert.doesNotMatch(log.lines.join('\n'), /guess/, 'the password never reaches the log')
})

test('an nkey user: a node with the seed joins and routes', async (t) => {
  nats = await startNatsServer({ config: [`authorization { users: [ { nkey: ${NKEY_PUBLIC} } ] }`] })
  const seedDir = tempDir('nkey')
  t.after(() => { seedDir.remove() })
  const seedFile = `${seedDir.dir}/roost.nk`
  writeFileSync(seedFile, `${NKEY_SEED}\n`)
  const a = await startNode(t, nats, 'nkey-a', { cluster: { servers: [nats.url], nkeySeed: NKEY_SEED } })
  const b = await startNode(t, nats, 'nkey-b', { cluster: { servers: [nats.url], nkeyfile: seedFile } })
  await settle(a.broker, b.broker)
  await routes(a.port, b.port, 'nkey/across')
})

test('a credentials file that cannot be read is named in the log, and the node serves its own clients', async (t) => {
  nats = await startNatsServer()
  const log = new RecordingLogger()
  const missing = `${certDir.dir}/missing.creds`
  const node = await startNode(t, nats, 'creds-missing', { cluster: { servers: [nats.url], credentials: missing } }, log)
  assert.equal(node.broker.clusterState, 'disconnected')
  assert.ok(log.lines.some((line) => line.includes(`cannot read cluster_nats_credentials '${missing}': no such file or directory`)), log.lines.join('\n'))
  await servesOwnClients(node.port, 'creds/alone')
})

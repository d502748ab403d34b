// Secure WebSockets: a `protocol websockets` listener with `tls` serves wss://, with certificates
// made by openssl at test time. MQTT.js checks the server against the CA; with
// require_certificate and use_identity_as_username the client certificate's CN is the username,
// as on a TLS listener; a bad key file is a clear error naming it; reload() swaps the certificate.
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import mqtt from 'mqtt'
import { type Broker, type ClientInfo, ConfigError, createBroker } from '../../lib'
import { makeCertificates, type TestCertificates } from '../helpers/certificates'

describe('secure WebSockets (wss://)', { timeout: 60_000 }, () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'roost-wss-'))
  let certs: TestCertificates
  let broker: Broker
  let serverPort: number
  let identityPort: number
  const connected: ClientInfo[] = []

  before(async () => {
    certs = makeCertificates(dir)
    certs.client('alice', '/O=Roost/CN=alice')
    const server = { certfile: certs.file('server.crt'), keyfile: certs.file('server.key') }
    broker = createBroker({
      sysIntervalSec: 0,
      allowAnonymous: false,
      users: { carol: 'carol-secret' },
      listeners: [
        { port: 0, host: '127.0.0.1', protocol: 'websockets', tls: server },
        { port: 0, host: '127.0.0.1', protocol: 'websockets', tls: { ...server, cafile: certs.file('ca.crt'), requireCertificate: true, useIdentityAsUsername: true } }
      ]
    })
    const [plain, identity] = await broker.listen()
    if (plain === undefined || identity === undefined) throw new Error('the broker bound fewer listeners than asked')
    serverPort = plain.port
    identityPort = identity.port
    broker.on('clientConnected', (info) => { connected.push(info) })
  })
  after(async () => {
    await broker.close()
    rmSync(dir, { recursive: true, force: true })
  })

  test('MQTT.js over wss:// checks the server certificate against the CA: a QoS 1 round trip', async () => {
    const client = await mqtt.connectAsync(`wss://127.0.0.1:${serverPort}/mqtt`, {
      ca: readFileSync(certs.file('ca.crt')), username: 'carol', password: 'carol-secret', clientId: 'wss-carol', reconnectPeriod: 0
    })
    try {
      const received = new Promise<string>((resolve) => { client.once('message', (topic, payload) => { resolve(`${topic} ${payload.toString()}`) }) })
      await client.subscribeAsync('wss/#', { qos: 1 })
      await client.publishAsync('wss/one', 'sealed', { qos: 1 })
      assert.equal(await received, 'wss/one sealed')
    } finally {
      await client.endAsync()
    }
  })

  test('MQTT.js refuses the server when it does not trust the CA', async () => {
    await assert.rejects(mqtt.connectAsync(`wss://127.0.0.1:${serverPort}/mqtt`, { reconnectPeriod: 0, connectTimeout: 5000 }),
      (error: NodeJS.ErrnoException) => error.code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' || error.code === 'SELF_SIGNED_CERT_IN_CHAIN')
  })

  test('with require_certificate and use_identity_as_username, the client certificate\'s CN is the username', async () => {
    const client = await mqtt.connectAsync(`wss://127.0.0.1:${identityPort}/mqtt`, {
      ca: readFileSync(certs.file('ca.crt')),
      cert: readFileSync(certs.file('alice.crt')),
      key: readFileSync(certs.file('alice.key')),
      clientId: 'wss-alice',
      reconnectPeriod: 0
    })
    await client.endAsync()
    assert.equal(connected.find((info) => info.clientId === 'wss-alice')?.username, 'alice')
  })

  test('reload() swaps the listener\'s certificate for new clients', async () => {
    assert.ok((await broker.reload()).includes(`certificates of the listener on port ${serverPort}`))
    const client = await mqtt.connectAsync(`wss://127.0.0.1:${serverPort}/mqtt`, {
      ca: readFileSync(certs.file('ca.crt')), username: 'carol', password: 'carol-secret', clientId: 'wss-after-reload', reconnectPeriod: 0
    })
    await client.endAsync()
  })

  test('a key file that cannot be read stops listen() with an error naming it', async () => {
    const missing = path.join(dir, 'missing.key')
    const bad = createBroker({ listeners: [{ port: 0, host: '127.0.0.1', protocol: 'websockets', tls: { certfile: certs.file('server.crt'), keyfile: missing } }] })
    await assert.rejects(bad.listen(), (error: unknown) => error instanceof ConfigError && error.message.includes(missing))
    await bad.close()
  })
})

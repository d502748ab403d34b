// TLS and TLS-PSK listeners against real clients: mosquitto_pub/mosquitto_sub (--cafile,
// --cert/--key, --psk/--psk-identity, --tls-version), Python paho with TLS and MQTT.js over
// mqtts://, with a CA, server and client certificates (one revoked, one expired) made by openssl
// in a temp dir. One broker, one listener per kind of TLS:
//   server   the server's certificate only; users with passwords, as over plain TCP
//   identity require_certificate, crlfile, use_identity_as_username (no password file at all)
//   subject  require_certificate, use_subject_as_username
//   tls13    tls_version tlsv1.3: the oldest version accepted
//   psk      psk_hint, psk_file, use_identity_as_username
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import type { ConnectionOptions } from 'node:tls'
import path from 'node:path'
import { after, afterEach, before, describe, test } from 'node:test'
import mqtt from 'mqtt'
import { type Broker, type ClientInfo, createBroker, type ListenerOptions } from '../../lib'
import { makeCertificates, type TestCertificates } from '../helpers/certificates'
import { RecordingLogger } from '../helpers/broker'
import { startMosquitto } from '../client/helpers'
import { ProcessPool } from './processes'
import { subscribed } from './support'

const PUB = 'mosquitto_pub'
const SUB = 'mosquitto_sub'
const PYTHON = '/usr/bin/python3'
/** Seconds mosquitto_sub waits for its messages before exiting with an error: a hang guard only. */
const GIVE_UP_SEC = '10'
const PSK_KEY = '0123456789abcdef0123456789abcdef'

describe('TLS listeners with real clients', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'roost-tls-'))
  const processes = new ProcessPool()
  const log = new RecordingLogger()
  let certs: TestCertificates
  let broker: Broker
  const ports: Record<string, number> = {}
  const connected: ClientInfo[] = []

  before(async () => {
    certs = makeCertificates(dir)
    certs.client('alice', '/O=Roost/CN=alice')
    // A comma, an escaped '+', a multi-valued RDN, UTF-8, a leading '#' and a trailing space.
    certs.client('subject', '/C=GB/O=Roost, Ltd./OU=Sensors \\+ Actuators/CN=sensor 7+UID=s7/L=Zürich/ST=#hash ')
    certs.client('mallory', '/CN=mallory')
    certs.client('old', '/CN=old', { expired: true })
    certs.revoke('mallory')
    writeFileSync(path.join(dir, 'psk'), `# identity:key\nbob:${PSK_KEY}\n`)
    const server = { certfile: certs.file('server.crt'), keyfile: certs.file('server.key') }
    const clientCerts = { ...server, cafile: certs.file('ca.crt'), requireCertificate: true }
    const listeners: Record<string, ListenerOptions['tls']> = {
      server,
      identity: { ...clientCerts, crlfile: certs.file('crl.pem'), useIdentityAsUsername: true },
      subject: { ...clientCerts, useSubjectAsUsername: true },
      tls13: { ...server, tlsVersion: 'tlsv1.3' },
      psk: { pskHint: 'roost', pskFile: path.join(dir, 'psk'), useIdentityAsUsername: true }
    }
    broker = createBroker({
      sysIntervalSec: 0,
      allowAnonymous: false,
      users: { carol: 'carol-secret' },
      listeners: Object.values(listeners).map((tls) => ({ port: 0, host: '127.0.0.1', tls }))
    }, { logger: log })
    const bound = await broker.listen()
    Object.keys(listeners).forEach((name, index) => { ports[name] = (bound[index] as { port: number }).port })
    broker.on('clientConnected', (info) => { connected.push(info) })
  })
  afterEach(async () => { await processes.killAll() })
  after(async () => {
    await broker.close()
    rmSync(dir, { recursive: true, force: true })
  })

  const at = (listener: string): string[] => ['-h', '127.0.0.1', '-p', String(ports[listener])]
  const ca = (): string[] => ['--cafile', certs.file('ca.crt')]
  const cert = (name: string): string[] => ['--cert', certs.file(`${name}.crt`), '--key', certs.file(`${name}.key`)]
  const usernameOf = (clientId: string): string | undefined => connected.find((info) => info.clientId === clientId)?.username

  test('mosquitto_sub and mosquitto_pub with --cafile and a password: a QoS 1 round trip over TLS', async () => {
    const login = ['-u', 'carol', '-P', 'carol-secret']
    const subscriber = processes.start(SUB, [...at('server'), ...ca(), ...login, '-i', 'tls-sub', '-t', 'tls/qos1', '-q', '1', '-C', '1', '-F', '%q|%t|%p', '-W', GIVE_UP_SEC])
    await subscribed(broker, 'tls-sub')
    const published = await processes.run(PUB, [...at('server'), ...ca(), ...login, '-t', 'tls/qos1', '-m', 'over TLS', '-q', '1'])
    assert.deepEqual(published, { code: 0, stdout: '', stderr: '' })
    assert.deepEqual(await subscriber.finished, { code: 0, stdout: '1|tls/qos1|over TLS\n', stderr: '' })
  })

  test('a wrong password is still refused over TLS: the certificate of the server proves nothing about the client', async () => {
    const refused = await processes.run(PUB, [...at('server'), ...ca(), '-u', 'carol', '-P', 'wrong', '-t', 'tls/x', '-m', 'x'])
    assert.notEqual(refused.code, 0)
    assert.match(refused.stderr, /not authori[sz]ed|bad user name or password/i)
  })

  test('use_identity_as_username: the certificate CN is the username, with no password file and whatever the client sends', async () => {
    const published = await processes.run(PUB, [...at('identity'), ...ca(), ...cert('alice'), '-i', 'cert-alice', '-u', 'someone-else', '-P', 'ignored', '-t', 'tls/id', '-m', 'x'])
    assert.deepEqual(published, { code: 0, stdout: '', stderr: '' })
    assert.equal(usernameOf('cert-alice'), 'alice')
  })

  test('require_certificate refuses a client without a certificate during the handshake', async () => {
    const refused = await processes.run(PUB, [...at('identity'), ...ca(), '-i', 'no-cert', '-t', 'tls/x', '-m', 'x'])
    assert.notEqual(refused.code, 0)
    assert.equal(usernameOf('no-cert'), undefined)
    assert.ok(log.lines.some((line) => /refused by the TLS listener on port \d+: peer did not return a certificate/.test(line)), log.lines.join('\n'))
  })

  test('crlfile refuses a revoked client certificate, and an expired one is refused too', async () => {
    const revoked = await processes.run(PUB, [...at('identity'), ...ca(), ...cert('mallory'), '-i', 'revoked', '-t', 'tls/x', '-m', 'x'])
    assert.notEqual(revoked.code, 0)
    const expired = await processes.run(PUB, [...at('identity'), ...ca(), ...cert('old'), '-i', 'expired', '-t', 'tls/x', '-m', 'x'])
    assert.notEqual(expired.code, 0)
    assert.equal(usernameOf('revoked'), undefined)
    assert.equal(usernameOf('expired'), undefined)
    // With TLS 1.3 the client learns only that the connection was lost; the broker's log says why.
    assert.ok(log.lines.includes(`A client refused by the TLS listener on port ${ports.identity}: client certificate not accepted (CERT_REVOKED).`), log.lines.join('\n'))
    assert.ok(log.lines.includes(`A client refused by the TLS listener on port ${ports.identity}: client certificate not accepted (CERT_HAS_EXPIRED).`), log.lines.join('\n'))
  })

  test('use_subject_as_username: the subject exactly as Debian mosquitto makes it (RFC 2253, escapes, multi-valued RDN, UTF-8)', async () => {
    const published = await processes.run(PUB, [...at('subject'), ...ca(), ...cert('subject'), '-i', 'cert-subject', '-t', 'tls/subject', '-m', 'x'])
    assert.deepEqual(published, { code: 0, stdout: '', stderr: '' })
    const expected = 'ST=\\#hash\\ ,L=Z\\C3\\BCrich,UID=s7+CN=sensor 7,OU=Sensors \\+ Actuators,O=Roost\\, Ltd.,C=GB'
    assert.equal(usernameOf('cert-subject'), expected)
    const mosquittoLog = path.join(dir, 'mosquitto.log')
    const mosquitto = await startMosquitto(dir, [
      `cafile ${certs.file('ca.crt')}`, `certfile ${certs.file('server.crt')}`, `keyfile ${certs.file('server.key')}`,
      'require_certificate true', 'use_subject_as_username true', `log_dest file ${mosquittoLog}`, 'log_type all'
    ])
    try {
      const toMosquitto = await processes.run(PUB, ['-h', '127.0.0.1', '-p', String(mosquitto.port), ...ca(), ...cert('subject'), '-i', 'cert-subject', '-t', 'tls/subject', '-m', 'x'])
      assert.equal(toMosquitto.code, 0, toMosquitto.stderr)
    } finally {
      await mosquitto.stop()
    }
    assert.match(readFileSync(mosquittoLog, 'utf8'), new RegExp(`as cert-subject \\(p2, c1, k60, u'${expected.replace(/[\\+.]/g, '\\$&')}'\\)`))
  })

  test('tls_version tlsv1.3 refuses a client that speaks TLS 1.2 at most and serves a TLS 1.3 one', async () => {
    // mosquitto_pub's --tls-version is a minimum too, so the older client is MQTT.js held to TLS 1.2.
    // MQTT.js hands its options to tls.connect(), maxVersion among them.
    const tls12: mqtt.IClientOptions & ConnectionOptions = {
      ca: readFileSync(certs.file('ca.crt')), maxVersion: 'TLSv1.2', username: 'carol', password: 'carol-secret', clientId: 'tls12', reconnectPeriod: 0
    }
    const old = mqtt.connectAsync(`mqtts://127.0.0.1:${ports.tls13}`, tls12)
    await assert.rejects(old, /protocol version|unsupported protocol/i)
    assert.equal(usernameOf('tls12'), undefined)
    const current = await processes.run(PUB, [...at('tls13'), ...ca(), '--tls-version', 'tlsv1.3', '-u', 'carol', '-P', 'carol-secret', '-i', 'tls13', '-t', 'tls/v', '-m', 'x'])
    assert.deepEqual(current, { code: 0, stdout: '', stderr: '' })
    assert.equal(usernameOf('tls13'), 'carol')
  })

  test('TLS-PSK: mosquitto_sub and mosquitto_pub with --psk and --psk-identity, the identity as username', async () => {
    const psk = ['--psk', PSK_KEY, '--psk-identity', 'bob']
    const subscriber = processes.start(SUB, [...at('psk'), ...psk, '-i', 'psk-sub', '-t', 'tls/psk', '-q', '1', '-C', '1', '-F', '%q|%p', '-W', GIVE_UP_SEC])
    await subscribed(broker, 'psk-sub')
    const published = await processes.run(PUB, [...at('psk'), ...psk, '-t', 'tls/psk', '-m', 'shared secret', '-q', '1'])
    assert.deepEqual(published, { code: 0, stdout: '', stderr: '' })
    assert.deepEqual(await subscriber.finished, { code: 0, stdout: '1|shared secret\n', stderr: '' })
    assert.equal(usernameOf('psk-sub'), 'bob')
  })

  test('TLS-PSK refuses a wrong key and an unknown identity', async () => {
    const wrongKey = await processes.run(PUB, [...at('psk'), '--psk', 'ffff', '--psk-identity', 'bob', '-i', 'psk-wrong', '-t', 'tls/x', '-m', 'x'])
    assert.notEqual(wrongKey.code, 0)
    const stranger = await processes.run(PUB, [...at('psk'), '--psk', PSK_KEY, '--psk-identity', 'eve', '-i', 'psk-eve', '-t', 'tls/x', '-m', 'x'])
    assert.notEqual(stranger.code, 0)
    assert.equal(usernameOf('psk-wrong'), undefined)
    assert.equal(usernameOf('psk-eve'), undefined)
  })

  test('Python paho with tls_set and a client certificate: QoS 1 round trip, CN as username', async () => {
    const script = path.join(__dirname, 'paho', 'tls.py')
    const finished = await processes.run(PYTHON, ['-W', 'ignore::DeprecationWarning', script, String(ports.identity), certs.file('ca.crt'), certs.file('alice.crt'), certs.file('alice.key')])
    assert.equal(finished.code, 0, finished.stdout + finished.stderr)
    assert.deepEqual(JSON.parse(finished.stdout), { connack: 0, granted: [1], message: { topic: 'paho/tls', payload: 'sealed', qos: 1 } })
    assert.equal(usernameOf('paho-tls'), 'alice')
  })

  test('MQTT.js over mqtts:// checks the server certificate against the CA: QoS 0 and 1 round trips', async () => {
    const client = await mqtt.connectAsync(`mqtts://127.0.0.1:${ports.server}`, {
      ca: readFileSync(certs.file('ca.crt')),
      username: 'carol',
      password: 'carol-secret',
      clientId: 'mqttjs-tls',
      reconnectPeriod: 0
    })
    try {
      const received: string[] = []
      const both = new Promise<void>((resolve) => {
        client.on('message', (topic, payload, packet) => {
          received.push(`${packet.qos}|${topic}|${payload.toString()}`)
          if (received.length === 2) resolve()
        })
      })
      await client.subscribeAsync('mqttjs/tls/#', { qos: 1 })
      await client.publishAsync('mqttjs/tls/0', 'zero', { qos: 0 })
      await client.publishAsync('mqttjs/tls/1', 'one', { qos: 1 })
      await both
      assert.deepEqual(received.sort(), ['0|mqttjs/tls/0|zero', '1|mqttjs/tls/1|one'])
    } finally {
      await client.endAsync()
    }
  })

  test('MQTT.js refuses the server when it does not trust the CA, and the broker logs the failed handshake', async () => {
    const failed = mqtt.connectAsync(`mqtts://127.0.0.1:${ports.server}`, { reconnectPeriod: 0, connectTimeout: 5000 })
    await assert.rejects(failed, (error: NodeJS.ErrnoException) => error.code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' || error.code === 'SELF_SIGNED_CERT_IN_CHAIN')
  })
})

describe('TLS handshake bound', { timeout: 30_000 }, () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'roost-tls-stall-'))
  let certs: TestCertificates
  before(() => { certs = makeCertificates(dir) })
  after(() => { rmSync(dir, { recursive: true, force: true }) })

  test('a socket that never starts TLS, and one that stops in the middle of its ClientHello, are closed after connect_timeout', async () => {
    const log = new RecordingLogger()
    const broker = createBroker({
      sysIntervalSec: 0,
      connectTimeoutSec: 1,
      listeners: [{ port: 0, host: '127.0.0.1', tls: { certfile: certs.file('server.crt'), keyfile: certs.file('server.key') } }]
    }, { logger: log })
    const [bound] = await broker.listen()
    try {
      const silent = net.connect((bound as { port: number }).port, '127.0.0.1')
      const partial = net.connect((bound as { port: number }).port, '127.0.0.1')
      // A TLS record header announcing a 512-byte handshake message, and nothing after it.
      partial.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]))
      const closed = (socket: net.Socket): Promise<void> => new Promise((resolve) => {
        socket.on('error', () => {})
        socket.once('close', () => resolve())
      })
      await Promise.all([closed(silent), closed(partial)])
      assert.equal(log.lines.filter((line) => /closed: TLS handshake not done within 1 s\./.test(line)).length, 2, log.lines.join('\n'))
    } finally {
      await broker.close()
    }
  })

  test('closing the broker ends sockets still in their handshake', async () => {
    const broker = createBroker({
      sysIntervalSec: 0,
      listeners: [{ port: 0, host: '127.0.0.1', tls: { certfile: certs.file('server.crt'), keyfile: certs.file('server.key') } }]
    })
    const [bound] = await broker.listen()
    const stalled = net.connect((bound as { port: number }).port, '127.0.0.1')
    await new Promise((resolve) => stalled.once('connect', resolve))
    const ended = new Promise((resolve) => stalled.once('close', resolve))
    await broker.close()
    await ended
    assert.equal(stalled.destroyed, true)
  })
})

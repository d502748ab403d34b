// TLS listener options from code (createBroker, the Node-RED node): the schema and the check of how
// fields go together give the same messages as every entry point; files are read at listen() and
// a bad one is named; PEM text works as files do; use_identity_as_username without a certificate
// is refused at CONNECT; the RFC 2253 subject form.
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import tls from 'node:tls'
import { after, before, describe, it } from 'node:test'
import mqtt from 'mqtt'
import { ConfigError, createBroker } from '../../lib'
import { resolveOptions } from '../../lib/options'
import { rfc2253Subject } from '../../lib/transport/tls-context'
import { makeCertificates, type TestCertificates } from '../helpers/certificates'

describe('TLS listener options', { timeout: 60_000 }, () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'roost-tls-options-'))
  let certs: TestCertificates
  before(() => { certs = makeCertificates(dir) })
  after(() => { rmSync(dir, { recursive: true, force: true }) })

  it('refuses fields that do not go together, unknown fields and unknown versions, naming the listener', () => {
    const cases: Array<[unknown, string]> = [
      [{ certfile: '/c.pem' }, 'listeners.0.tls has a certificate (certfile) but no private key (keyfile)'],
      [{ key: 'PEM' }, 'listeners.0.tls has a private key (keyfile) but no certificate (certfile)'],
      [{ cafile: '/ca.pem' }, 'listeners.0.tls needs a certificate and key (certfile, keyfile) or TLS-PSK (psk_hint, psk_file)'],
      [{ certfile: '/c.pem', cert: 'PEM', keyfile: '/k.pem' }, 'listeners.0.tls has both certfile and cert: give the certificate once'],
      [{ pskHint: 'hint' }, 'listeners.0.tls has psk_hint but no psk_file to take the keys from'],
      [{ pskHint: 'hint', pskFile: '/psk', useSubjectAsUsername: true }, 'listeners.0.tls has use_subject_as_username but no certificate: TLS-PSK clients have no subject'],
      [{ certfile: '/c.pem', keyfile: '/k.pem', verify: true }, 'unknown option "verify" in listeners.0.tls'],
      [{ certfile: '/c.pem', keyfile: '/k.pem', tlsVersion: 'tlsv1' }, 'listeners.0.tls.tlsVersion must be equal to one of the allowed values']
    ]
    for (const [tls, message] of cases) {
      assert.throws(() => resolveOptions({ listeners: [{ port: 8883, tls } as never] }), { name: 'ConfigError', message })
    }
  })

  it('listen() rejects with a ConfigError naming a certificate file that is missing, and binds nothing', async () => {
    const missing = path.join(dir, 'missing.key')
    const broker = createBroker({ listeners: [{ port: 0, host: '127.0.0.1' }, { port: 0, host: '127.0.0.1', tls: { certfile: certs.file('server.crt'), keyfile: missing } }] })
    await assert.rejects(broker.listen(), (error: unknown) => {
      assert.ok(error instanceof ConfigError)
      assert.equal(error.message, `listener 0: cannot read keyfile '${missing}': no such file or directory`)
      return true
    })
    assert.deepEqual(broker.addresses, [])
    await broker.close()
  })

  it('takes PEM text as the Node-RED tls-config node gives it, and refuses use_identity_as_username without a client certificate', async () => {
    const pem = (name: string): string => readFileSync(certs.file(name), 'utf8')
    const broker = createBroker({
      sysIntervalSec: 0,
      listeners: [
        { port: 0, host: '127.0.0.1', tls: { cert: pem('server.crt'), key: pem('server.key') } },
        { port: 0, host: '127.0.0.1', tls: { cert: pem('server.crt'), key: pem('server.key'), useIdentityAsUsername: true } }
      ]
    })
    const [plain, identity] = await broker.listen()
    try {
      const ca = pem('ca.crt')
      const client = await mqtt.connectAsync(`mqtts://127.0.0.1:${(plain as { port: number }).port}`, { ca, reconnectPeriod: 0 })
      await client.endAsync()
      // No certificate was asked for, so there is no identity: refused as Mosquitto does, CONNACK 4.
      await assert.rejects(
        mqtt.connectAsync(`mqtts://127.0.0.1:${(identity as { port: number }).port}`, { ca, reconnectPeriod: 0, username: 'alice', password: 'x' }),
        (error: Error & { code?: number }) => error.code === 4)
    } finally {
      await broker.close()
    }
  })

  it('tls_version is the oldest version accepted: tlsv1.1 lets TLS 1.1 in (OpenSSL 3 needs security level 0 for it), the default starts at TLS 1.2', async () => {
    const server = { certfile: certs.file('server.crt'), keyfile: certs.file('server.key') }
    const broker = createBroker({ sysIntervalSec: 0, listeners: [{ port: 0, host: '127.0.0.1', tls: { ...server, tlsVersion: 'tlsv1.1' } }, { port: 0, host: '127.0.0.1', tls: server }] })
    const [old, current] = await broker.listen()
    const negotiate = (port: number, version: tls.SecureVersion): Promise<string> => new Promise((resolve) => {
      const socket = tls.connect({ port, host: '127.0.0.1', ca: readFileSync(certs.file('ca.crt')), minVersion: version, maxVersion: version, ciphers: 'DEFAULT@SECLEVEL=0' }, () => {
        resolve(socket.getProtocol() ?? 'none')
        socket.destroy()
      })
      socket.once('error', () => { resolve('refused') })
    })
    try {
      assert.deepEqual(await Promise.all((['TLSv1.1', 'TLSv1.2', 'TLSv1.3'] as const).map((version) => negotiate((old as { port: number }).port, version))), ['TLSv1.1', 'TLSv1.2', 'TLSv1.3'])
      assert.deepEqual(await Promise.all((['TLSv1.1', 'TLSv1.2', 'TLSv1.3'] as const).map((version) => negotiate((current as { port: number }).port, version))), ['refused', 'TLSv1.2', 'TLSv1.3'])
    } finally {
      await broker.close()
    }
  })

  it('writes a subject as OpenSSL XN_FLAG_RFC2253 does: entries reversed, parts of a multi-valued RDN too, bytes over 0x7F as \\XX', () => {
    assert.equal(rfc2253Subject('C=GB\nO=Roost\\, Ltd.\nCN=alice'), 'CN=alice,O=Roost\\, Ltd.,C=GB')
    assert.equal(rfc2253Subject('CN=sensor 7 + UID=s7\nL=Zürich'), 'L=Z\\C3\\BCrich,UID=s7+CN=sensor 7')
    assert.equal(rfc2253Subject('OU=a \\+ b'), 'OU=a \\+ b')
  })
})

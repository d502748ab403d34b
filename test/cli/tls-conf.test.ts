// The TLS words of mosquitto.conf: each sets its field on the listener it follows (the default
// listener before any `listener` line), and a listener whose words do not go together, or whose
// files cannot be used, stops at its line naming the file.
import { strict as assert } from 'node:assert'
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { readMosquittoConf } from '../../lib/config/mosquitto-conf'
import { ConfigError } from '../../lib/errors'
import { makeCertificates, type TestCertificates } from '../helpers/certificates'

describe('mosquitto.conf TLS words', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'roost-tls-conf-'))
  let certs: TestCertificates
  let confCount = 0
  const conf = (lines: string[]): string => {
    const file = path.join(dir, `case-${++confCount}.conf`)
    writeFileSync(file, lines.join('\n') + '\n')
    return file
  }
  const refused = (lines: string[], expected: (file: string) => string): void => {
    const file = conf(lines)
    assert.throws(() => readMosquittoConf(file), (error: unknown) => {
      assert.ok(error instanceof ConfigError)
      assert.equal(error.message, expected(file))
      return true
    })
  }
  /** For messages that end with OpenSSL's own reason: what Roost says before it must be exact. */
  const refusedWith = (lines: string[], start: (file: string) => string): void => {
    const file = conf(lines)
    assert.throws(() => readMosquittoConf(file), (error: unknown) => {
      assert.ok(error instanceof ConfigError)
      assert.ok(error.message.startsWith(start(file)) && error.message.length > start(file).length, error.message)
      return true
    })
  }

  before(() => {
    certs = makeCertificates(dir)
    certs.client('alice', '/CN=alice')
    certs.revoke('alice')
    mkdirSync(path.join(dir, 'cas'))
    copyFileSync(certs.file('ca.crt'), path.join(dir, 'cas', 'ca.pem'))
    // What c_rehash leaves beside the certificates: not a certificate, skipped.
    writeFileSync(path.join(dir, 'cas', 'README'), 'CA certificates for the test\n')
    writeFileSync(path.join(dir, 'psk'), 'bob:00ff\n')
    writeFileSync(path.join(dir, 'garbage.pem'), '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n')
  })
  after(() => { rmSync(dir, { recursive: true, force: true }) })

  it('reads every TLS word into the listener it follows, and those before any listener into the default one', () => {
    const file = conf([
      'port 8883',
      `cafile ${certs.file('ca.crt')}`,
      `certfile ${certs.file('server.crt')}`,
      `keyfile ${certs.file('server.key')}`,
      'require_certificate true',
      'use_identity_as_username true',
      'listener 8884 127.0.0.1',
      `capath ${path.join(dir, 'cas')}`,
      `certfile ${certs.file('server.crt')}`,
      `keyfile ${certs.file('server.key')}`,
      `crlfile ${certs.file('crl.pem')}`,
      'require_certificate true',
      'use_subject_as_username true',
      'tls_version tlsv1.3',
      'ciphers ECDHE-ECDSA-AES256-GCM-SHA384',
      'ciphers_tls1.3 TLS_AES_256_GCM_SHA384',
      'listener 8885',
      'psk_hint roost hint',
      `psk_file ${path.join(dir, 'psk')}`,
      'use_identity_as_username true',
      'listener 1883',
      'require_certificate false'
    ])
    const { options } = readMosquittoConf(file)
    assert.deepEqual(options.listeners, [
      { port: 8883, tls: { cafile: certs.file('ca.crt'), certfile: certs.file('server.crt'), keyfile: certs.file('server.key'), requireCertificate: true, useIdentityAsUsername: true } },
      {
        port: 8884,
        host: '127.0.0.1',
        tls: {
          capath: path.join(dir, 'cas'),
          certfile: certs.file('server.crt'),
          keyfile: certs.file('server.key'),
          crlfile: certs.file('crl.pem'),
          requireCertificate: true,
          useSubjectAsUsername: true,
          tlsVersion: 'tlsv1.3',
          ciphers: 'ECDHE-ECDSA-AES256-GCM-SHA384',
          ciphersTls13: 'TLS_AES_256_GCM_SHA384'
        }
      },
      { port: 8885, tls: { pskHint: 'roost hint', pskFile: path.join(dir, 'psk'), useIdentityAsUsername: true } },
      // Only a switch turned off: a plain listener, as in Mosquitto.
      { port: 1883 }
    ])
  })

  it('names the file that cannot be read, the certificate that does not parse and the key that does not match', () => {
    const missing = path.join(dir, 'missing.crt')
    refused(['listener 8883', `certfile ${missing}`, `keyfile ${certs.file('server.key')}`],
      (file) => `${file}:1: listener 8883: cannot read certfile '${missing}': no such file or directory`)
    refusedWith(['listener 8883', `certfile ${path.join(dir, 'garbage.pem')}`, `keyfile ${certs.file('server.key')}`],
      (file) => `${file}:1: listener 8883: certfile '${path.join(dir, 'garbage.pem')}' is not usable: `)
    refusedWith(['listener 8883', `certfile ${certs.file('server.crt')}`, `keyfile ${certs.file('alice.key')}`],
      (file) => `${file}:1: listener 8883: keyfile '${certs.file('alice.key')}' with certfile '${certs.file('server.crt')}' is not usable: `)
    refusedWith(['listener 8883', `certfile ${certs.file('server.crt')}`, `keyfile ${certs.file('server.crt')}`],
      (file) => `${file}:1: listener 8883: keyfile '${certs.file('server.crt')}' is not usable: `)
    refused(['listener 8883', `certfile ${certs.file('server.crt')}`, `keyfile ${certs.file('server.key')}`, `cafile ${certs.file('server.key')}`],
      (file) => `${file}:1: listener 8883: cafile '${certs.file('server.key')}' holds no PEM certificate`)
    refusedWith(['listener 8883', `certfile ${certs.file('server.crt')}`, `keyfile ${certs.file('server.key')}`, `crlfile ${certs.file('server.crt')}`],
      (file) => `${file}:1: listener 8883: crlfile '${certs.file('server.crt')}' is not usable: `)
    refused(['listener 8883', `certfile ${certs.file('server.crt')}`, `keyfile ${certs.file('server.key')}`, 'require_certificate true'],
      (file) => `${file}:1: listener 8883: TLS has require_certificate but no cafile or capath to check client certificates against`)
    refusedWith(['listener 8883', `certfile ${certs.file('server.crt')}`, `keyfile ${certs.file('server.key')}`, 'ciphers NOT-A-CIPHER'],
      (file) => `${file}:1: listener 8883: ciphers is not usable: `)
    refused(['listener 8883', `capath ${path.join(dir, 'nowhere')}`, `certfile ${certs.file('server.crt')}`, `keyfile ${certs.file('server.key')}`],
      (file) => `${file}:1: listener 8883: cannot read capath '${path.join(dir, 'nowhere')}': no such file or directory`)
  })

  it('names the psk_file line that is not identity:hexkey', () => {
    const bad = path.join(dir, 'bad.psk')
    writeFileSync(bad, '# keys\nbob:00ff\ncarol:not-hex\n')
    refused(['listener 8885', 'psk_hint roost', `psk_file ${bad}`], () => `${bad}:3: a psk_file line must be identity:hexkey (the key in hexadecimal, an even number of digits)`)
  })

  it('shares a psk_file among the PSK listeners that have none of their own, as Mosquitto does without per_listener_settings', () => {
    const shared = path.join(dir, 'psk')
    const own = path.join(dir, 'own.psk')
    writeFileSync(own, 'carol:0a0b\n')
    const file = conf([
      `psk_file ${shared}`,
      'listener 1883',
      'listener 8885',
      'psk_hint first',
      'listener 8886',
      'psk_hint second',
      `psk_file ${own}`,
      'listener 8887',
      'psk_hint third'
    ])
    assert.deepEqual(readMosquittoConf(file).options.listeners, [
      { port: 1883 },
      { port: 8885, tls: { pskHint: 'first', pskFile: own } },
      { port: 8886, tls: { pskHint: 'second', pskFile: own } },
      { port: 8887, tls: { pskHint: 'third', pskFile: own } }
    ])
  })
})

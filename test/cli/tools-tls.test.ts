// The TLS flags of roost pub and sub against TLS listeners of Debian's mosquitto and of Roost,
// with certificates made by openssl at test time: --cafile, --capath, --cert/--key for a listener
// that requires a client certificate, --insecure, --tls-version, --psk/--psk-identity, and the
// failures (an untrusted server, a wrong name, a wrong key) as mosquitto_sub reports them.
import { strict as assert } from 'node:assert'
import { execFileSync } from 'node:child_process'
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { type Broker, createBroker } from '../../lib'
import { makeCertificates, type TestCertificates } from '../helpers/certificates'
import { freePort, startMosquitto, tempDir, type Mosquitto } from '../client/helpers'
import { roostTool, runBytes } from './tools-helpers'

for (const target of ['mosquitto', 'roost'] as const) {
  describe(`roost pub and sub over TLS to ${target}`, () => {
    const temp = tempDir('tools-tls')
    let certs: TestCertificates
    let mosquitto: Mosquitto | undefined
    let broker: Broker | undefined
    const ports = { tls: 0, clientCert: 0, psk: 0, elsewhere: 0 }
    let otherCa = ''

    before(async () => {
      certs = makeCertificates(temp.dir)
      certs.client('alice', '/CN=alice')
      // A CA that signed nothing here, for the untrusted case.
      const other = path.join(temp.dir, 'other')
      mkdirSync(other)
      makeCertificates(other)
      otherCa = path.join(other, 'ca.crt')
      writeFileSync(path.join(temp.dir, 'psk'), 'bob:deadbeef\n')
      // A server certificate for another name only: connecting to 127.0.0.1 must fail its name check.
      const openssl = (...args: string[]): void => { execFileSync('openssl', args, { cwd: temp.dir, stdio: 'ignore' }) }
      writeFileSync(path.join(temp.dir, 'elsewhere.ext'), 'subjectAltName=DNS:elsewhere.example\n')
      openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', 'elsewhere.key')
      openssl('req', '-new', '-key', 'elsewhere.key', '-out', 'elsewhere.csr', '-subj', '/CN=elsewhere.example')
      openssl('x509', '-req', '-in', 'elsewhere.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-set_serial', '77', '-days', '2', '-extfile', 'elsewhere.ext', '-out', 'elsewhere.crt')
      const elsewhere = { certfile: certs.file('elsewhere.crt'), keyfile: certs.file('elsewhere.key') }
      const server = { certfile: certs.file('server.crt'), keyfile: certs.file('server.key') }
      if (target === 'mosquitto') {
        ports.clientCert = await freePort()
        ports.psk = await freePort()
        mosquitto = await startMosquitto(temp.dir, [
          `listener ${ports.clientCert} 127.0.0.1`, `certfile ${server.certfile}`, `keyfile ${server.keyfile}`, `cafile ${certs.file('ca.crt')}`, 'require_certificate true',
          `listener ${ports.psk} 127.0.0.1`, 'psk_hint roost', `psk_file ${path.join(temp.dir, 'psk')}`
        ])
        // The helper's first listener is plain: a TLS one of its own comes from a second instance.
        const tlsOnly = await startMosquitto(temp.dir, [`certfile ${server.certfile}`, `keyfile ${server.keyfile}`])
        ports.tls = tlsOnly.port
        const misnamed = await startMosquitto(temp.dir, [`certfile ${elsewhere.certfile}`, `keyfile ${elsewhere.keyfile}`])
        ports.elsewhere = misnamed.port
        const first = mosquitto
        mosquitto = { ...first, stop: async () => { await first.stop(); await tlsOnly.stop(); await misnamed.stop() } }
      } else {
        broker = createBroker({
          sysIntervalSec: 0,
          listeners: [
            { port: 0, host: '127.0.0.1', tls: server },
            { port: 0, host: '127.0.0.1', tls: { ...server, cafile: certs.file('ca.crt'), requireCertificate: true } },
            { port: 0, host: '127.0.0.1', tls: { pskHint: 'roost', pskFile: path.join(temp.dir, 'psk') } },
            { port: 0, host: '127.0.0.1', tls: elsewhere }
          ]
        })
        const [tls, clientCert, psk, misnamed] = await broker.listen()
        ports.elsewhere = misnamed?.port ?? 0
        ports.tls = tls?.port ?? 0
        ports.clientCert = clientCert?.port ?? 0
        ports.psk = psk?.port ?? 0
      }
    })

    after(async () => {
      await mosquitto?.stop()
      await broker?.close()
      temp.remove()
    })

    /** roost pub sends one retained message through TLS, roost sub reads it back the same way. */
    const roundTrip = async (port: number, tls: string[], topic: string): Promise<void> => {
      const at = ['-h', '127.0.0.1', '-p', String(port), ...tls]
      const sent = await roostTool('pub', [...at, '-t', topic, '-m', `over ${topic}`, '-r', '-q', '1'])
      assert.equal(sent.code, 0, sent.stderr)
      const read = await roostTool('sub', [...at, '-t', topic, '-C', '1', '-v'])
      assert.equal(read.code, 0, read.stderr)
      assert.equal(read.stdout.toString(), `${topic} over ${topic}\n`)
    }

    it('--cafile and --capath trust the server; --tls-version picks the version', async () => {
      await roundTrip(ports.tls, ['--cafile', certs.file('ca.crt')], 'tls/cafile')
      const capath = path.join(temp.dir, 'capath')
      mkdirSync(capath)
      copyFileSync(certs.file('ca.crt'), path.join(capath, 'ca.pem'))
      await roundTrip(ports.tls, ['--capath', capath], 'tls/capath')
      await roundTrip(ports.tls, ['--cafile', certs.file('ca.crt'), '--tls-version', 'tlsv1.3'], 'tls/v13')
      await roundTrip(ports.tls, ['--cafile', certs.file('ca.crt'), '--tls-version', 'tlsv1.2'], 'tls/v12')
      // mosquitto_sub reads what roost pub left there, through the same TLS.
      const theirs = await runBytes('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(ports.tls), '--cafile', certs.file('ca.crt'), '-t', 'tls/cafile', '-C', '1', '-v'])
      assert.equal(theirs.stdout.toString(), 'tls/cafile over tls/cafile\n')
    })

    it('--cert and --key give the client certificate a listener requires', async () => {
      await roundTrip(ports.clientCert, ['--cafile', certs.file('ca.crt'), '--cert', certs.file('alice.crt'), '--key', certs.file('alice.key')], 'tls/client-cert')
      const without = await roostTool('sub', ['-h', '127.0.0.1', '-p', String(ports.clientCert), '--cafile', certs.file('ca.crt'), '-t', 'x', '-E'])
      assert.notEqual(without.code, 0, 'no certificate, no connection')
    })

    it('refuses an untrusted server and a name that does not match, unless --insecure', async () => {
      const untrusted = await roostTool('sub', ['-h', '127.0.0.1', '-p', String(ports.tls), '--cafile', otherCa, '-t', 'x', '-E'])
      const theirs = await runBytes('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(ports.tls), '--cafile', otherCa, '-t', 'x', '-E'])
      // mosquitto_sub exits with 1 or 8 (MOSQ_ERR_TLS) depending on when its library notices.
      assert.equal(untrusted.code, 1)
      assert.ok(theirs.code === 1 || theirs.code === 8, theirs.stderr)
      assert.match(untrusted.stderr, /^Unable to connect \(A TLS error occurred/)
      const misnamed = ['-h', '127.0.0.1', '-p', String(ports.elsewhere), '--cafile', certs.file('ca.crt'), '-t', 'x', '-E']
      const wrongName = await roostTool('sub', misnamed)
      const theirsWrongName = await runBytes('mosquitto_sub', misnamed)
      assert.equal(wrongName.code, 1)
      assert.ok(theirsWrongName.code === 1 || theirsWrongName.code === 8, theirsWrongName.stderr)
      assert.match(wrongName.stderr, /^Unable to connect \(A TLS error occurred/)
      const insecure = await roostTool('sub', [...misnamed, '--insecure'])
      assert.equal(insecure.code, 0, insecure.stderr)
    })

    it('--psk and --psk-identity connect with TLS-PSK; a wrong key is a TLS error, as in mosquitto_sub', async () => {
      await roundTrip(ports.psk, ['--psk', 'deadbeef', '--psk-identity', 'bob'], 'tls/psk')
      const args = ['-h', '127.0.0.1', '-p', String(ports.psk), '--psk', 'beef', '--psk-identity', 'bob', '-t', 'x', '-E']
      const theirs = await runBytes('mosquitto_sub', args)
      const ours = await roostTool('sub', args)
      assert.ok(theirs.code === 1 || theirs.code === 8, theirs.stderr)
      assert.equal(ours.code, 1)
      assert.match(ours.stderr, /^Unable to connect \(A TLS error occurred/)
    })

    it('a TLS file that cannot be read is an error before connecting', async () => {
      const missing = path.join(temp.dir, 'missing.crt')
      const ours = await roostTool('sub', ['-h', '127.0.0.1', '-p', String(ports.tls), '--cafile', missing, '-t', 'x'])
      assert.equal(ours.code, 1)
      assert.match(ours.stderr, /^Error: Problem setting TLS options: .*missing\.crt/)
    })
  })
}

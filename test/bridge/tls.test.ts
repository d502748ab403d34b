// A Roost bridge to Debian's mosquitto over TLS, with certificates made by openssl at test time:
// server authentication against bridge_cafile, mutual TLS with bridge_certfile/bridge_keyfile
// (mosquitto's require_certificate), and a remote whose certificate is not signed by the CA
// given, which the bridge must refuse and report as its last error.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { BridgeOptions } from '../../lib/bridge/options'
import { freePort, type Mosquitto, startMosquitto, tempDir, WAIT_MS } from '../client/helpers'
import { ClientPool, type RunningBroker, startBroker } from '../clients/support'
import { bridgeReaches } from './helpers'

function openssl (dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' })
}

/** A CA, a server certificate for 127.0.0.1 and a client certificate, all signed by the CA; `name` prefixes the files. */
function makeCertificates (dir: string, name: string): void {
  const ext = path.join(dir, `${name}-san.ext`)
  execFileSync('sh', ['-c', `printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > '${ext}'`])
  openssl(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', `/CN=${name} test CA`, '-keyout', `${name}-ca.key`, '-out', `${name}-ca.crt`])
  for (const who of ['server', 'client']) {
    openssl(dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${who === 'server' ? 'localhost' : 'roost-bridge'}`, '-keyout', `${name}-${who}.key`, '-out', `${name}-${who}.csr`])
    openssl(dir, ['x509', '-req', '-in', `${name}-${who}.csr`, '-CA', `${name}-ca.crt`, '-CAkey', `${name}-ca.key`, '-CAcreateserial', '-days', '1', '-extfile', ext, '-out', `${name}-${who}.crt`])
  }
}

describe('a Roost bridge over TLS to mosquitto', { timeout: 60_000 }, () => {
  const temp = tempDir('bridge-tls')
  const clients = new ClientPool()
  const file = (name: string): string => path.join(temp.dir, name)
  let mosquitto: Mosquitto
  let roost: RunningBroker
  let tlsPortOf = 0

  before(async () => {
    makeCertificates(temp.dir, 'good')
    makeCertificates(temp.dir, 'other')
    // The plain listener is where the test's own clients subscribe; the TLS one asks for a client certificate.
    const tlsPort = await freePort()
    mosquitto = await startMosquitto(temp.dir, [
      `listener ${tlsPort} 127.0.0.1`, `cafile ${file('good-ca.crt')}`, `certfile ${file('good-server.crt')}`, `keyfile ${file('good-server.key')}`,
      'require_certificate true'
    ])
    roost = await startBroker()
    tlsPortOf = tlsPort
  })

  after(async () => {
    await clients.endAll()
    await roost.broker.close()
    await mosquitto.stop()
    temp.remove()
  })

  function bridge (name: string, tls: NonNullable<BridgeOptions['tls']>): BridgeOptions {
    return { name, addresses: [`127.0.0.1:${tlsPortOf}`], remoteClientId: name, cleanSession: true, restartTimeoutSec: 0.2, tls, topics: [{ pattern: 'tls/#', direction: 'out', qos: 1 }] }
  }

  /** Runs `link` as the only bridge and resolves with what a subscriber on `plainPort` got of one message through it. */
  async function across (plainPort: number, link: BridgeOptions, topic: string): Promise<[string | undefined, string | undefined]> {
    const watcher = await clients.connect(plainPort)
    await watcher.client.subscribeAsync('tls/#', { qos: 1 })
    await roost.broker.setBridges([link])
    await bridgeReaches(roost.broker, link.name, 'connected')
    roost.broker.publish({ topic, payload: 'sealed', qos: 1 })
    const [message] = await watcher.inbox.waitFor(1)
    return [message?.topic, message?.payload.toString()]
  }

  test('with a client certificate (mTLS), messages cross', async () => {
    const link = bridge('mtls', { cafile: file('good-ca.crt'), certfile: file('good-client.crt'), keyfile: file('good-client.key') })
    assert.deepEqual(await across(mosquitto.port, link, 'tls/secure'), ['tls/secure', 'sealed'])
  })

  test('the same certificates as PEM text (what an editor\'s tls-config node holds) work alike', async () => {
    const pem = (name: string): string => readFileSync(file(name), 'utf8')
    const link = bridge('pem', { ca: pem('good-ca.crt'), cert: pem('good-client.crt'), key: pem('good-client.key') })
    assert.deepEqual(await across(mosquitto.port, link, 'tls/pem'), ['tls/pem', 'sealed'])
  })

  test('without a client certificate, the remote refuses the bridge and the bridge says why', async () => {
    await roost.broker.setBridges([bridge('no-cert', { cafile: file('good-ca.crt') })])
    const status = await failedStatus(roost, 'no-cert')
    assert.equal(status.state, 'connecting')
    assert.ok(status.lastError !== undefined && status.lastError.length > 0)
  })

  test('a remote certificate the given CA did not sign is refused', async () => {
    await roost.broker.setBridges([bridge('wrong-ca', { cafile: file('other-ca.crt'), certfile: file('good-client.crt'), keyfile: file('good-client.key') })])
    const status = await failedStatus(roost, 'wrong-ca')
    assert.match(status.lastError ?? '', /certificate/i)
  })

  test('TLS-PSK (bridge_identity, bridge_psk) to a mosquitto psk_file listener', async () => {
    const pskPort = await freePort()
    const pskFile = file('psk.txt')
    execFileSync('sh', ['-c', `printf 'roost-bridge:0a1b2c3d4e5f\\n' > '${pskFile}'`])
    const pskRemote = await startMosquitto(temp.dir, [`listener ${pskPort} 127.0.0.1`, 'psk_hint roost', `psk_file ${pskFile}`])
    try {
      const link = { ...bridge('psk', { identity: 'roost-bridge', psk: '0a1b2c3d4e5f' }), addresses: [`127.0.0.1:${pskPort}`] }
      assert.deepEqual(await across(pskRemote.port, link, 'tls/psk'), ['tls/psk', 'sealed'])
      await roost.broker.setBridges([])
    } finally {
      await pskRemote.stop()
    }
  })

  test('a CA file that cannot be read stops only that bridge, with the file named', async () => {
    await roost.broker.setBridges([bridge('missing', { cafile: file('nowhere.crt') })])
    const status = await failedStatus(roost, 'missing')
    assert.match(status.lastError ?? '', /cannot read bridge_cafile '.*nowhere\.crt'/)
    assert.equal(status.state, 'stopped')
    await roost.broker.setBridges([])
  })
})

/** Waits for the bridge to report a failure. */
async function failedStatus (roost: RunningBroker, name: string): Promise<{ state: string, lastError?: string }> {
  const deadline = Date.now() + WAIT_MS
  while (Date.now() < deadline) {
    const status = roost.broker.bridgeStates().find((candidate) => candidate.name === name)
    if (status?.lastError !== undefined) return status
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`bridge ${name} reported no error`)
}

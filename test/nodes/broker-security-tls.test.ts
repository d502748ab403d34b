// TLS listeners from the roost-broker Security tab, deployed with node-red-node-test-helper: the
// listeners table names a real tls-config node (certificate files made by openssl at test time,
// read by the tls-config node as the example's are), and mosquitto_pub/mosquitto_sub reach the
// broker over TLS with --cafile, and with --cert/--key when a client certificate is required and
// its name becomes the username; MQTT.js over wss:// on a WebSocket over TLS row.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { after, afterEach, before, describe, it } from 'node:test'
import mqtt from 'mqtt'
import type { ClientInfo } from '../../lib'
import { makeTempDir } from '../cli/helpers'
import { ProcessPool } from '../clients/processes'
import { makeCertificates, type TestCertificates } from '../helpers/certificates'
import { collect, embeddedBroker, type FlowNode, freePort, helper, listeningBroker, roost, startServer, stopServer } from './support'

const tlsConfigNode = require(path.join(path.dirname(require.resolve('@node-red/nodes/package.json')), 'core/network/05-tls.js')) as unknown

describe('roost-broker Security tab, deployed: TLS listeners through a tls-config node', () => {
  const temp = makeTempDir()
  const processes = new ProcessPool()
  let certificates: TestCertificates
  before(async () => {
    certificates = makeCertificates(temp.dir)
    certificates.client('panel', '/CN=panel')
    await startServer()
  })
  after(async () => {
    await stopServer()
    temp.remove()
  })
  afterEach(async () => {
    await processes.killAll()
    await helper.unload()
  })

  /** Deploys the broker with one row in its listeners table, on a free port; resolves with that port. */
  async function deploy (protocol: 'mqtt' | 'websockets', extra: Record<string, unknown> = {}): Promise<number> {
    const tlsPort = await freePort()
    const flow: FlowNode[] = [
      { id: 'server-cert', type: 'tls-config', name: '', cert: certificates.file('server.crt'), key: certificates.file('server.key'), ca: certificates.file('ca.crt'), verifyservercert: true },
      embeddedBroker('secure', { listeners: [{ protocol, tls: true, port: String(tlsPort), host: '127.0.0.1' }], listenerTls: 'server-cert', ...extra }),
      { id: 'everything', type: 'roost in', broker: 'secure', topic: 'tls/#', qos: '1', datatype: 'utf8', wires: [['sink']] },
      { id: 'sink', type: 'helper' }
    ]
    await helper.load([roost, tlsConfigNode], flow)
    await listeningBroker('secure')
    return tlsPort
  }

  it('mosquitto_pub over TLS with the CA reaches the flow; a plain MQTT client on the TLS port does not', async () => {
    const tlsPort = await deploy('mqtt')
    const got = collect(helper.getNode('sink'), 1)
    const over = await processes.run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(tlsPort), '--cafile', certificates.file('ca.crt'), '-t', 'tls/hello', '-m', 'secret', '-q', '1'])
    assert.equal(over.code, 0, over.stderr)
    assert.deepEqual((await got).map((m) => [m.topic, m.payload]), [['tls/hello', 'secret']])
    const plain = await processes.run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(tlsPort), '-t', 'tls/plain', '-m', 'x', '-q', '1'])
    assert.notEqual(plain.code, 0)
  })

  it('require a client certificate and use its name as username: without one refused, with CN=panel the client is "panel"', async () => {
    const tlsPort = await deploy('mqtt', { requireCertificate: true, useIdentityAsUsername: true })
    const { broker } = await listeningBroker('secure')
    const at = ['-h', '127.0.0.1', '-p', String(tlsPort), '--cafile', certificates.file('ca.crt'), '-t', 'tls/hello', '-m', 'x', '-q', '1']
    assert.notEqual((await processes.run('mosquitto_pub', at)).code, 0)
    const connected = new Promise<ClientInfo>((resolve) => { broker.once('clientConnected', resolve) })
    const got = collect(helper.getNode('sink'), 1)
    const withCert = await processes.run('mosquitto_pub', [...at, '-i', 'cert-client', '--cert', certificates.file('panel.crt'), '--key', certificates.file('panel.key')])
    assert.equal(withCert.code, 0, withCert.stderr)
    assert.deepEqual([(await connected).clientId, (await connected).username], ['cert-client', 'panel'])
    await got
  })

  it('a WebSocket over TLS row serves MQTT.js over wss:// with the tls-config node\'s certificate', async () => {
    const wssPort = await deploy('websockets')
    const got = collect(helper.getNode('sink'), 1)
    const client = await mqtt.connectAsync(`wss://127.0.0.1:${wssPort}/mqtt`, { ca: readFileSync(certificates.file('ca.crt')), reconnectPeriod: 0 })
    try {
      await client.publishAsync('tls/over-wss', 'hello', { qos: 1 })
      assert.deepEqual((await got).map((m) => [m.topic, m.payload]), [['tls/over-wss', 'hello']])
    } finally {
      await client.endAsync()
    }
  })
})

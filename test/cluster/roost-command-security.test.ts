// The cluster_nats_* TLS and login words in use: two `roost -c` processes reach a nats-server that
// wants a client certificate (openssl certificates made here) and a user with password, and are one
// broker to mosquitto_pub and mosquitto_sub; a third with a wrong password says so and serves alone.
import assert from 'node:assert/strict'
import { after, afterEach, before, describe, it } from 'node:test'
import { freePort, makeTempDir, roostPerTest } from '../cli/helpers'
import { ProcessPool } from '../clients/processes'
import { makeCertificates } from '../helpers/certificates'
import { type NatsServer, startNatsServer } from './nats-server'
import { crossWithMosquitto } from './support'

const temp = makeTempDir()
const certs = makeCertificates(temp.dir)
certs.client('roost-cmd', '/CN=roost-cmd')
after(() => temp.remove())

describe('roost processes with TLS and a NATS user', () => {
  let nats: NatsServer
  const roost = roostPerTest()
  const processes = new ProcessPool()
  before(async () => {
    nats = await startNatsServer({
      config: [
        `tls { cert_file: "${certs.file('server.crt')}", key_file: "${certs.file('server.key')}", ca_file: "${certs.file('ca.crt')}", verify: true }`,
        'authorization { users: [ { user: roost, password: "cmd-s3cret" } ] }'
      ]
    })
  })
  after(async () => { await nats.stop() })
  afterEach(async () => { await processes.killAll() })

  /** A config file for a node on `port` that reaches NATS with the given password. */
  function conf (name: string, port: number, password: string): string {
    return temp.write(`${name}.conf`, [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      `cluster_nats_url ${nats.url}`,
      `cluster_node_id ${name}`,
      `cluster_nats_cafile ${certs.file('ca.crt')}`,
      `cluster_nats_certfile ${certs.file('roost-cmd.crt')}`,
      `cluster_nats_keyfile ${certs.file('roost-cmd.key')}`,
      'cluster_nats_username roost',
      `cluster_nats_password ${password}`,
      ''
    ].join('\n'))
  }

  it('a mosquitto_pub to one reaches a mosquitto_sub on the other', async () => {
    const ports = [await freePort(), await freePort()]
    const nodes = ports.map((port, index) => roost(['-c', conf(`tls-cmd-${index}`, port, 'cmd-s3cret')]))
    for (const [index, node] of nodes.entries()) await node.waitForOutput(`Cluster: node tls-cmd-${index} connected to NATS`)
    const finished = await crossWithMosquitto(processes, ports[0] as number, ports[1] as number, 'tls-cmd')
    assert.equal(finished.stdout, 'site/pump/state running\n')
  })

  it('a wrong password is one clear line, and the node serves its own clients', async () => {
    const port = await freePort()
    const node = roost(['-c', conf('tls-cmd-wrong', port, 'guess')])
    await node.waitForOutput("NATS refused this node's credentials (Authorization Violation)")
    const finished = await crossWithMosquitto(processes, port, port, 'tls-cmd-alone')
    assert.equal(finished.stdout, 'site/pump/state running\n')
  })
})

// The roost command with TLS: a key that cannot be read stops it at start, naming the file; on
// SIGHUP a TLS listener takes its certificate and key from the files again
// (broker.reload()), a subscriber connected before keeps its connection and receives what is
// published after, and a reload that fails keeps the certificate in use and says why.
import { strict as assert } from 'node:assert'
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs'
import tls from 'node:tls'
import { after, afterEach, describe, it } from 'node:test'
import { makeCertificates } from '../helpers/certificates'
import { ProcessPool } from '../clients/processes'
import { freePort, makeTempDir, roostPerTest } from './helpers'

/** The organisation named in the certificate the listener presents now. */
function presentedOrganisation (port: number, ca: string): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
      const organisation = socket.getPeerCertificate().subject.O as string | undefined
      socket.destroy()
      resolve(organisation)
    })
    socket.once('error', reject)
  })
}

describe('roost command: SIGHUP reloads TLS certificates', { timeout: 60_000 }, () => {
  const temp = makeTempDir()
  const roost = roostPerTest()
  const processes = new ProcessPool()
  afterEach(async () => { await processes.killAll() })
  after(() => temp.remove())

  it('exits 3 naming the listener line and the key file when the key cannot be read', async () => {
    const certs = makeCertificates(temp.dir)
    const missing = certs.file('nowhere.key')
    const conf = temp.write('missing-key.conf', `listener 8883 127.0.0.1\ncertfile ${certs.file('server.crt')}\nkeyfile ${missing}\n`)
    const broker = roost(['-c', conf])
    assert.equal(await broker.exited, 3)
    assert.equal(broker.stderr(), `roost: ${conf}:1: listener 8883: cannot read keyfile '${missing}': no such file or directory\n`)
  })

  it('a new certificate is served after SIGHUP while a connected subscriber stays connected; a bad one is refused and the old kept', async () => {
    const certs = makeCertificates(temp.dir)
    certs.server('renewed', '/O=Renewed/CN=localhost')
    const ca = readFileSync(certs.file('ca.crt'), 'utf8')
    const port = await freePort()
    const conf = temp.write('tls.conf', [
      `listener ${port} 127.0.0.1`,
      `certfile ${certs.file('server.crt')}`,
      `keyfile ${certs.file('server.key')}`,
      'allow_anonymous true',
      'log_type all',
      ''
    ].join('\n'))
    const broker = roost(['-c', conf])
    await broker.waitForOutput(' running\n')
    assert.equal(await presentedOrganisation(port, ca), undefined)

    const tlsArgs = ['-h', '127.0.0.1', '-p', String(port), '--cafile', certs.file('ca.crt')]
    const keeper = processes.start('mosquitto_sub', [...tlsArgs, '-i', 'keeper', '-t', 'reload/#', '-q', '1', '-C', '1', '-F', '%t|%p', '-W', '30'])
    await broker.waitForOutput('keeper 1 reload/#')

    copyFileSync(certs.file('renewed.crt'), certs.file('server.crt'))
    copyFileSync(certs.file('renewed.key'), certs.file('server.key'))
    broker.child.kill('SIGHUP')
    await broker.waitForOutput(`Reloaded certificates of the listener on port ${port}.`)
    assert.equal(await presentedOrganisation(port, ca), 'Renewed')

    writeFileSync(certs.file('server.crt'), 'not a certificate\n')
    broker.child.kill('SIGHUP')
    await broker.waitForOutput(`reload failed, kept the previous settings: listener ${port}: certfile '${certs.file('server.crt')}' holds no PEM certificate.`)
    assert.equal(await presentedOrganisation(port, ca), 'Renewed')

    // The subscriber that connected before both reloads is still there to receive this.
    assert.doesNotMatch(broker.stderr(), /Client keeper (disconnected|closed)/)
    const published = await processes.run('mosquitto_pub', [...tlsArgs, '-t', 'reload/after', '-m', 'still here', '-q', '1'])
    assert.deepEqual(published, { code: 0, stdout: '', stderr: '' })
    assert.deepEqual(await keeper.finished, { code: 0, stdout: 'reload/after|still here\n', stderr: '' })
  })
})

// The roost command as a child process: it starts, carries MQTT between mosquitto_pub and
// mosquitto_sub, stops cleanly on SIGTERM/SIGINT, and fails with one clear line and the right exit
// code on a bad config line, a bad flag or a port in use.
import { strict as assert } from 'node:assert'
import { existsSync, readFileSync } from 'node:fs'
import net from 'node:net'
import { after, describe, it } from 'node:test'
import { freePort, lastLine, makeTempDir, portIsFree, roostPerTest, runCommand } from './helpers'

const temp = makeTempDir()
after(() => temp.remove())
const roost = roostPerTest()

describe('roost command', () => {
  it('carries a mosquitto_pub message to mosquitto_sub, then exits 0 on SIGTERM and frees the port', async () => {
    const port = await freePort()
    const broker = roost(['-p', String(port), '-v'])
    await broker.waitForOutput(' running\n')
    assert.match(broker.stderr(), new RegExp(`^\\d+: Opening ipv4 listen socket on port ${port}\\.$`, 'm'))
    assert.match(broker.stderr(), /^\d+: Starting in local only mode\./m)

    const subscriber = runCommand('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(port), '-t', 'roost/cli', '-q', '1', '-C', '1', '-i', 'cli-sub'])
    await broker.waitForOutput('as cli-sub ')
    await broker.waitForOutput('cli-sub 1 roost/cli')
    const published = await runCommand('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-t', 'roost/cli', '-q', '1', '-m', 'hello through roost'])
    assert.equal(published.code, 0, published.stderr)
    const received = await subscriber
    assert.equal(received.code, 0, received.stderr)
    assert.equal(received.stdout, 'hello through roost\n')

    broker.child.kill('SIGTERM')
    assert.equal(await broker.exited, 0)
    assert.match(broker.stderr(), /^\d+: Received SIGTERM, closing\.$/m)
    assert.match(lastLine(broker.stderr()), /^\d+: roost version \S+ terminating$/)
    assert.equal(await portIsFree(port), true)
  })

  it('exits 0 on SIGINT and closes connected clients', async () => {
    const port = await freePort()
    const broker = roost(['-p', String(port), '-h', '127.0.0.1'])
    await broker.waitForOutput(' running\n')
    const client = net.connect(port, '127.0.0.1')
    const clientClosed = new Promise<void>((resolve) => client.once('close', () => resolve()))
    await new Promise<void>((resolve) => client.once('connect', () => resolve()))
    broker.child.kill('SIGINT')
    assert.equal(await broker.exited, 0)
    await clientClosed
    assert.equal(await portIsFree(port), true)
  })

  it('reads a config file: listener, password_file made by mosquitto_passwd, pid_file, log_dest stdout', async () => {
    const port = await freePort()
    const passwords = `${temp.dir}/users.passwd`
    const made = await runCommand('mosquitto_passwd', ['-c', '-b', passwords, 'alice', 'alice-password'])
    assert.equal(made.code, 0, made.stderr)
    const pidFile = `${temp.dir}/roost.pid`
    const conf = temp.write('full.conf', [
      '# roost test configuration',
      `listener ${port} 127.0.0.1`,
      `password_file ${passwords}`,
      `pid_file ${pidFile}`,
      'log_dest stdout',
      'log_type all',
      ''
    ].join('\n'))
    const broker = roost(['-c', conf])
    await broker.waitForOutput(' running\n', 'stdout')
    assert.match(broker.stdout(), new RegExp(`^\\d+: Config loaded from ${conf.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.$`, 'm'))
    assert.equal(broker.stderr(), '')
    assert.equal(readFileSync(pidFile, 'utf8'), `${broker.child.pid}\n`)

    const right = await runCommand('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-u', 'alice', '-P', 'alice-password', '-t', 'a', '-m', 'x'])
    assert.equal(right.code, 0, right.stderr)
    const wrong = await runCommand('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-u', 'alice', '-P', 'wrong', '-t', 'a', '-m', 'x'])
    assert.notEqual(wrong.code, 0)
    assert.match(wrong.stderr, /Connection Refused: bad user name or password\./)
    const anonymous = await runCommand('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-t', 'a', '-m', 'x'])
    assert.notEqual(anonymous.code, 0)
    assert.match(anonymous.stderr, /Connection Refused: not authori[sz]ed\./)

    broker.child.kill('SIGTERM')
    assert.equal(await broker.exited, 0)
    assert.equal(existsSync(pidFile), false)
  })

  it('exits 3 with file:line on one line when a config line is bad', async () => {
    const conf = temp.write('bad.conf', '# fine\nlistener 1883\nmax_connections abc\n')
    const broker = roost(['-c', conf])
    assert.equal(await broker.exited, 3)
    assert.equal(broker.stderr(), `roost: ${conf}:3: 'max_connections' needs a whole number, not 'abc'\n`)
  })

  it('exits 3 naming file:line when the config file uses a word Roost does not support yet', async () => {
    const conf = temp.write('tls.conf', 'listener 8883\ndhparamfile /etc/ssl/dh.pem\n')
    const broker = roost(['-c', conf])
    assert.equal(await broker.exited, 3)
    assert.equal(broker.stderr(), `roost: ${conf}:2: 'dhparamfile' is not supported yet\n`)
  })

  it('exits 3 when the config file does not exist', async () => {
    const missing = `${temp.dir}/nope.conf`
    const broker = roost(['-c', missing])
    assert.equal(await broker.exited, 3)
    assert.equal(broker.stderr(), `roost: ${missing}: cannot read configuration file: no such file or directory\n`)
  })

  it('exits 1 with a clear line when the port is in use', async () => {
    const blocker = net.createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    const { port } = blocker.address() as net.AddressInfo
    try {
      const broker = roost(['-p', String(port)])
      assert.equal(await broker.exited, 1)
      assert.equal(lastLine(broker.stderr()), `roost: cannot listen on 127.0.0.1:${port}: address already in use (is another broker running?)`)
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()))
    }
  })

  it('exits 2 with the usage on an unknown flag or a bad port', async () => {
    const unknown = roost(['--frobnicate'])
    assert.equal(await unknown.exited, 2)
    assert.match(unknown.stderr(), /^roost: unknown option '--frobnicate'\nUsage: roost /)
    const badPort = roost(['-p', '70000'])
    assert.equal(await badPort.exited, 2)
    assert.match(badPort.stderr(), /^roost: invalid port '70000': expected 0 to 65535\n/)
    const missing = roost(['-c'])
    assert.equal(await missing.exited, 2)
    assert.match(missing.stderr(), /^roost: -c needs a value\n/)
  })

  it('prints the help on --help and exits 0', async () => {
    const help = roost(['--help'])
    assert.equal(await help.exited, 0)
    assert.match(help.stdout(), /^Usage: roost \[-c config_file\] \[-p port\]\.\.\. \[-h bind_address\] \[-v\]\n/)
    assert.match(help.stdout(), /listens on 127\.0\.0\.1 only/)
  })
})

// The roost command running a bridge from its mosquitto.conf to Debian's mosquitto: the log says
// the bridge connected, mosquitto_pub/mosquitto_sub messages cross both ways under their
// prefixes, and on SIGTERM the remote is told the link is down (its state topic goes to 0).
import { strict as assert } from 'node:assert'
import { after, describe, it } from 'node:test'
import { startMosquitto } from '../client/helpers'
import { freePort, makeTempDir, roostPerTest, runCommand } from './helpers'

const temp = makeTempDir()
after(() => temp.remove())
const roost = roostPerTest()

describe('roost command with a bridge section', () => {
  it('bridges to mosquitto both ways and reports the link down when it stops', async () => {
    const remote = await startMosquitto(temp.dir)
    try {
      const port = await freePort()
      const conf = temp.write('bridge.conf', [
        `listener ${port} 127.0.0.1`,
        'allow_anonymous true',
        'connection cloud',
        `address 127.0.0.1:${remote.port}`,
        'remote_clientid roost-cloud',
        'restart_timeout 1',
        'topic # both 1 home/ site/home/',
        ''
      ].join('\n'))
      const broker = roost(['-c', conf, '-v'])
      await broker.waitForOutput(`Bridge cloud connected to 127.0.0.1:${remote.port}`)

      // mosquitto_sub on the remote sees what mosquitto_pub sends to roost, remapped.
      const there = runCommand('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(remote.port), '-t', 'site/home/#', '-C', '1', '-v', '-W', '10'])
      const here = runCommand('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(port), '-t', 'home/#', '-C', '1', '-v', '-W', '10', '-i', 'here-sub'])
      await broker.waitForOutput('here-sub 0 home/#')
      // Retained, so the remote subscriber gets it whenever its own SUBSCRIBE lands.
      const published = await runCommand('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-t', 'home/lamp', '-m', 'on', '-q', '1', '-r'])
      assert.equal(published.code, 0, published.stderr)
      const overThere = await there
      assert.equal(overThere.stdout, 'site/home/lamp on\n')
      const overHere = await here
      assert.equal(overHere.stdout, 'home/lamp on\n')

      const back = runCommand('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(port), '-t', 'home/door', '-C', '1', '-v', '-W', '10', '-i', 'back-sub'])
      await broker.waitForOutput('back-sub 0 home/door')
      const sent = await runCommand('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(remote.port), '-t', 'site/home/door', '-m', 'open', '-q', '1'])
      assert.equal(sent.code, 0, sent.stderr)
      assert.equal((await back).stdout, 'home/door open\n')

      broker.child.kill('SIGTERM')
      assert.equal(await broker.exited, 0)
      const state = await runCommand('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(remote.port), '-t', '$SYS/broker/connection/roost-cloud/state', '-C', '1', '-W', '10'])
      assert.equal(state.stdout, '0\n')
    } finally {
      await remote.stop()
    }
  })
})

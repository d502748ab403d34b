// Nothing acknowledged is lost when the bridging broker itself dies: a `roost -c` with
// `persistence true` bridges to a Debian mosquitto that is down; QoS 1 messages published here are
// acknowledged (after fsync, persistence_sync always), then the roost process is killed with
// SIGKILL, started again, and the remote comes up: every message reaches the remote's subscriber,
// once and in order.
import assert from 'node:assert/strict'
import path from 'node:path'
import { after, describe, it } from 'node:test'
import mqtt from 'mqtt'
import { startMosquitto, WAIT_MS } from '../client/helpers'
import { freePort, makeTempDir, roostPerTest } from '../cli/helpers'

const temp = makeTempDir()
after(() => temp.remove())
const roost = roostPerTest()

const COUNT = 200

describe('a bridge queue in the durable store', () => {
  it('survives kill -9 of the bridging broker and is sent in order once the remote is back', async () => {
    // The remote keeps its subscriber's session across its own stop (saved on SIGTERM).
    const remoteDir = path.join(temp.dir, 'remote')
    const { mkdirSync } = await import('node:fs')
    mkdirSync(remoteDir)
    const remote = await startMosquitto(remoteDir, ['persistence true', `persistence_location ${remoteDir}${path.sep}`, `max_queued_messages ${COUNT * 2}`])
    const received: string[] = []
    const subscriber = mqtt.connect({ host: '127.0.0.1', port: remote.port, clientId: 'far-subscriber', clean: false, reconnectPeriod: 100 })
    subscriber.on('error', () => {})
    subscriber.on('message', (topic, payload) => { received.push(`${topic} ${payload.toString()}`) })
    try {
      await new Promise<void>((resolve) => subscriber.once('connect', () => resolve()))
      await subscriber.subscribeAsync('site/#', { qos: 1 })
      await remote.stop('SIGTERM')

      const port = await freePort()
      const conf = temp.write('durable.conf', [
        `listener ${port} 127.0.0.1`,
        'allow_anonymous true',
        'persistence true',
        `persistence_location ${path.join(temp.dir, 'store')}${path.sep}`,
        'connection up',
        `address 127.0.0.1:${remote.port}`,
        'remote_clientid roost-up',
        'restart_timeout 1',
        'topic stream/# out 1 "" site/',
        ''
      ].join('\n'))
      const first = roost(['-c', conf, '-v'])
      await first.waitForOutput(`Opening ipv4 listen socket on port ${port}`)
      const publisher = await mqtt.connectAsync({ host: '127.0.0.1', port, clientId: 'near-publisher', reconnectPeriod: 0 })
      for (let n = 0; n < COUNT; n++) await publisher.publishAsync(`stream/${n % 3}`, String(n), { qos: 1 })
      await publisher.endAsync(true)
      first.child.kill('SIGKILL')
      await first.exited

      const second = roost(['-c', conf, '-v'])
      await second.waitForOutput(`Bridge up: ${COUNT} held messages queued for the remote.`)
      await remote.start()
      await second.waitForOutput(`Bridge up connected to 127.0.0.1:${remote.port}`)
      const deadline = Date.now() + WAIT_MS
      while (received.length < COUNT && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
      assert.deepEqual(received, Array.from({ length: COUNT }, (_, n) => `site/stream/${n % 3} ${n}`))
    } finally {
      await subscriber.endAsync(true)
      await remote.stop()
    }
  })
})

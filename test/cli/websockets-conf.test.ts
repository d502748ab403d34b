// A Mosquitto user's mosquitto.conf with a WebSocket listener runs unchanged under `roost -c`:
// MQTT.js reaches it over ws://, and a TCP client on the other listener gets its messages.
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import mqtt from 'mqtt'
import { freePort, makeTempDir, roostPerTest } from './helpers'

describe('roost -c with protocol websockets', () => {
  const temp = makeTempDir()
  after(() => temp.remove())
  const roost = roostPerTest()

  it('serves MQTT over WebSockets on the listener that says so, TCP on the other', async () => {
    const [tcpPort, wsPort] = [await freePort(), await freePort()]
    const conf = temp.write('ws.conf', `listener ${tcpPort} 127.0.0.1\n\nlistener ${wsPort} 127.0.0.1\nprotocol websockets\n\nallow_anonymous true\n`)
    const running = roost(['-c', conf])
    await running.waitForOutput(`Opening websockets listen socket on port ${wsPort}.`)
    const overWs = await mqtt.connectAsync(`ws://127.0.0.1:${wsPort}/mqtt`, { clientId: 'conf-ws', reconnectPeriod: 0 })
    const overTcp = await mqtt.connectAsync(`mqtt://127.0.0.1:${tcpPort}`, { clientId: 'conf-tcp', reconnectPeriod: 0 })
    try {
      await overTcp.subscribeAsync('conf/#', { qos: 1 })
      const received = new Promise<string>((resolve) => { overTcp.once('message', (topic, payload) => { resolve(`${topic} ${payload.toString()}`) }) })
      await overWs.publishAsync('conf/ws', 'hello', { qos: 1 })
      assert.equal(await received, 'conf/ws hello')
    } finally {
      await Promise.all([overWs.endAsync(), overTcp.endAsync()])
    }
  })
})

// MQTT over WebSockets on a path of Node-RED's own HTTP server (the broker node's wsPath): MQTT.js
// reaches the embedded broker at ws://<node-red>/mqtt, the editor's /comms WebSocket keeps
// working beside it, two broker nodes cannot take one path, and a redeploy leaves no upgrade
// handler behind.
import assert from 'node:assert/strict'
import { after, afterEach, before, describe, it } from 'node:test'
import mqtt from 'mqtt'
import WebSocket from 'ws'
import { webSocketPath } from '../../nodes/broker/websocket-path'
import { subscribed } from '../clients/support'
import { collect, embeddedBroker, type FlowNode, helper, listeningBroker, nextError, roost, startServer, stopServer } from './support'

function flow (brokerExtra: Record<string, unknown> = {}): FlowNode[] {
  return [
    embeddedBroker('b1', { wsPath: '/mqtt', ...brokerExtra }),
    { id: 'in1', type: 'roost in', broker: 'b1', topic: 'dash/in/#', qos: '1', datatype: 'utf8', wires: [['sink']] },
    { id: 'sink', type: 'helper' },
    { id: 'out1', type: 'roost out', broker: 'b1', topic: '', qos: '', retain: '' }
  ]
}

/** The helper's HTTP server, where Node-RED's own upgrades are handled too. */
function nodeRedServer (): import('node:http').Server {
  return (helper as unknown as { _server: import('node:http').Server })._server
}

function wsUrl (path: string): string {
  return helper.url().replace(/^http/, 'ws') + path
}

describe('MQTT over WebSockets on Node-RED\'s own HTTP server', () => {
  const clients: mqtt.MqttClient[] = []
  before(startServer)
  after(stopServer)
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.endAsync(true)))
    await helper.unload()
  })

  async function connect (path: string, clientId: string): Promise<mqtt.MqttClient> {
    const client = mqtt.connect(wsUrl(path), { clientId, reconnectPeriod: 0 })
    clients.push(client)
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => { resolve() })
      client.once('error', reject)
    })
    return client
  }

  it('MQTT.js reaches the broker at /mqtt, both ways through the flow', async () => {
    await helper.load(roost, flow())
    const { broker } = await listeningBroker('b1')
    await helper.getNode('b1').transport.ready()
    const client = await connect('/mqtt', 'dashboard')
    const got = collect(helper.getNode('sink'), 1)
    await client.publishAsync('dash/in/slider', '42', { qos: 1 })
    const [msg] = await got
    assert.deepEqual([msg?.topic, msg?.payload], ['dash/in/slider', '42'])

    const subscribing = subscribed(broker, 'dashboard')
    await client.subscribeAsync('dash/out/#', { qos: 1 })
    await subscribing
    const received = new Promise<[string, string]>((resolve) => { client.once('message', (topic, payload) => { resolve([topic, payload.toString()]) }) })
    helper.getNode('out1').receive({ topic: 'dash/out/gauge', payload: '17' })
    assert.deepEqual(await received, ['dash/out/gauge', '17'])
    assert.deepEqual(broker.clients().map((info) => info.clientId), ['dashboard'])
  })

  it('leaves Node-RED\'s /comms WebSocket to Node-RED', async () => {
    await helper.load(roost, flow())
    await listeningBroker('b1')
    const comms = new WebSocket(wsUrl('/comms'))
    await new Promise<void>((resolve, reject) => {
      comms.once('open', () => { resolve() })
      comms.once('error', reject)
    })
    // The editor subscribes like this; Node-RED accepts it and keeps the socket open.
    comms.send(JSON.stringify({ subscribe: 'notification/#' }))
    assert.equal(comms.readyState, WebSocket.OPEN)
    assert.equal(comms.protocol, '')
    comms.close()
  })

  it('a redeploy removes the upgrade handler and serves the path again from the new broker', async () => {
    const server = nodeRedServer()
    const before = server.listenerCount('upgrade')
    for (let round = 0; round < 3; round++) {
      await helper.load(roost, flow())
      await listeningBroker('b1')
      await helper.getNode('b1').transport.ready()
      assert.equal(server.listenerCount('upgrade'), before + 1)
      const client = await connect('/mqtt', `round-${round}`)
      await client.endAsync()
      await helper.unload()
      assert.equal(server.listenerCount('upgrade'), before)
    }
  })

  it('a second broker node on the same path says so and serves its own port', async () => {
    await helper.load(roost, [
      embeddedBroker('b1', { wsPath: '/mqtt' }),
      embeddedBroker('b2', { wsPath: 'mqtt' })
    ])
    const errors = [nextError(helper.getNode('b1')), nextError(helper.getNode('b2'))]
    const first = await Promise.race(errors)
    assert.deepEqual(first.args, ['roost-broker.errors.ws-path-in-use'])
    await listeningBroker('b1')
    await listeningBroker('b2')
  })

  it('places the path under httpNodeRoot, as Node-RED\'s websocket nodes are', () => {
    assert.equal(webSocketPath('/mqtt', undefined), '/mqtt')
    assert.equal(webSocketPath('mqtt', '/'), '/mqtt')
    assert.equal(webSocketPath('/mqtt', '/api'), '/api/mqtt')
    assert.equal(webSocketPath('/mqtt', '/api/'), '/api/mqtt')
    assert.equal(webSocketPath('  ', '/api'), '')
  })
})

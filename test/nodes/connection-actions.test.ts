// msg.action `connect` and `disconnect` on roost in / roost out, as core `mqtt in`/`mqtt out`
// answer them (Node-RED's 10-mqtt.js handleConnectAction / handleDisconnectAction), against an
// embedded broker with an MQTT.js client beside the flow, and against a remote Roost broker and
// Debian's mosquitto.
import assert from 'node:assert/strict'
import { after, afterEach, before, describe, it } from 'node:test'
import mqtt from 'mqtt'
import { type Broker, createBroker, type DeliveredMessage } from '../../lib'
import { engineClientFactory, setClientFactory } from '../../nodes/shared/client-engine'
import { reaches, remoteBroker, subscribed, transport } from './remote-support'
import { collect, embeddedBroker, type FlowNode, helper, listeningBroker, type Mosquitto, roost, startMosquitto, startServer, stopServer } from './support'

type ActingNode = ReturnType<typeof helper.getNode>

/** Sends msg to a node and resolves when the node calls done(): with the error text, or undefined. */
function act (node: ActingNode, msg: Record<string, unknown>): Promise<string | undefined> {
  return new Promise((resolve) => {
    // done(err) ends in Node._complete(msg, err); watch this node's, for this msg only.
    const instance = node as unknown as { _complete: (done: unknown, error?: unknown) => void }
    const complete = instance._complete
    instance._complete = function (this: unknown, done: unknown, error?: unknown): void {
      if (done === msg) {
        instance._complete = complete
        resolve(error === undefined ? undefined : error instanceof Error ? error.message : String(error))
      }
      complete.call(this, done, error)
    }
    node.receive(msg)
  })
}

function lastStatus (id: string): Record<string, unknown> | undefined {
  const spy = (helper as unknown as { _NodePrototype: { status: { getCalls: () => Array<{ thisValue: { id: string }, args: unknown[] }> } } })._NodePrototype.status
  return spy.getCalls().filter((call) => call.thisValue.id === id).at(-1)?.args[0] as Record<string, unknown> | undefined
}

const DISCONNECTED = { fill: 'red', shape: 'ring', text: 'node-red:common.status.disconnected' }
const CONNECTED = { fill: 'green', shape: 'dot', text: 'node-red:common.status.connected' }

function embeddedFlow (): FlowNode[] {
  return [
    embeddedBroker('b1'),
    { id: 'out1', type: 'roost out', broker: 'b1', topic: '', qos: '', retain: '' },
    { id: 'in1', type: 'roost in', broker: 'b1', topic: '', qos: '2', datatype: 'utf8', dynamic: true, inputs: 1, wires: [['sink']] },
    { id: 'sink', type: 'helper' }
  ]
}

describe('msg.action connect / disconnect with an embedded broker', () => {
  before(startServer)
  after(stopServer)
  afterEach(async () => { await helper.unload() })

  it('roost in shows its subscriptions; disconnect detaches the nodes while MQTT.js keeps its connection; connect brings the subscriptions back', async () => {
    await helper.load(roost, embeddedFlow())
    const { broker, port } = await listeningBroker('b1')
    const inNode = helper.getNode('in1')
    const out = helper.getNode('out1')
    assert.equal(await act(inNode, { action: 'subscribe', topic: 'home/#' }), undefined)
    assert.deepEqual(lastStatus('in1'), { fill: 'green', shape: 'dot', text: 'roost-broker.status.filter' })
    assert.equal(await act(inNode, { action: 'subscribe', topic: ['a', 'b'] }), undefined)
    assert.deepEqual(lastStatus('in1'), { fill: 'green', shape: 'dot', text: 'roost-broker.status.filters' })
    assert.deepEqual(lastStatus('out1'), CONNECTED)

    const device = await mqtt.connectAsync({ host: '127.0.0.1', port, clientId: 'device', reconnectPeriod: 0 })
    try {
      assert.equal(await act(out, { action: 'disconnect' }), undefined)
      assert.deepEqual(lastStatus('in1'), DISCONNECTED)
      assert.deepEqual(lastStatus('out1'), DISCONNECTED)
      assert.equal(await act(out, { topic: 'home/x', payload: 'refused' }), 'roost-out.errors.disconnected')
      // The broker goes on serving its network clients: the device still talks to itself through it.
      const echoed = new Promise<string>((resolve) => { device.once('message', (_topic, payload) => { resolve(payload.toString()) }) })
      await device.subscribeAsync('echo', { qos: 1 })
      await device.publishAsync('home/while-detached', 'lost', { qos: 1 })
      await device.publishAsync('echo', 'still served', { qos: 1 })
      assert.equal(await echoed, 'still served')
      assert.ok(device.connected)

      const got = collect(helper.getNode('sink'), 1)
      assert.equal(await act(inNode, { action: 'connect' }), undefined)
      assert.deepEqual(lastStatus('in1'), { fill: 'green', shape: 'dot', text: 'roost-broker.status.filters' })
      assert.deepEqual(lastStatus('out1'), CONNECTED)
      await device.publishAsync('home/after', 'back', { qos: 1 })
      // The first message is the one sent after connect: nothing from the detached time came late.
      assert.deepEqual((await got).map((msg) => [msg.topic, msg.payload]), [['home/after', 'back']])
      assert.equal(await act(out, { topic: 'b', payload: 'published again' }), undefined)
      assert.equal(broker.clientCount, 1)
    } finally {
      await device.endAsync()
    }
  })

  it('subscribing while disconnected waits for connect; a bad filter is still refused at once', async () => {
    await helper.load(roost, embeddedFlow())
    await listeningBroker('b1')
    const inNode = helper.getNode('in1')
    assert.equal(await act(inNode, { action: 'disconnect' }), undefined)
    assert.equal(await act(inNode, { action: 'subscribe', topic: 'later/#' }), undefined)
    assert.equal(await act(inNode, { action: 'subscribe', topic: 'bad/#/filter' }), 'roost-in.errors.invalid-topic')
    assert.equal(await act(inNode, { action: 'connect' }), undefined)
    const got = collect(helper.getNode('sink'), 1)
    assert.equal(await act(helper.getNode('out1'), { topic: 'later/1', payload: 'arrives' }), undefined)
    assert.deepEqual((await got).map((msg) => msg.payload), ['arrives'])
  })

  it('msg.broker is refused for an embedded broker, and any other action on roost out is an error', async () => {
    await helper.load(roost, embeddedFlow())
    await listeningBroker('b1')
    assert.equal(await act(helper.getNode('in1'), { action: 'connect', broker: { port: 1884 } }), 'roost-broker.connection.embedded-options')
    assert.equal(await act(helper.getNode('out1'), { action: 'publish', topic: 't', payload: 'x' }), 'roost-out.errors.invalid-action')
    assert.equal(await act(helper.getNode('in1'), { action: 'publish' }), 'roost-in.errors.invalid-action')
    // A connect while connected, with nothing to change, is simply done (core: "all is good").
    assert.equal(await act(helper.getNode('out1'), { action: 'connect' }), undefined)
    assert.deepEqual(lastStatus('out1'), CONNECTED)
  })
})

describe('msg.action connect / disconnect with a remote broker (lib/client)', () => {
  let far: Broker
  let farPort: number
  let mosquitto: Mosquitto
  before(async () => {
    await startServer()
    const engine = engineClientFactory()
    assert.ok(engine !== undefined)
    setClientFactory(engine)
    far = createBroker({ listeners: [{ port: 0, host: '127.0.0.1' }] })
    farPort = (await far.listen())[0]?.port ?? 0
    mosquitto = await startMosquitto()
  })
  after(async () => {
    await far.close()
    await mosquitto.stop()
    await stopServer()
  })
  afterEach(async () => { await helper.unload() })

  function remoteFlow (brokerExtra: Record<string, unknown> = {}): FlowNode[] {
    return [
      remoteBroker('r1', farPort, brokerExtra),
      { id: 'out1', type: 'roost out', broker: 'r1', topic: '', qos: '', retain: '' },
      { id: 'in1', type: 'roost in', broker: 'r1', topic: 'remote/#', qos: '1', datatype: 'utf8', wires: [['sink']] },
      { id: 'ctl', type: 'roost in', broker: 'r1', topic: '', qos: '2', datatype: 'utf8', dynamic: true, inputs: 1, wires: [[]] },
      { id: 'sink', type: 'helper' }
    ]
  }

  it('"connect automatically" off: nothing connects until a connect action, which resolves once connected', async () => {
    const clientsBefore = far.clientCount
    await helper.load(roost, remoteFlow({ autoConnect: false }))
    assert.equal(transport().status.state, 'disconnected')
    assert.deepEqual(lastStatus('out1'), DISCONNECTED)
    assert.equal(await act(helper.getNode('out1'), { topic: 'remote/x', payload: 'not yet', qos: 1 }), 'roost-out.errors.disconnected')
    assert.equal(far.clientCount, clientsBefore)
    assert.equal(await act(helper.getNode('ctl'), { action: 'connect' }), undefined)
    assert.equal(transport().status.state, 'connected')
    assert.deepEqual(lastStatus('in1'), CONNECTED)
    await subscribed(far, 1)
    const got = collect(helper.getNode('sink'), 1)
    assert.equal(await act(helper.getNode('out1'), { topic: 'remote/x', payload: 'now', qos: 1 }), undefined)
    assert.deepEqual((await got).map((msg) => msg.payload), ['now'])
  })

  it('disconnect sends the close message and keeps the subscriptions; connect makes them again', async () => {
    const closed: DeliveredMessage[] = []
    const stopWatch = far.subscribe('status/flow', 1, (message) => { closed.push(message) })
    try {
      await helper.load(roost, remoteFlow({ closeTopic: 'status/flow', closePayload: 'bye', closeQos: '1' }))
      await reaches('connected')
      // The flow's subscription, beside this test's own in-process one.
      await subscribed(far, 2)
      assert.equal(await act(helper.getNode('out1'), { action: 'disconnect' }), undefined)
      assert.deepEqual(closed.map((message) => message.payload.toString()), ['bye'])
      assert.equal(transport().status.state, 'disconnected')
      assert.deepEqual(lastStatus('in1'), DISCONNECTED)
      assert.equal(transport().filterCount, 1)
      assert.equal(await act(helper.getNode('out1'), { action: 'connect' }), undefined)
      await subscribed(far, 2)
      const got = collect(helper.getNode('sink'), 1)
      far.publish({ topic: 'remote/again', payload: Buffer.from('subscribed again'), qos: 1, retain: false })
      assert.deepEqual((await got).map((msg) => msg.payload), ['subscribed again'])
    } finally {
      stopWatch()
    }
  })

  it('msg.broker while connected is refused without force; a bad value changes nothing; force moves the connection to mosquitto', async () => {
    await helper.load(roost, remoteFlow())
    await reaches('connected')
    const ctl = helper.getNode('ctl')
    assert.equal(await act(ctl, { action: 'connect', broker: { port: mosquitto.port } }), 'roost-broker.connection.already-connected')
    assert.equal(await act(ctl, { action: 'connect', broker: { port: 'eighty', force: true } }), 'roost-broker.connection.invalid-option')
    assert.equal(transport().status.state, 'connected')
    assert.equal(transport().connectionSettings.client.port, farPort)

    assert.equal(await act(ctl, { action: 'connect', broker: { broker: '127.0.0.1', port: String(mosquitto.port), clientid: 'moved-flow', force: true } }), undefined)
    assert.equal(transport().status.state, 'connected')
    assert.equal(transport().connectionSettings.client.port, mosquitto.port)
    // The static roost in subscribed again, at mosquitto: a message from mosquitto_pub reaches the flow.
    const got = collect(helper.getNode('sink'), 1)
    const { execFile } = await import('node:child_process')
    // mosquitto_pub may run before the SUBSCRIBE lands: publish retained so the subscription gets it either way.
    await new Promise<void>((resolve, reject) => {
      execFile('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(mosquitto.port), '-t', 'remote/mosquitto', '-m', 'from mosquitto', '-q', '1', '-r'], (error) => { if (error === null) resolve(); else reject(error) })
    })
    assert.deepEqual((await got).map((msg) => [msg.topic, msg.payload]), [['remote/mosquitto', 'from mosquitto']])
    await new Promise<void>((resolve) => {
      execFile('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(mosquitto.port), '-t', 'remote/mosquitto', '-n', '-r'], () => { resolve() })
    })
  })

  it('url in msg.broker: mqtt://host:port, and a websocket url is refused', async () => {
    await helper.load(roost, remoteFlow({ autoConnect: false }))
    const ctl = helper.getNode('ctl')
    assert.equal(await act(ctl, { action: 'connect', broker: { url: 'ws://127.0.0.1:9001' } }), 'roost-broker.connection.invalid-option')
    assert.equal(transport().status.state, 'disconnected')
    assert.equal(await act(ctl, { action: 'connect', broker: { url: `mqtt://127.0.0.1:${mosquitto.port}` } }), undefined)
    assert.equal(transport().status.state, 'connected')
    assert.equal(transport().connectionSettings.client.port, mosquitto.port)
  })
})

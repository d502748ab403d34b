// Remote mode: the same in/out nodes through the client transport, against a Roost broker and
// Debian's mosquitto started by the test. The client is the engine's lib/client when the build
// has it, else the MQTT.js stand-in with the same contract (mqttjs-client.ts).
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import net from 'node:net'
import { after, afterEach, before, describe, it } from 'node:test'
import { type Broker, createBroker, type DeliveredMessage } from '../../lib'
import { engineClientFactory, setClientFactory } from '../../nodes/shared/client-engine'
import { mqttJsClientFactory } from './mqttjs-client'
import { collect, type FlowNode, freePort, helper, type Mosquitto, type Msg, roost, startMosquitto, startServer, stopServer } from './support'
import { reaches, remoteBroker, subscribed, transport } from './remote-support'

// The engine's own client when the build has lib/client, else the MQTT.js stand-in.
const remoteClient = engineClientFactory() ?? mqttJsClientFactory
const clientName = engineClientFactory() === undefined ? 'MQTT.js stand-in client' : 'lib/client'

function loop (port: number, brokerExtra: Record<string, unknown> = {}, inTopic = 'remote/#'): FlowNode[] {
  return [
    { id: 'tab', type: 'tab', label: 'remote' },
    remoteBroker('r1', port, brokerExtra),
    { id: 'out1', type: 'roost out', z: 'tab', broker: 'r1', topic: '', qos: '', retain: '' },
    { id: 'in1', type: 'roost in', z: 'tab', broker: 'r1', topic: inTopic, qos: '2', datatype: 'auto-detect', wires: [['sink']] },
    { id: 'sink', type: 'helper', z: 'tab' },
    { id: 'catch1', type: 'catch', z: 'tab', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 'tab' }
  ]
}

/** An in-process subscriber on the far broker that records what arrives. */
function watch (broker: Broker, filter: string): { messages: DeliveredMessage[], next: () => Promise<DeliveredMessage>, stop: () => void } {
  const messages: DeliveredMessage[] = []
  let waiter: ((message: DeliveredMessage) => void) | undefined
  const stop = broker.subscribe(filter, 1, (message) => {
    messages.push(message)
    waiter?.(message)
    waiter = undefined
  })
  return {
    messages,
    stop,
    next: () => new Promise((resolve) => { waiter = resolve })
  }
}

describe(`remote mode against a Roost broker (MQTT 3.1.1), ${clientName}`, () => {
  let far: Broker
  let port: number
  before(async () => {
    await startServer()
    setClientFactory(remoteClient)
    far = createBroker({ listeners: [{ port: 0, host: '127.0.0.1' }], allowAnonymous: false, users: { alice: 'wonderland' } })
    port = (await far.listen())[0]?.port ?? 0
  })
  after(async () => {
    setClientFactory(engineClientFactory())
    await far.close()
    await stopServer()
  })
  afterEach(async () => { await helper.unload() })

  for (const qos of [0, 1, 2] as const) {
    it(`roost out → remote broker → roost in at QoS ${qos}, with username and password from credentials`, async () => {
      await helper.load(roost, loop(port), { r1: { user: 'alice', password: 'wonderland' } })
      await reaches('connected')
      await subscribed(far, 1)
      const got = collect(helper.getNode('sink'), 1)
      helper.getNode('out1').receive({ topic: 'remote/a', payload: { n: qos }, qos })
      const [msg] = await got
      assert.deepEqual({ topic: msg?.topic, payload: msg?.payload, qos: msg?.qos, retain: msg?.retain }, { topic: 'remote/a', payload: { n: qos }, qos, retain: false })
    })
  }

  it('client nodes show connecting, then connected, in Node-RED\'s own words', async () => {
    await helper.load(roost, loop(port), { r1: { user: 'alice', password: 'wonderland' } })
    await reaches('connected')
    const spy = (helper as unknown as { _NodePrototype: { status: { getCalls: () => Array<{ thisValue: { id: string }, args: unknown[] }> } } })._NodePrototype.status
    const shown = spy.getCalls().filter((call) => call.thisValue.id === 'out1').map((call) => call.args[0])
    assert.deepEqual(shown, [
      { fill: 'yellow', shape: 'ring', text: 'node-red:common.status.connecting' },
      { fill: 'green', shape: 'dot', text: 'node-red:common.status.connected' }
    ])
  })

  it('wrong password: the connection is refused and the nodes show disconnected', async () => {
    await helper.load(roost, loop(port), { r1: { user: 'alice', password: 'nope' } })
    const refused = new Promise((resolve) => { far.once('clientRefused', resolve) })
    await refused
    assert.ok(['connecting', 'disconnected'].includes(transport().status.state), transport().status.state)
  })

  it('nodes on one filter share one MQTT subscription; it goes away with the last node', async () => {
    const flow = [...loop(port), { id: 'in2', type: 'roost in', z: 'tab', broker: 'r1', topic: 'remote/#', qos: '1', datatype: 'utf8', wires: [['sink']] }]
    const subscribes: string[] = []
    const onSubscribe = (event: { subscriptions: Array<{ filter: string }> }): void => { subscribes.push(...event.subscriptions.map((s) => s.filter)) }
    far.on('subscribe', onSubscribe)
    await helper.load(roost, flow, { r1: { user: 'alice', password: 'wonderland' } })
    await reaches('connected')
    await subscribed(far, 1)
    assert.equal(transport().filterCount, 1)
    const got = collect(helper.getNode('sink'), 2)
    helper.getNode('out1').receive({ topic: 'remote/x', payload: 'both', qos: 1 })
    assert.deepEqual((await got).map((m) => m.payload).sort(), ['both', 'both'])
    far.off('subscribe', onSubscribe)
    assert.deepEqual(subscribes, ['remote/#'])
  })

  it('birth on connect, close message on stop, both published to the remote broker', async () => {
    const seen = watch(far, 'devices/gw/status')
    const nextBirth = seen.next()
    await helper.load(roost, loop(port, { birthTopic: 'devices/gw/status', birthPayload: 'online', birthQos: '1', closeTopic: 'devices/gw/status', closePayload: 'offline', closeQos: '1' }), { r1: { user: 'alice', password: 'wonderland' } })
    assert.equal((await nextBirth).payload.toString(), 'online')
    const nextClose = seen.next()
    await helper.unload()
    assert.equal((await nextClose).payload.toString(), 'offline')
    seen.stop()
    await helper.load(roost, [{ id: 'tab', type: 'tab' }])
  })

  it('the will is published when the connection breaks unexpectedly [MQTT-3.1.2-8]', async () => {
    // A TCP relay between the client and the broker lets the test cut the connection.
    const sockets = new Set<net.Socket>()
    const relay = net.createServer((client) => {
      const upstream = net.connect(port, '127.0.0.1')
      sockets.add(client); sockets.add(upstream)
      client.pipe(upstream); upstream.pipe(client)
      const drop = (): void => { client.destroy(); upstream.destroy() }
      client.on('error', drop); upstream.on('error', drop); client.on('close', drop); upstream.on('close', drop)
    })
    await new Promise<void>((resolve) => { relay.listen(0, '127.0.0.1', resolve) })
    const relayPort = (relay.address() as net.AddressInfo).port
    const seen = watch(far, 'devices/gw/will')
    await helper.load(roost, loop(relayPort, { willTopic: 'devices/gw/will', willPayload: 'lost', willQos: '1', reconnectPeriod: '60' }), { r1: { user: 'alice', password: 'wonderland' } })
    await reaches('connected')
    const will = seen.next()
    const down = reaches('disconnected')
    for (const socket of sockets) socket.destroy()
    assert.equal((await will).payload.toString(), 'lost')
    await down
    // QoS 0 while disconnected is refused, not dropped quietly.
    const caught = collect(helper.getNode('caught'), 1)
    helper.getNode('out1').receive({ topic: 'remote/x', payload: 'late', qos: 0 })
    assert.equal((await caught)[0]?.error?.message, 'Error: roost-out.errors.not-connected')
    seen.stop()
    await helper.unload()
    await helper.load(roost, [{ id: 'tab', type: 'tab' }])
    await new Promise<void>((resolve) => { relay.close(() => { resolve() }) })
  })
  it('50 deploys of a remote flow: each stop closes the connection, nothing piles up', async () => {
    const sockets = (): number => process.getActiveResourcesInfo().filter((kind) => kind === 'TCPSocketWrap' || kind === 'TCPWrap').length
    let baseline: number | undefined
    for (let i = 0; i < 50; i++) {
      await helper.load(roost, loop(port), { r1: { user: 'alice', password: 'wonderland' } })
      await reaches('connected')
      assert.equal(far.clientCount, 1)
      const gone = new Promise((resolve) => { far.once('clientDisconnected', resolve) })
      await helper.unload()
      await gone
      assert.equal(far.clientCount, 0)
      if (i === 0) baseline = sockets()
      else assert.equal(sockets(), baseline, `sockets after stop ${i}`)
    }
    await helper.load(roost, [{ id: 'tab', type: 'tab' }])
  })
})

describe(`remote mode against Debian mosquitto (MQTT 5), ${clientName}`, () => {
  let mosquitto: Mosquitto
  before(async () => {
    await startServer()
    setClientFactory(remoteClient)
    mosquitto = await startMosquitto()
  })
  after(async () => {
    setClientFactory(engineClientFactory())
    await mosquitto.stop()
    await stopServer()
  })
  afterEach(async () => { await helper.unload() })

  /** Publishes until the first message comes back: the SUBSCRIBE may still be on its way. */
  async function roundTrip (msg: Record<string, unknown>): Promise<Msg> {
    const got = collect(helper.getNode('sink'), 1)
    let arrived = false
    void got.then(() => { arrived = true })
    for (let attempt = 0; attempt < 50 && !arrived; attempt++) {
      helper.getNode('out1').receive({ ...msg })
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    return (await got)[0] as Msg
  }

  it('MQTT 5 properties travel from roost out to roost in', async () => {
    await helper.load(roost, loop(mosquitto.port, { protocolVersion: '5' }))
    await reaches('connected')
    const msg = await roundTrip({
      topic: 'remote/v5', payload: '{"ok":true}', qos: 1, contentType: 'application/json', responseTopic: 'remote/reply',
      correlationData: Buffer.from('id-1'), userProperties: { room: 'kitchen' }, messageExpiryInterval: 60
    })
    assert.deepEqual(msg.payload, { ok: true })
    assert.equal(msg.contentType, 'application/json')
    assert.equal(msg.responseTopic, 'remote/reply')
    assert.deepEqual(msg.correlationData, Buffer.from('id-1'))
    assert.deepEqual(msg.userProperties, { room: 'kitchen' })
    assert.ok(typeof msg.messageExpiryInterval === 'number' && msg.messageExpiryInterval <= 60)
  })

  it('subscription options reach mosquitto: No Local and Retain Handling 2 [MQTT-3.8.3-3] [MQTT-3.3.1-11]', async () => {
    const pub = (topic: string, message: string, retain = false): Promise<void> => new Promise((resolve, reject) => {
      execFile('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(mosquitto.port), '-t', topic, '-m', message, '-q', '1', ...(retain ? ['-r'] : [])], (error) => { if (error === null) resolve(); else reject(error) })
    })
    await pub('remote/opts/kept', 'retained before', true)
    const flow = loop(mosquitto.port, { protocolVersion: '5' }, 'remote/opts/#').map((node) => node.id === 'in1' ? { ...node, nl: true, rh: '2', datatype: 'utf8' } : node)
    await helper.load(roost, flow)
    await reaches('connected')
    const got = collect(helper.getNode('sink'), 1)
    // Ours (same connection, No Local) and the retained one (Retain Handling 2) must not arrive;
    // keep sending until a message from another client shows the subscription is in place.
    let arrived = false
    void got.then(() => { arrived = true })
    for (let attempt = 0; attempt < 50 && !arrived; attempt++) {
      helper.getNode('out1').receive({ topic: 'remote/opts/own', payload: 'from this connection', qos: 1 })
      await pub('remote/opts/other', 'from another client')
    }
    const [msg] = await got
    assert.deepEqual({ topic: msg?.topic, payload: msg?.payload }, { topic: 'remote/opts/other', payload: 'from another client' })
    await pub('remote/opts/kept', '', true)
  })

  it('$share/<group>/filter through mosquitto, and a retained message on subscribe', async () => {
    await helper.load(roost, loop(mosquitto.port, { protocolVersion: '5' }, '$share/g/remote/shared/#'))
    await reaches('connected')
    const msg = await roundTrip({ topic: 'remote/shared/1', payload: 'one', qos: 1 })
    assert.deepEqual({ topic: msg.topic, payload: msg.payload }, { topic: 'remote/shared/1', payload: 'one' })
  })

  it('status goes disconnected when mosquitto stops and back to connected when it returns', async () => {
    await helper.load(roost, loop(mosquitto.port, { protocolVersion: '4' }))
    await reaches('connected')
    const down = reaches('disconnected')
    const oldPort = mosquitto.port
    await mosquitto.stop()
    await down
    // The node keeps its configured port: the new mosquitto comes up where the old one was.
    mosquitto = await startMosquitto(oldPort)
    await reaches('connected')
    const msg = await roundTrip({ topic: 'remote/after', payload: 'back', qos: 1 })
    assert.equal(msg.payload, 'back')
  })
})

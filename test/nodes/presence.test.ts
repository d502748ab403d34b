// roost presence: the roster from the embedded broker's connect/disconnect events, from a
// Tasmota-style Last Will published when a client dies without DISCONNECT [MQTT-3.1.2-8], from a
// custom pattern, msg.action = "list", and against a remote broker (topics only, one warning).
import assert from 'node:assert/strict'
import { after, afterEach, before, describe, it } from 'node:test'
import mqtt from 'mqtt'
import { type Broker, createBroker } from '../../lib'
import type { BrokerNode } from '../../nodes/broker/runtime'
import { engineClientFactory, setClientFactory } from '../../nodes/shared/client-engine'
import type { EmbeddedTransport } from '../../nodes/shared/embedded-transport'
import { mqttJsClientFactory } from './mqttjs-client'
import { collect, embeddedBroker, type FlowNode, helper, type Msg, nextError, roost, startServer, stopServer } from './support'

const remoteClient = engineClientFactory() ?? mqttJsClientFactory
const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/

function presenceFlow (presence: Record<string, unknown>, broker: FlowNode = embeddedBroker('b1')): FlowNode[] {
  return [
    { id: 'tab', type: 'tab', label: 'presence' },
    broker,
    { id: 'p1', type: 'roost presence', z: 'tab', broker: broker.id, events: false, pattern: 'none', ...presence, wires: [['sink']] },
    { id: 'sink', type: 'helper', z: 'tab' },
    { id: 'catch1', type: 'catch', z: 'tab', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 'tab' }
  ]
}

async function embedded (): Promise<{ broker: Broker, port: number }> {
  const transport = (helper.getNode('b1') as unknown as BrokerNode).transport as EmbeddedTransport
  await transport.ready()
  return { broker: transport.broker, port: transport.broker.addresses[0]?.port ?? 0 }
}

/** What a change msg says, without its time (checked apart). */
function change (msg: Msg | undefined): unknown {
  assert.ok(msg !== undefined)
  assert.match(String(msg.since), ISO_TIME)
  return { topic: msg.topic, payload: msg.payload, reason: msg.reason, source: msg.source }
}

function closedOnBroker (broker: Broker, clientId: string): Promise<void> {
  return new Promise((resolve) => {
    const onGone = (info: { clientId: string }): void => {
      if (info.clientId === clientId) { broker.off('clientDisconnected', onGone); resolve() }
    }
    broker.on('clientDisconnected', onGone)
  })
}

describe('roost presence on an embedded broker', () => {
  before(startServer)
  after(stopServer)
  afterEach(async () => { await helper.unload() })

  it('client events: connected, disconnected, and will when a client drops without DISCONNECT', async () => {
    await helper.load(roost, presenceFlow({ events: true }))
    const { broker, port } = await embedded()
    const got = collect(helper.getNode('sink'), 4)
    const alice = await mqtt.connectAsync({ host: '127.0.0.1', port, clientId: 'alice', reconnectPeriod: 0 })
    const bob = await mqtt.connectAsync({ host: '127.0.0.1', port, clientId: 'bob', reconnectPeriod: 0, will: { topic: 'clients/bob', payload: Buffer.from('gone'), qos: 0, retain: false } })
    await alice.endAsync()
    const bobGone = closedOnBroker(broker, 'bob')
    bob.stream.destroy()
    await bobGone
    bob.end(true)
    assert.deepEqual((await got).map(change), [
      { topic: 'alice', payload: 'online', reason: 'connected', source: 'client' },
      { topic: 'bob', payload: 'online', reason: 'connected', source: 'client' },
      { topic: 'alice', payload: 'offline', reason: 'disconnected', source: 'client' },
      { topic: 'bob', payload: 'offline', reason: 'will', source: 'client' }
    ])
  })

  it('Tasmota LWT: birth marks the device online, the Last Will the broker publishes marks it offline', async () => {
    await helper.load(roost, presenceFlow({ pattern: 'tasmota' }))
    const { broker, port } = await embedded()
    const got = collect(helper.getNode('sink'), 2)
    const plug = await mqtt.connectAsync({
      host: '127.0.0.1', port, clientId: 'DVES_1A2B3C', reconnectPeriod: 0,
      will: { topic: 'tele/plug-1/LWT', payload: Buffer.from('Offline'), qos: 1, retain: true }
    })
    await plug.publishAsync('tele/plug-1/LWT', 'Online', { qos: 1, retain: true })
    // Killed without DISCONNECT: the broker publishes the will [MQTT-3.1.2-8].
    const gone = closedOnBroker(broker, 'DVES_1A2B3C')
    plug.stream.destroy()
    await gone
    plug.end(true)
    assert.deepEqual((await got).map(change), [
      { topic: 'plug-1', payload: 'online', reason: 'birth', source: 'topic' },
      { topic: 'plug-1', payload: 'offline', reason: 'last will', source: 'topic' }
    ])
  })

  it('custom pattern: payload lists without case, other payloads and topics ignored; list returns the roster', async () => {
    await helper.load(roost, presenceFlow({ pattern: 'custom', topic: 'site/{device}/state', online: 'up, running', offline: 'down' }))
    const { broker } = await embedded()
    const got = collect(helper.getNode('sink'), 3)
    broker.publish({ topic: 'site/pump/state', payload: 'RUNNING' })
    broker.publish({ topic: 'site/pump/state', payload: 'up' })
    broker.publish({ topic: 'site/valve/state', payload: 'maybe' })
    broker.publish({ topic: 'site/valve/other', payload: 'up' })
    broker.publish({ topic: 'site/valve/state', payload: 'Up' })
    broker.publish({ topic: 'site/pump/state', payload: 'down' })
    assert.deepEqual((await got).map(change), [
      { topic: 'pump', payload: 'online', reason: 'birth', source: 'topic' },
      { topic: 'valve', payload: 'online', reason: 'birth', source: 'topic' },
      { topic: 'pump', payload: 'offline', reason: 'last will', source: 'topic' }
    ])
    const listed = collect(helper.getNode('sink'), 1)
    helper.getNode('p1').receive({ action: 'list' })
    const [list] = await listed
    assert.equal(list?.topic, 'presence')
    const roster = list?.payload as Array<Record<string, string>>
    for (const entry of roster) assert.match(entry.since ?? '', ISO_TIME)
    assert.deepEqual(roster.map(({ since: _since, ...rest }) => rest), [
      { id: 'pump', state: 'offline', reason: 'last will', source: 'topic' },
      { id: 'valve', state: 'online', reason: 'birth', source: 'topic' }
    ])
    // Status: how many are online.
    const node = helper.getNode('p1') as unknown as { status: { lastCall: { args: unknown[] } } }
    assert.deepEqual(node.status.lastCall.args[0], { fill: 'green', shape: 'dot', text: 'roost-presence.status.online' })
  })

  it('custom pattern saved without payload lists: online / offline are the words', async () => {
    await helper.load(roost, presenceFlow({ pattern: 'custom', topic: 'units/{device}' }))
    const { broker } = await embedded()
    const got = collect(helper.getNode('sink'), 2)
    broker.publish({ topic: 'units/a', payload: 'Online' })
    broker.publish({ topic: 'units/a', payload: 'OFFLINE' })
    assert.deepEqual((await got).map(change), [
      { topic: 'a', payload: 'online', reason: 'birth', source: 'topic' },
      { topic: 'a', payload: 'offline', reason: 'last will', source: 'topic' }
    ])
  })

  it('a custom topic without one {device} level is reported, and the node still answers list', async () => {
    await helper.load(roost, presenceFlow({ pattern: 'custom', topic: 'units/+/state' }))
    await embedded()
    const logged = helper.log().args.map((args) => (args[0] as { msg: string }).msg)
    assert.ok(logged.includes('roost-presence.errors.invalid-pattern'), logged.join('\n'))
    const node = helper.getNode('p1') as unknown as { status: { lastCall: { args: unknown[] } } }
    assert.deepEqual(node.status.lastCall.args[0], { fill: 'red', shape: 'ring', text: 'roost-presence.errors.invalid-pattern' })
    const listed = collect(helper.getNode('sink'), 1)
    helper.getNode('p1').receive({ action: 'list' })
    assert.deepEqual((await listed)[0]?.payload, [])
  })

  it('list returns the connected clients; an unknown action is an error', async () => {
    await helper.load(roost, presenceFlow({ events: true }))
    const { port } = await embedded()
    const listed = collect(helper.getNode('sink'), 2)
    const carol = await mqtt.connectAsync({ host: '127.0.0.1', port, clientId: 'carol', reconnectPeriod: 0 })
    try {
      helper.getNode('p1').receive({ action: 'list' })
      const [online, list] = await listed
      assert.deepEqual(change(online), { topic: 'carol', payload: 'online', reason: 'connected', source: 'client' })
      assert.deepEqual((list?.payload as Array<Record<string, string>>).map((e) => [e.id, e.state]), [['carol', 'online']])
      const error = nextError(helper.getNode('p1'))
      helper.getNode('p1').receive({ action: 'clear' })
      assert.match(String((await error).args[0]), /roost-presence\.errors\.invalid-action/)
    } finally {
      await carol.endAsync()
    }
  })
})

describe('roost presence on a remote broker', () => {
  let far: Broker
  let port: number
  before(async () => {
    await startServer()
    setClientFactory(remoteClient)
    far = createBroker({ listeners: [{ port: 0, host: '127.0.0.1' }] })
    port = (await far.listen())[0]?.port ?? 0
  })
  after(async () => {
    setClientFactory(engineClientFactory())
    await far.close()
    await stopServer()
  })
  afterEach(async () => { await helper.unload() })

  it('warns once that client events need an embedded broker, and reads Homie $state through the connection', async () => {
    const remote: FlowNode = { id: 'r1', type: 'roost-broker', mode: 'remote', host: '127.0.0.1', remotePort: String(port), protocolVersion: '4', keepalive: '30', cleansession: true, reconnectPeriod: '1' }
    await helper.load(roost, presenceFlow({ events: true, pattern: 'homie' }, remote))
    const warnings = helper.log().args.map((args) => JSON.stringify(args[0])).filter((line) => line.includes('roost-presence.errors.events-remote'))
    assert.equal(warnings.length, 1)
    // The retained $state is there before the node subscribes, and still arrives.
    far.publish({ topic: 'homie/thermostat/$state', payload: 'ready', retain: true, qos: 1 })
    const got = collect(helper.getNode('sink'), 2)
    await new Promise<void>((resolve) => {
      if (far.subscriptionCount > 0) { resolve(); return }
      const check = (): void => { if (far.subscriptionCount > 0) { far.off('subscribe', check); resolve() } }
      far.on('subscribe', check)
    })
    far.publish({ topic: 'homie/thermostat/$state', payload: 'lost', retain: true, qos: 1 })
    assert.deepEqual((await got).map(change), [
      { topic: 'thermostat', payload: 'online', reason: 'birth', source: 'topic' },
      { topic: 'thermostat', payload: 'offline', reason: 'last will', source: 'topic' }
    ])
  })
})

// The examples for the homes Roost serves, deployed as an import leaves them and checked by an
// MQTT.js client speaking each system's conventions: acting as openHAB (its MQTT binding's
// generic thing and broker Last Will) and as Home Assistant (MQTT discovery, availability,
// a switch and a sensor).
import assert from 'node:assert/strict'
import { after, afterEach, before, describe, it } from 'node:test'
import mqtt from 'mqtt'
import type { Broker } from '../../lib'
import { engineClientFactory, setClientFactory } from '../../nodes/shared/client-engine'
import { connected, prepare, readExample, tap } from './example-support'
import { coreNodes, freePort, helper, listeningBroker, type Msg, roost, startServer, stopServer } from './support'

const OPENHAB = 'openHAB - items over MQTT.json'
const HOME_ASSISTANT = 'Home Assistant - MQTT discovery.json'

interface Received { topic: string, payload: string, retain: boolean }

/** Every message a client receives, and a wait for the first on a topic from now on. */
function inbox (client: mqtt.MqttClient): { next: (topic: string) => Promise<Received>, all: (matching: RegExp, count: number) => Promise<Received[]> } {
  const waiters: Array<{ accept: (message: Received) => boolean }> = []
  client.on('message', (topic, payload, packet) => {
    const message = { topic, payload: payload.toString(), retain: packet.retain }
    for (const waiter of [...waiters]) if (waiter.accept(message)) waiters.splice(waiters.indexOf(waiter), 1)
  })
  return {
    next: (topic) => new Promise((resolve) => {
      waiters.push({ accept: (message) => { if (message.topic !== topic) return false; resolve(message); return true } })
    }),
    all: (matching, count) => new Promise((resolve) => {
      const got: Received[] = []
      waiters.push({
        accept: (message) => {
          if (!matching.test(message.topic)) return false
          got.push(message)
          if (got.length < count) return false
          resolve(got)
          return true
        }
      })
    })
  }
}

/** Resolves once the broker holds `count` subscriptions. */
function holdsSubscriptions (broker: Broker, count: number): Promise<void> {
  const enough = (): boolean => broker.subscriptionCount >= count
  if (enough()) return Promise.resolve()
  return new Promise((resolve) => {
    const check = (): void => { if (enough()) { broker.off('subscribe', check); resolve() } }
    broker.on('subscribe', check)
  })
}

/** The next msg from a tapped roost presence node about one id in one state. */
function presenceChange (id: string, state: string): Promise<Msg> {
  return new Promise((resolve) => {
    helper.getNode('tap-oh00000000000008').on('input', (msg: Msg) => { if (msg.topic === id && msg.payload === state) resolve(msg) })
  })
}

describe('examples for openHAB and Home Assistant, checked with MQTT.js speaking their conventions', () => {
  const clients: mqtt.MqttClient[] = []
  before(async () => {
    await startServer()
    const engine = engineClientFactory()
    assert.ok(engine !== undefined)
    setClientFactory(engine)
  })
  after(stopServer)
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.endAsync(true)))
    await helper.unload()
  })

  async function connect (port: number, options: mqtt.IClientOptions): Promise<mqtt.MqttClient> {
    const client = await mqtt.connectAsync({ host: '127.0.0.1', port, reconnectPeriod: 0, ...options })
    clients.push(client)
    return client
  }

  it('openHAB: commands come back as retained states, the sensor reports, and openHAB\'s own Last Will shows in roost presence', async () => {
    const port = await freePort()
    await helper.load([roost, ...coreNodes], tap(prepare(readExample(OPENHAB), port, port), 'oh00000000000008'))
    const { broker } = await listeningBroker('oh000000000000b1')

    // openHAB's broker bridge with lwtTopic set as the example's comment says (empty by default: no will).
    const online = presenceChange('openhab', 'online')
    const openhab = await connect(port, { clientId: 'openhab', will: { topic: 'openhab/status', payload: Buffer.from('offline'), qos: 1, retain: true } })
    assert.equal((await online).reason, 'connected')

    // The generic thing's channels: subscribe to the state topics, command on the command topic.
    const received = inbox(openhab)
    await openhab.subscribeAsync(['home/livingroom/lamp/state', 'home/kitchen/temperature/state'], { qos: 1 })
    const lamp = received.next('home/livingroom/lamp/state')
    await openhab.publishAsync('home/livingroom/lamp/set', 'ON', { qos: 1 })
    assert.deepEqual(await lamp, { topic: 'home/livingroom/lamp/state', payload: 'ON', retain: false })
    const temperature = received.next('home/kitchen/temperature/state')
    helper.getNode('oh00000000000006').receive({})
    assert.match((await temperature).payload, /^\d+\.\d$/)

    // openHAB restarting finds the last states at once: they are retained.
    const restarted = await connect(port, { clientId: 'openhab-after-restart' })
    const retained = inbox(restarted).all(/^home\//, 2)
    await restarted.subscribeAsync('home/+/+/state', { qos: 1 })
    assert.deepEqual((await retained).map((m) => [m.topic, m.retain]).sort(), [['home/kitchen/temperature/state', true], ['home/livingroom/lamp/state', true]])

    // openHAB vanishes without DISCONNECT: the broker publishes its will, roost presence says so.
    const offline = presenceChange('openhab', 'offline')
    openhab.stream.destroy()
    // The client event ("will": its will went out) and the will message itself ("last will", on
    // the {device}/status pattern) race; the first reported wins, and both tell of the Last Will.
    assert.ok(['will', 'last will'].includes((await offline).reason as string))
    const status: Array<[string, boolean]> = []
    // Retained messages are delivered during subscribe(), before it returns.
    broker.subscribe('openhab/status', 0, (message) => { status.push([message.payload.toString(), message.retain]) })()
    assert.deepEqual(status, [['offline', true]])
  })

  it('Home Assistant: discovery configs on its birth message, availability, the switch switches and the sensor reports', async () => {
    const port = await freePort()
    await helper.load([roost, ...coreNodes], prepare(readExample(HOME_ASSISTANT), port, port))
    const { broker } = await listeningBroker('hd000000000000b1')
    await connected('hd000000000000b2')
    // The plug (the broker's only client yet) listens for Home Assistant's status and for relay commands.
    await holdsSubscriptions(broker, 2)

    // Home Assistant: its own will and birth on homeassistant/status, discovery under homeassistant/.
    const ha = await connect(port, { clientId: 'homeassistant', will: { topic: 'homeassistant/status', payload: Buffer.from('offline'), qos: 0, retain: false } })
    const received = inbox(ha)
    await ha.subscribeAsync('homeassistant/#', { qos: 1 })
    const announced = received.all(/^homeassistant\/[^/]+\/roost_demo_plug\/[^/]+\/config$/, 2)
    await ha.publishAsync('homeassistant/status', 'online', { qos: 1 })
    const configs = new Map((await announced).map((m) => [m.topic.split('/')[1], JSON.parse(m.payload) as Record<string, any>]))
    const relay = configs.get('switch') as Record<string, any>
    const power = configs.get('sensor') as Record<string, any>
    assert.ok(relay !== undefined && power !== undefined, [...configs.keys()].join(', '))
    for (const config of [relay, power]) {
      assert.equal(typeof config.name, 'string')
      assert.equal(typeof config.unique_id, 'string')
      assert.equal(typeof config.state_topic, 'string')
      assert.deepEqual([config.payload_available, config.payload_not_available], ['online', 'offline'])
      assert.deepEqual(config.device.identifiers, ['roost_demo_plug'])
    }
    assert.notEqual(relay.unique_id, power.unique_id)
    assert.equal(typeof relay.command_topic, 'string')
    assert.deepEqual([power.device_class, power.unit_of_measurement], ['power', 'W'])

    // Availability: the plug connection's birth message, retained.
    const available = received.next(relay.availability_topic)
    await ha.subscribeAsync(relay.availability_topic, { qos: 1 })
    assert.equal((await available).payload, relay.payload_available)

    // The dashboard's switch: command with payload_on, state comes back as payload_on.
    await ha.subscribeAsync([relay.state_topic, power.state_topic], { qos: 1 })
    const state = received.next(relay.state_topic)
    await ha.publishAsync(relay.command_topic, relay.payload_on, { qos: 1 })
    assert.equal((await state).payload, relay.payload_on)
    const watts = received.next(power.state_topic)
    helper.getNode('hd0000000000000a').receive({})
    assert.ok(Number((await watts).payload) > 0, 'the plug draws power while on')

    // The configs are retained: Home Assistant restarting reads them before any birth message.
    const restarted = await connect(port, { clientId: 'homeassistant-after-restart' })
    const again = inbox(restarted).all(/\/config$/, 2)
    await restarted.subscribeAsync('homeassistant/+/roost_demo_plug/+/config', { qos: 1 })
    assert.deepEqual((await again).map((m) => m.retain), [true, true])
  })
})

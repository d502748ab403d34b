// Every file in examples/ is loaded and deployed, and a message goes through it, so the
// examples cannot rot. Ports are rewritten to free ones; remote brokers point at a broker the
// test starts.
import assert from 'node:assert/strict'
import { readdirSync } from 'node:fs'
import { after, afterEach, before, describe, it } from 'node:test'
import { hashForDialog } from '../../nodes/broker/password-hash'
import type { BrokerNode } from '../../nodes/broker/runtime'
import { engineClientFactory, setClientFactory } from '../../nodes/shared/client-engine'
import type { EmbeddedTransport } from '../../nodes/shared/embedded-transport'
import { makeTempDir } from '../cli/helpers'
import { ProcessPool } from '../clients/processes'
import { subscribed } from '../clients/support'
import { makeCertificates } from '../helpers/certificates'
import { bridgeReaches } from '../bridge/helpers'
import { mqttJsClientFactory } from './mqttjs-client'
import { connected, examplesDir, prepare, readExample, sent, tap } from './example-support'
import { coreNodes, type FlowNode, freePort, helper, type Mosquitto, type Msg, roost, startMosquitto, startServer, stopServer } from './support'

// The engine's own client when the build has lib/client, else the MQTT.js stand-in.
const remoteClient = engineClientFactory() ?? mqttJsClientFactory
const clientName = engineClientFactory() === undefined ? 'MQTT.js stand-in client' : 'lib/client'

const REQUIRED = [
  'Local broker with in and out.json',
  'Home automation - device state with retained messages and Last Will.json',
  'Dynamic subscriptions.json',
  'Talk to a remote broker.json',
  'Broker dashboard from roost sys.json',
  'Device presence from Last Will messages.json',
  'Secure broker - TLS, users and access rules.json',
  'Bridge a home broker to a cloud broker.json',
  // Deployed and checked with clients speaking their conventions in examples-home.test.ts.
  'openHAB - items over MQTT.json',
  'Home Assistant - MQTT discovery.json'
]

describe(`examples (remote brokers through ${clientName})`, () => {
  // The remote example speaks MQTT 5, so its far end is Debian's mosquitto.
  let mosquitto: Mosquitto
  let remotePort: number
  before(async () => {
    await startServer()
    setClientFactory(remoteClient)
    mosquitto = await startMosquitto()
    remotePort = mosquitto.port
  })
  after(async () => {
    setClientFactory(engineClientFactory())
    await mosquitto.stop()
    await stopServer()
  })
  afterEach(async () => { await helper.unload() })

  it('ships the examples the package promises, and nothing unparsable', () => {
    const files = readdirSync(examplesDir).filter((file) => file.endsWith('.json')).sort()
    for (const file of REQUIRED) assert.ok(files.includes(file), `missing ${file}`)
    for (const file of files) assert.ok(Array.isArray(readExample(file)))
  })

  it('Local broker with in and out: the inject goes round through the broker', async () => {
    const flow = tap(prepare(readExample(REQUIRED[0] as string), await freePort(), remotePort), 'c1a0c0de00000004')
    await helper.load([roost, ...coreNodes], flow)
    await (((helper.getNode('c1a0c0de000000b1') as unknown as BrokerNode).transport) as EmbeddedTransport).ready()
    const got = sent('c1a0c0de00000004')
    helper.getNode('c1a0c0de00000002').receive({})
    const [msg] = await got
    assert.equal(msg?.topic, 'demo/time')
    assert.equal(typeof msg?.payload, 'number')
  })

  it('Home automation: birth marks the gateway online, lamp state is retained', async () => {
    const port = await freePort()
    await helper.load([roost, ...coreNodes], tap(prepare(readExample(REQUIRED[1] as string), port, remotePort), 'ha00000000000005'))
    const broker = ((helper.getNode('ha000000000000b1') as unknown as BrokerNode).transport as EmbeddedTransport).broker
    // The birth message is retained: whether it came before or after this subscribe, it arrives.
    const birth = await new Promise<Msg>((resolve) => {
      broker.subscribe('home/gateway/status', 1, (message) => { resolve(message as unknown as Msg) })
    })
    assert.deepEqual({ topic: birth.topic, payload: birth.payload.toString() }, { topic: 'home/gateway/status', payload: 'online' })
    const states = sent('ha00000000000005')
    helper.getNode('ha00000000000002').receive({})
    const [state] = await states
    assert.deepEqual({ topic: state?.topic, payload: state?.payload }, { topic: 'home/livingroom/lamp/state', payload: 'ON' })
    // The state was kept: the embedded broker holds it as the retained value of the topic.
    // Retained messages are delivered during subscribe(), before it returns.
    const delivered: Msg[] = []
    const stop = broker.subscribe('home/livingroom/lamp/state', 0, (message) => { delivered.push(message) })
    stop()
    assert.deepEqual(delivered.map((m) => [m.payload.toString(), m.retain]), [['ON', true]])
  })

  it('Dynamic subscriptions: subscribe, receive, list, unsubscribe', async () => {
    await helper.load([roost, ...coreNodes], tap(prepare(readExample(REQUIRED[2] as string), await freePort(), remotePort), 'dy00000000000006'))
    helper.getNode('dy00000000000003').receive({})
    await new Promise((resolve) => setImmediate(resolve))
    const got = sent('dy00000000000006')
    helper.getNode('dy00000000000008').receive({})
    const [reading] = await got
    assert.equal(reading?.topic, 'sensors/kitchen/temperature')
    assert.equal(reading?.payload.value, 21.5)
    const listed = sent('dy00000000000006')
    helper.getNode('dy00000000000005').receive({})
    assert.deepEqual((await listed)[0]?.payload, [{ topic: 'sensors/#', qos: 1, datatype: 'json' }])
  })

  it('Talk to a remote broker: MQTT 5 request goes out and comes back with its properties', async () => {
    await helper.load([roost, ...coreNodes], tap(prepare(readExample(REQUIRED[3] as string), await freePort(), remotePort), 're00000000000004'))
    await connected('re000000000000b1')
    // The SUBSCRIBE goes out on connect and may still be on its way: publish until one comes back.
    const got = sent('re00000000000004')
    let arrived = false
    void got.then(() => { arrived = true })
    for (let attempt = 0; attempt < 50 && !arrived; attempt++) {
      helper.getNode('re00000000000002').receive({})
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    const [msg] = await got
    assert.equal(msg?.topic, 'roost/example/requests')
    assert.deepEqual(msg?.payload, { question: 'status?' })
    assert.equal(msg?.responseTopic, 'roost/example/replies')
    assert.equal(msg?.contentType, 'application/json')
  })

  it('Bridge a home broker to a cloud broker: the reading crosses out under site-1/, the command comes in under home/', async () => {
    // The stand-in cloud broker gets a port of its own, and the bridge its address.
    const cloudPort = await freePort()
    const flow = tap(tap(prepare(readExample(REQUIRED[7] as string), await freePort(), remotePort), 'bh00000000000004'), 'bh00000000000008').map((node): FlowNode => {
      if (node.id === 'bh000000000000b2') return { ...node, port: String(cloudPort) }
      if (node.id === 'bh000000000000b1') return { ...node, bridges: (node.bridges as Array<Record<string, unknown>>).map((b) => ({ ...b, addresses: `127.0.0.1:${cloudPort}` })) }
      return node
    })
    await helper.load([roost, ...coreNodes], flow)
    const home = ((helper.getNode('bh000000000000b1') as unknown as BrokerNode).transport as EmbeddedTransport).broker
    await bridgeReaches(home, 'cloud', 'connected')
    // The bridge subscribes on both sides once connected: send until one message has crossed.
    async function cross (injectId: string, tapId: string): Promise<Msg> {
      const got = sent(tapId)
      let arrived = false
      void got.then(() => { arrived = true })
      for (let attempt = 0; attempt < 100 && !arrived; attempt++) {
        helper.getNode(injectId).receive({})
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
      return (await got)[0] as Msg
    }
    const reading = await cross('bh00000000000002', 'bh00000000000004')
    assert.deepEqual([reading.topic, reading.payload], ['site-1/sensors/kitchen/temperature', 21.5])
    const command = await cross('bh00000000000006', 'bh00000000000008')
    assert.deepEqual([command.topic, command.payload], ['home/commands/lamp', 'on'])
  })

  it('Broker dashboard from roost sys: an inject asks for the figures, the function picks them', async () => {
    await helper.load([roost, ...coreNodes], tap(prepare(readExample(REQUIRED[4] as string), await freePort(), remotePort), 'sy00000000000004'))
    await (((helper.getNode('sy000000000000b1') as unknown as BrokerNode).transport) as EmbeddedTransport).ready()
    const got = sent('sy00000000000004')
    helper.getNode('sy00000000000002').receive({})
    const [msg] = await got
    const figures = msg?.payload as Record<string, number>
    assert.deepEqual(Object.keys(figures), ['clients', 'subscriptions', 'retained', 'messagesPerSecondIn', 'messagesPerSecondOut', 'load5min', 'uptime', 'heapMB'])
    assert.deepEqual({ clients: figures.clients, subscriptions: figures.subscriptions, retained: figures.retained, in: figures.messagesPerSecondIn }, { clients: 0, subscriptions: 0, retained: 0, in: 0 })
    assert.ok((figures.heapMB ?? 0) > 0)
  })

  it('Device presence from Last Will messages: the simulated plug goes online and offline, list shows it', async () => {
    await helper.load([roost, ...coreNodes], tap(tap(prepare(readExample(REQUIRED[5] as string), await freePort(), remotePort), 'pr00000000000004'), 'pr00000000000002'))
    await (((helper.getNode('pr000000000000b1') as unknown as BrokerNode).transport) as EmbeddedTransport).ready()
    const lines = sent('pr00000000000004', 2)
    helper.getNode('pr00000000000006').receive({})
    await new Promise((resolve) => setImmediate(resolve))
    helper.getNode('pr00000000000009').receive({})
    const [online, offline] = (await lines).map((m) => String(m.payload).replace(/since .*$/, 'since <time>'))
    assert.equal(online, 'demo-plug is online (birth, topic) since <time>')
    assert.equal(offline, 'demo-plug is offline (last will, topic) since <time>')
    const listed = sent('pr00000000000002')
    helper.getNode('pr00000000000005').receive({})
    const [list] = await listed
    assert.deepEqual((list?.payload as Array<Record<string, string>>).map((e) => [e.id, e.state, e.reason]), [['demo-plug', 'offline', 'last will']])
  })

  it('Secure broker: over TLS with certificates made by openssl, the users added in the dialog write and read where the rules let them', async () => {
    const temp = makeTempDir()
    const processes = new ProcessPool()
    try {
      const certificates = makeCertificates(temp.dir)
      const tlsPort = await freePort()
      // The example's TLS listener on a free loopback port, its tls-config node at this test's
      // certificate files (the example names /etc/roost/certs, made by the commands in its comment).
      const flow = tap(prepare(readExample(REQUIRED[6] as string), await freePort(), remotePort), 'se00000000000004').map((node): FlowNode => {
        if (node.type === 'roost-broker') return { ...node, listeners: [{ ...(node.listeners as object[])[0], port: String(tlsPort), host: '127.0.0.1' }] }
        if (node.type === 'tls-config') return { ...node, cert: certificates.file('server.crt'), key: certificates.file('server.key'), ca: certificates.file('ca.crt') }
        return node
      })
      // The users a person adds in the Security tab, stored as the dialog stores them.
      const users = [{ username: 'sensor', hash: await hashForDialog({ password: 'sensor-pw' }) }, { username: 'dashboard', hash: await hashForDialog({ password: 'dashboard-pw' }) }]
      await helper.load([roost, ...coreNodes], flow, { se000000000000b1: { users: JSON.stringify(users) } })
      await (((helper.getNode('se000000000000b1') as unknown as BrokerNode).transport) as EmbeddedTransport).ready()
      const overTls = (user: string): string[] => ['-h', '127.0.0.1', '-p', String(tlsPort), '--cafile', certificates.file('ca.crt'), '-u', user, '-P', `${user}-pw`, '-q', '1']
      // dashboard reads everything under home/: the inject's reading, published in the flow.
      const broker = ((helper.getNode('se000000000000b1') as unknown as BrokerNode).transport as EmbeddedTransport).broker
      const viewing = subscribed(broker, 'dashboard-view')
      const dashboard = processes.start('mosquitto_sub', [...overTls('dashboard'), '-t', 'home/#', '-C', '1', '-W', '20', '-v', '-i', 'dashboard-view'])
      await viewing
      helper.getNode('se00000000000002').receive({})
      assert.equal((await dashboard.finished).stdout, 'home/sensors/kitchen/temperature 21.5\n')
      // dashboard may not write under home/sensors/ (acknowledged and dropped on MQTT 3.1.1); sensor may.
      const tapped: Msg[] = []
      helper.getNode('tap-se00000000000004').on('input', (msg: Msg) => { tapped.push(msg) })
      assert.equal((await processes.run('mosquitto_pub', [...overTls('dashboard'), '-t', 'home/sensors/hall/temperature', '-m', '99'])).code, 0)
      const fromSensor = sent('se00000000000004')
      const pub = await processes.run('mosquitto_pub', [...overTls('sensor'), '-t', 'home/sensors/hall/temperature', '-m', '19'])
      assert.equal(pub.code, 0, pub.stderr)
      await fromSensor
      assert.deepEqual(tapped.map((msg) => [msg.topic, msg.payload]), [['home/sensors/hall/temperature', 19]])
      // No anonymous clients on this broker, and no plain MQTT on the TLS port.
      assert.notEqual((await processes.run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(tlsPort), '--cafile', certificates.file('ca.crt'), '-t', 'home/x', '-m', 'x', '-q', '1'])).code, 0)
    } finally {
      await processes.killAll()
      temp.remove()
    }
  })
})

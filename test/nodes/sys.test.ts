// roost sys: the broker's statistics object from an embedded broker (exact counters after known
// traffic) and from Debian's mosquitto through its $SYS tree, with the same shape from both.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { after, afterEach, before, describe, it } from 'node:test'
import mqtt from 'mqtt'
import type { BrokerStatsSnapshot } from '../../lib'
import type { BrokerNode } from '../../nodes/broker/runtime'
import { engineClientFactory, setClientFactory } from '../../nodes/shared/client-engine'
import type { EmbeddedTransport } from '../../nodes/shared/embedded-transport'
import type { RoostTransport } from '../../nodes/shared/transport'
import { startMosquitto as startMosquittoWith, type Mosquitto } from '../client/helpers'
import { mqttJsClientFactory } from './mqttjs-client'
import { collect, embeddedBroker, type FlowNode, helper, type Msg, roost, startServer, stopServer } from './support'

const remoteClient = engineClientFactory() ?? mqttJsClientFactory

function sysFlow (broker: FlowNode): FlowNode[] {
  return [
    { id: 'tab', type: 'tab', label: 'sys' },
    broker,
    // An hour: the interval never fires during a test; inputs trigger the emits.
    { id: 'sys1', type: 'roost sys', z: 'tab', broker: broker.id, interval: '3600', wires: [['sink']] },
    { id: 'sink', type: 'helper', z: 'tab' }
  ]
}

function transportOf (id: string): RoostTransport {
  const transport = (helper.getNode(id) as unknown as BrokerNode).transport
  assert.ok(transport !== undefined)
  return transport
}

async function emitOnce (): Promise<Msg> {
  const got = collect(helper.getNode('sink'), 1)
  helper.getNode('sys1').receive({ note: 'kept' })
  const [msg] = await got
  assert.ok(msg !== undefined)
  return msg
}

/** Every key path of an object with the type of its value: the shape a flow relies on. */
function shape (value: unknown, prefix = ''): string[] {
  if (typeof value !== 'object' || value === null) return [`${prefix}:${typeof value}`]
  return Object.entries(value).flatMap(([key, child]) => shape(child, prefix === '' ? key : `${prefix}.${key}`)).sort()
}

async function connect (port: number, clientId: string): Promise<mqtt.MqttClient> {
  return await mqtt.connectAsync({ host: '127.0.0.1', port, clientId, reconnectPeriod: 0, keepalive: 600 })
}

let embeddedShape: string[] | undefined

describe('roost sys against an embedded broker', () => {
  before(startServer)
  after(stopServer)
  afterEach(async () => { await helper.unload() })

  it('sends the counters of known traffic: clients, subscriptions, retained, messages, publish', async () => {
    await helper.load(roost, sysFlow(embeddedBroker('b1')))
    const transport = transportOf('b1') as EmbeddedTransport
    await transport.ready()
    const client = await connect(transport.broker.addresses[0]?.port ?? 0, 'sys-probe')
    try {
      await client.subscribeAsync('sys/test/#', { qos: 0 })
      const received = new Promise<void>((resolve) => {
        let count = 0
        client.on('message', () => { if (++count === 3) resolve() })
      })
      for (const n of [1, 2, 3]) await client.publishAsync(`sys/test/${n}`, `m${n}`, { qos: 0 })
      await client.publishAsync('sys/keep', 'kept', { qos: 1, retain: true })
      await received

      const msg = await emitOnce()
      assert.equal(msg.topic, 'roost/sys')
      assert.equal(msg.note, 'kept', 'the input msg is passed on with the figures')
      const stats = msg.payload as BrokerStatsSnapshot
      assert.deepEqual(stats.clients, { connected: 1, disconnected: 0, total: 1, maximum: 1, expired: 0 })
      assert.equal(stats.subscriptions, 1)
      assert.equal(stats.sharedSubscriptions, 0)
      assert.equal(stats.retained, 1)
      // In: CONNECT, SUBSCRIBE, 3 PUBLISH QoS 0, 1 PUBLISH QoS 1. Out: CONNACK, SUBACK, 3 PUBLISH, PUBACK.
      assert.deepEqual(stats.messages, { received: 6, sent: 6 })
      assert.equal(stats.publish.received, 4)
      assert.equal(stats.publish.sent, 3)
      assert.equal(stats.publish.dropped, 0)
      assert.equal(stats.connections, 1)
      assert.equal(stats.sockets, 1)
      assert.match(stats.version, /^roost version /)
      // The first emit only sets the baseline of the rates.
      assert.deepEqual(stats.rates, { messagesReceived: 0, messagesSent: 0, publishReceived: 0, publishSent: 0, publishDropped: 0, bytesReceived: 0, bytesSent: 0 })
      // The figures are the broker's own.
      const direct = transport.broker.statsSnapshot()
      assert.deepEqual({ ...stats, rates: direct.rates, heap: direct.heap, uptimeSec: direct.uptimeSec }, direct)

      // Traffic between two emits shows as a rate.
      await client.publishAsync('sys/test/4', 'm4', { qos: 1 })
      const second = (await emitOnce()).payload as BrokerStatsSnapshot
      assert.equal(second.publish.received, 5)
      assert.ok(second.rates.publishReceived > 0, JSON.stringify(second.rates))
      embeddedShape = shape(second)
    } finally {
      await client.endAsync()
    }
  })

  it('status: green summary after an emit', async () => {
    await helper.load(roost, sysFlow(embeddedBroker('b1')))
    await (transportOf('b1') as EmbeddedTransport).ready()
    const node = helper.getNode('sys1') as unknown as { status: { lastCall: { args: unknown[] } } }
    await emitOnce()
    assert.deepEqual(node.status.lastCall.args[0], { fill: 'green', shape: 'dot', text: 'roost-sys.status.summary' })
  })
})

describe('roost sys against Debian mosquitto ($SYS/broker/#)', () => {
  let mosquitto: Mosquitto
  const dir = mkdtempSync(path.join(os.tmpdir(), 'roost-sys-'))
  before(async () => {
    await startServer()
    setClientFactory(remoteClient)
    mosquitto = await startMosquittoWith(dir, ['sys_interval 1'])
  })
  after(async () => {
    setClientFactory(engineClientFactory())
    await mosquitto.stop()
    rmSync(dir, { recursive: true, force: true })
    await stopServer()
  })
  afterEach(async () => { await helper.unload() })

  it('maps mosquitto\'s tree onto the same object, with the same keys as the embedded broker', async () => {
    const remote: FlowNode = { id: 'r1', type: 'roost-broker', mode: 'remote', host: '127.0.0.1', remotePort: String(mosquitto.port), protocolVersion: '4', keepalive: '30', cleansession: true, reconnectPeriod: '1' }
    await helper.load(roost, sysFlow(remote))
    const transport = transportOf('r1')
    if (transport.status.state !== 'connected') {
      await new Promise<void>((resolve) => { const stop = transport.onStatus((s) => { if (s.state === 'connected') { stop(); resolve() } }) })
    }
    // mosquitto publishes its tree every second: ask until it has counted this connection.
    // Bounded: 100 tries, 100 ms apart.
    let stats: BrokerStatsSnapshot | undefined
    for (let attempt = 0; attempt < 100; attempt++) {
      const got = collect(helper.getNode('sink'), 1)
      helper.getNode('sys1').receive({})
      const arrived = await Promise.race([got, new Promise<undefined>((resolve) => setTimeout(() => { resolve(undefined) }, 100))])
      const payload = arrived?.[0]?.payload as BrokerStatsSnapshot | undefined
      if (payload !== undefined && payload.clients.connected === 1 && payload.subscriptions >= 1) { stats = payload; break }
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    assert.ok(stats !== undefined, 'no $SYS figures from mosquitto')
    assert.match(stats.version, /^mosquitto version \d/)
    assert.equal(stats.clients.connected, 1)
    assert.ok(stats.uptimeSec >= 0)
    assert.ok(stats.messages.received >= 2, 'CONNECT and SUBSCRIBE at least')
    assert.ok(stats.bytes.sent > 0)
    assert.ok(embeddedShape !== undefined, 'the embedded spec ran first')
    assert.deepEqual(shape(stats), embeddedShape)
  })
})

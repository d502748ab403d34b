// The client engine speaking MQTT 5 to Debian's mosquitto: CONNACK properties, PUBLISH properties
// both ways, subscription options and identifiers, topic aliases, receive maximum, session expiry,
// and will properties. (Mosquitto 2.0.11 sends no topic aliases to clients and no DISCONNECT on
// takeover: the scripted-server specs cover those.)
import assert from 'node:assert/strict'
import { once } from 'node:events'
import net from 'node:net'
import { after, before, describe, it } from 'node:test'
import type mqttPacket from 'mqtt-packet'
import { type ClientOptionsInput, type ConnackProperties, createClient, type DeliveredMessage, type MqttClient } from '../../lib'
import { PacketDecoder } from '../../lib/codec/decoder'
import { Framer } from '../../lib/codec/framer'
import { collect, type Mosquitto, next, startMosquitto, tempDir, until } from './helpers'

type Received = DeliveredMessage & { dup: boolean }

/** Passes bytes between the client and mosquitto and records what the client sends. */
class RecordingProxy {
  readonly sent: mqttPacket.Packet[] = []
  private readonly sockets = new Set<net.Socket>()
  private readonly server = net.createServer((socket) => this.onSocket(socket))
  port = 0

  constructor (private readonly target: number) {}

  async listen (): Promise<void> {
    this.server.listen(0, '127.0.0.1')
    await once(this.server, 'listening')
    this.port = (this.server.address() as net.AddressInfo).port
  }

  async close (): Promise<void> {
    for (const socket of this.sockets) socket.destroy()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }

  private onSocket (socket: net.Socket): void {
    const upstream = net.connect({ host: '127.0.0.1', port: this.target })
    const decoder = new PacketDecoder()
    const framer = new Framer({ onFrame: (_f, _b, whole) => this.sent.push(decoder.decode(whole, 5)), onFrameError: () => {} }, 268_435_455)
    for (const s of [socket, upstream]) {
      this.sockets.add(s)
      s.on('error', () => {})
      s.on('close', () => { socket.destroy(); upstream.destroy() })
    }
    socket.on('data', (chunk: Buffer) => { framer.push(chunk); upstream.write(chunk) })
    upstream.on('data', (chunk: Buffer) => socket.write(chunk))
  }
}

describe('client engine speaking MQTT 5 to mosquitto', () => {
  const temp = tempDir('client-mqtt5')
  let mosquitto: Mosquitto
  let clients: MqttClient[] = []

  function client (options: Partial<ClientOptionsInput> = {}): MqttClient {
    const made = createClient({ host: '127.0.0.1', port: mosquitto.port, protocolVersion: 5, reconnectPeriodMs: 50, ...options })
    made.on('error', () => {})
    clients.push(made)
    return made
  }

  async function connected (options: Partial<ClientOptionsInput> = {}): Promise<{ c: MqttClient, sessionPresent: boolean, properties?: ConnackProperties }> {
    const c = client(options).connect()
    const [event] = await next<[{ sessionPresent: boolean, properties?: ConnackProperties }]>(c, 'connect')
    return { c, ...event }
  }

  before(async () => { mosquitto = await startMosquitto(temp.dir, ['max_inflight_messages 3']) })
  after(async () => {
    await Promise.all(clients.map((c) => c.end(true)))
    clients = []
    await mosquitto.stop()
    temp.remove()
  })

  it('reads CONNACK properties and takes the client identifier mosquitto assigns [MQTT-3.2.2-16]', async () => {
    const { c, properties } = await connected({ clientId: '' })
    assert.equal(properties?.topicAliasMaximum, 10)
    assert.equal(properties?.receiveMaximum, 3)
    assert.match(properties?.assignedClientIdentifier ?? '', /^auto-/)
    assert.equal(c.clientId, properties?.assignedClientIdentifier)
  })

  it('carries PUBLISH properties both ways, with the subscription identifier added [MQTT-3.3.2-18]', async () => {
    const { c } = await connected()
    assert.deepEqual(await c.subscribe([{ filter: 'props/#', qos: 1 }], { subscriptionIdentifier: 7 }), [1])
    const arriving = next<[Received]>(c, 'message')
    await c.publish({
      topic: 'props/one',
      payload: '{"on":true}',
      qos: 1,
      properties: {
        payloadFormatIndicator: true,
        contentType: 'application/json',
        responseTopic: 'props/reply',
        correlationData: Buffer.from([1, 2, 3, 4]),
        messageExpiryInterval: 60,
        userProperties: { room: 'kitchen', tag: ['a', 'b'] }
      }
    })
    const [message] = await arriving
    const { messageExpiryInterval, ...rest } = message.properties ?? {}
    assert.deepEqual({ ...message, properties: rest }, {
      topic: 'props/one',
      payload: Buffer.from('{"on":true}'),
      qos: 1,
      retain: false,
      dup: false,
      properties: {
        payloadFormatIndicator: true,
        contentType: 'application/json',
        responseTopic: 'props/reply',
        correlationData: Buffer.from([1, 2, 3, 4]),
        userProperties: { room: 'kitchen', tag: ['a', 'b'] },
        subscriptionIdentifier: 7
      }
    })
    // [MQTT-3.3.2-6] the forwarded interval is what remains, in whole seconds
    assert.ok(messageExpiryInterval === 60 || messageExpiryInterval === 59, `messageExpiryInterval ${String(messageExpiryInterval)}`)
  })

  it('sends topic aliases that mosquitto resolves for its subscribers [MQTT-3.3.2-12]', async () => {
    const proxy = new RecordingProxy(mosquitto.port)
    await proxy.listen()
    try {
      const { c: receiver } = await connected()
      await receiver.subscribe([{ filter: 'aliased/#', qos: 1 }])
      const arriving = collect<Received>(receiver, 'message', 3)
      const { c: sender, properties } = await connected({ port: proxy.port, useTopicAliases: true })
      assert.equal(properties?.topicAliasMaximum, 10)
      for (const n of [1, 2, 3]) await sender.publish({ topic: 'aliased/a/rather/long/topic', payload: String(n), qos: 1 })
      assert.deepEqual((await arriving).map((m) => [m.topic, m.payload.toString()]),
        [['aliased/a/rather/long/topic', '1'], ['aliased/a/rather/long/topic', '2'], ['aliased/a/rather/long/topic', '3']])
      const publishes = proxy.sent.filter((p): p is mqttPacket.IPublishPacket => p.cmd === 'publish')
      assert.deepEqual(publishes.map((p) => [p.topic, p.properties?.topicAlias]),
        [['aliased/a/rather/long/topic', 1], ['', 1], ['', 1]])
      await sender.end()
    } finally {
      await proxy.close()
    }
  })

  it('honours subscription options: no local, retain as published, retain handling [MQTT-3.8.3-3]', async () => {
    const { c } = await connected()
    const { c: other } = await connected()
    await other.publish({ topic: 'opts/rap/kept', payload: 'r', qos: 1, retain: true })
    const seen: Received[] = []
    c.on('message', (m) => seen.push(m))
    assert.deepEqual(await c.subscribe([
      { filter: 'opts/nl', qos: 1, nl: true },
      { filter: 'opts/rap/plain', qos: 1 },
      { filter: 'opts/rap/as-published', qos: 1, rap: true },
      // Retain handling 2: no retained messages at subscribe time (the long option name).
      { filter: 'opts/rap/kept', qos: 1, retainHandling: 2 }
    ]), [1, 1, 1, 1])
    await c.publish({ topic: 'opts/nl', payload: 'mine', qos: 1 })
    await other.publish({ topic: 'opts/nl', payload: 'theirs', qos: 1 })
    await other.publish({ topic: 'opts/rap/plain', payload: 'p', qos: 1, retain: true })
    await other.publish({ topic: 'opts/rap/as-published', payload: 'a', qos: 1, retain: true })
    const last = until<Received>(c, 'message', (m) => m.payload.toString() === 'end')
    await other.publish({ topic: 'opts/nl', payload: 'end', qos: 1 })
    await last
    assert.deepEqual(seen.map((m) => [m.topic, m.payload.toString(), m.retain]), [
      ['opts/nl', 'theirs', false],
      // [MQTT-3.3.1-12] without retain as published, a live message arrives with retain 0
      ['opts/rap/plain', 'p', false],
      ['opts/rap/as-published', 'a', true],
      ['opts/nl', 'end', false]
    ])
    for (const topic of ['opts/rap/kept', 'opts/rap/plain', 'opts/rap/as-published']) await other.publish({ topic, payload: '', qos: 1, retain: true })
  })

  it('keeps to mosquitto\'s receive maximum and completes every message [MQTT-3.3.4-7]', async () => {
    const { c } = await connected()
    const done = Array.from({ length: 8 }, (_, n) => c.publish({ topic: `window/${n}`, payload: String(n), qos: 2 }))
    assert.deepEqual([c.inflightCount, c.queuedCount], [3, 5])
    await Promise.all(done)
    assert.deepEqual([c.inflightCount, c.queuedCount], [0, 0])
  })

  it('keeps its session for the session expiry interval, and not without one [MQTT-3.1.2-23]', async () => {
    const properties = { sessionExpiryInterval: 300 }
    const first = await connected({ clientId: 'expiry-kept', cleanSession: false, properties })
    await first.c.subscribe([{ filter: 'expiry/#', qos: 1 }])
    await first.c.end()
    const { c: publisher } = await connected()
    await publisher.publish({ topic: 'expiry/queued', payload: 'held', qos: 1 })
    const again = client({ clientId: 'expiry-kept', cleanSession: false, properties })
    const arriving = next<[Received]>(again, 'message')
    again.connect()
    assert.equal((await next<[{ sessionPresent: boolean }]>(again, 'connect'))[0].sessionPresent, true)
    assert.deepEqual([(await arriving)[0].topic, (await arriving)[0].payload.toString()], ['expiry/queued', 'held'])

    const brief = await connected({ clientId: 'expiry-none', cleanSession: false })
    await brief.c.end()
    const later = await connected({ clientId: 'expiry-none', cleanSession: false })
    // Session expiry 0: the session ended with the connection.
    assert.equal(later.sessionPresent, false)
  })

  it('has its will published with its properties', async () => {
    const { c: watcher } = await connected()
    await watcher.subscribe([{ filter: 'will5/#', qos: 1 }])
    const { c: doomed } = await connected({
      will: { topic: 'will5/gone', payload: 'bye', qos: 1, properties: { contentType: 'text/plain', userProperties: { why: 'test' } } }
    })
    const will = next<[Received]>(watcher, 'message')
    await doomed.end(true)
    const [message] = await will
    assert.deepEqual([message.topic, message.payload.toString(), message.properties], ['will5/gone', 'bye', { contentType: 'text/plain', userProperties: { why: 'test' } }])
  })
})

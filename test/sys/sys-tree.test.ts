// $SYS/broker/...: Mosquitto's names, exact counters, change-only publishing, read-only to clients.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import net from 'node:net'
import { after, before, describe, it } from 'node:test'
import mqttPacket from 'mqtt-packet'
import { type Broker, createBroker } from '../../lib'
import { LoadAverages } from '../../lib/sys/load'

/** A bare socket client: every byte it sends and receives is counted here, to check the broker's counters. */
class CountingClient {
  sentBytes = 0
  sentPackets = 0
  receivedBytes = 0
  readonly packets: mqttPacket.Packet[] = []
  private readonly socket: net.Socket
  private readonly parser = mqttPacket.parser({ protocolVersion: 4 })
  private waiters: Array<() => void> = []

  constructor (port: number) {
    this.socket = net.connect(port, '127.0.0.1')
    this.socket.on('data', (chunk) => {
      this.receivedBytes += chunk.length
      this.parser.parse(chunk)
    })
    this.parser.on('packet', (packet) => {
      this.packets.push(packet)
      for (const wake of this.waiters.splice(0)) wake()
    })
  }

  send (packet: mqttPacket.Packet): void {
    const bytes = mqttPacket.generate(packet, { protocolVersion: 4 })
    this.sentBytes += bytes.length
    this.sentPackets++
    this.socket.write(bytes)
  }

  /** Waits until `count` packets have arrived (bounded, to fail rather than hang). */
  async received (count: number): Promise<void> {
    const deadline = Date.now() + 5000
    while (this.packets.length < count) {
      if (Date.now() > deadline) throw new Error(`expected ${count} packets, got ${this.packets.length}`)
      await new Promise<void>((resolve) => { this.waiters.push(resolve); setTimeout(resolve, 100) })
    }
  }

  end (): Promise<void> {
    return new Promise((resolve) => { this.socket.once('close', () => resolve()); this.socket.end() })
  }
}

function run (command: string, args: string[]): Promise<{ code: number | null, stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args)
    let stdout = ''
    child.stdout.on('data', (chunk) => { stdout += String(chunk) })
    child.on('close', (code) => resolve({ code, stdout }))
  })
}

describe('$SYS counters', () => {
  let broker: Broker
  let port: number
  before(async () => {
    broker = createBroker({ listeners: [{ port: 0, host: '127.0.0.1' }], sysIntervalSec: 0 })
    port = (await broker.listen())[0]?.port ?? 0
  })
  after(() => broker.close())

  it('counts packets, publishes and bytes exactly, both ways', async () => {
    const subscriber = new CountingClient(port)
    subscriber.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: 'counter-sub', keepalive: 0 })
    subscriber.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'count/#', qos: 1 }] })
    await subscriber.received(2) // CONNACK, SUBACK
    const publisher = new CountingClient(port)
    publisher.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: 'counter-pub', keepalive: 0 })
    await publisher.received(1)
    const payloads = ['one', 'two', 'three', 'four', 'five!']
    payloads.forEach((payload, i) => {
      publisher.send({ cmd: 'publish', topic: 'count/x', payload: Buffer.from(payload), qos: i < 3 ? 0 : 1, retain: false, dup: false, messageId: i < 3 ? undefined : i })
    })
    await publisher.received(3) // CONNACK + 2 PUBACK
    await subscriber.received(2 + payloads.length)
    // The subscriber acknowledges the two QoS 1 deliveries.
    for (const packet of subscriber.packets) {
      if (packet.cmd === 'publish' && packet.qos === 1) subscriber.send({ cmd: 'puback', messageId: packet.messageId as number })
    }
    // PINGREQ as a barrier: its PINGRESP proves the PUBACKs before it were handled.
    subscriber.send({ cmd: 'pingreq' })
    await subscriber.received(2 + payloads.length + 1)

    const snapshot = broker.statsSnapshot()
    const payloadBytes = payloads.reduce((sum, p) => sum + p.length, 0)
    assert.equal(snapshot.publish.received, 5)
    assert.equal(snapshot.publish.sent, 5)
    assert.equal(snapshot.publish.dropped, 0)
    assert.equal(snapshot.publish.bytesReceived, payloadBytes)
    assert.equal(snapshot.publish.bytesSent, payloadBytes)
    assert.equal(snapshot.messages.received, subscriber.sentPackets + publisher.sentPackets)
    assert.equal(snapshot.messages.sent, subscriber.packets.length + publisher.packets.length)
    assert.equal(snapshot.bytes.received, subscriber.sentBytes + publisher.sentBytes)
    assert.equal(snapshot.bytes.sent, subscriber.receivedBytes + publisher.receivedBytes)
    assert.deepEqual(snapshot.clients, { connected: 2, disconnected: 0, total: 2, maximum: 2, expired: 0 })
    assert.equal(snapshot.subscriptions, 1)
    assert.equal(snapshot.sharedSubscriptions, 0)
    assert.equal(snapshot.sockets, 2)
    assert.equal(snapshot.connections, 2)
    assert.deepEqual(snapshot.store, { messages: 0, bytes: 0 })
    await subscriber.end()
    await publisher.end()
  })
})

describe('$SYS tree', () => {
  let broker: Broker
  let port: number
  before(async () => {
    broker = createBroker({ listeners: [{ port: 0, host: '127.0.0.1' }], sysIntervalSec: 1 })
    port = (await broker.listen())[0]?.port ?? 0
  })
  after(() => broker.close())

  it("publishes Mosquitto's topic names, retained, seen by mosquitto_sub", async () => {
    broker.publish({ topic: 'kept/a', payload: 'x', retain: true })
    const { code, stdout } = await run('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(port), '-v', '-t', '$SYS/#', '-W', '2'])
    assert.ok(code === 27 || code === 0, `mosquitto_sub exit code ${String(code)}`)
    const values = new Map<string, string>()
    for (const line of stdout.trim().split('\n')) {
      // 'retained messages/count' has a space in its topic name: split after it, not at it.
      const topic = line.startsWith('$SYS/broker/retained messages/count ') ? '$SYS/broker/retained messages/count' : line.slice(0, line.indexOf(' '))
      values.set(topic, line.slice(topic.length + 1))
    }
    const expected = ['version', 'uptime', 'clients/total', 'clients/connected', 'clients/active', 'clients/disconnected',
      'clients/inactive', 'clients/maximum', 'clients/expired', 'messages/received', 'messages/sent', 'messages/stored',
      'store/messages/count', 'store/messages/bytes', 'publish/messages/received', 'publish/messages/sent',
      'publish/messages/dropped', 'publish/bytes/received', 'publish/bytes/sent', 'bytes/received', 'bytes/sent',
      'subscriptions/count', 'shared_subscriptions/count', 'retained messages/count', 'heap/current', 'heap/maximum']
    for (const series of ['messages/received', 'messages/sent', 'publish/received', 'publish/sent', 'publish/dropped', 'bytes/received', 'bytes/sent', 'sockets', 'connections']) {
      for (const window of ['1min', '5min', '15min']) expected.push(`load/${series}/${window}`)
    }
    for (const name of expected) assert.ok(values.has(`$SYS/broker/${name}`), `missing $SYS/broker/${name}`)
    assert.match(values.get('$SYS/broker/version') ?? '', /^roost version \d+\.\d+\.\d+/)
    assert.match(values.get('$SYS/broker/uptime') ?? '', /^\d+ seconds$/)
    assert.match(values.get('$SYS/broker/load/bytes/received/1min') ?? '', /^\d+\.\d\d$/)
    // Only the '$SYS/...' retained messages and 'kept/a' exist: the count includes the $SYS ones.
    assert.ok(Number(values.get('$SYS/broker/retained messages/count')) >= 1)
  })

  it('publishes only what changed after the first tick', async () => {
    const subscriber = new CountingClient(port)
    subscriber.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: 'sys-watch', keepalive: 0 })
    subscriber.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '$SYS/broker/#', qos: 0 }] })
    await subscriber.received(3)
    // Retained messages arrive first, all of them; then wait for one more tick's updates.
    await new Promise((resolve) => setTimeout(resolve, 400))
    const retainedCount = subscriber.packets.filter((p) => p.cmd === 'publish' && p.retain).length
    assert.ok(retainedCount >= 50, `expected the whole tree retained, got ${retainedCount}`)
    const before = subscriber.packets.length
    const deadline = Date.now() + 5000
    while (!subscriber.packets.slice(before).some((p) => p.cmd === 'publish' && p.topic === '$SYS/broker/uptime') && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    await new Promise((resolve) => setTimeout(resolve, 200))
    const updates = subscriber.packets.slice(before).filter((p): p is mqttPacket.IPublishPacket => p.cmd === 'publish')
    const topics = new Set(updates.map((p) => p.topic))
    assert.ok(topics.has('$SYS/broker/uptime'), 'uptime is published every tick')
    // Unchanged values are not re-sent.
    for (const still of ['$SYS/broker/version', '$SYS/broker/clients/maximum', '$SYS/broker/clients/expired', '$SYS/broker/shared_subscriptions/count']) {
      assert.ok(!topics.has(still), `${still} did not change and must not be re-published`)
    }
    // Forwarded updates have the retain flag cleared [MQTT-3.3.1-9].
    assert.ok(updates.every((p) => !p.retain))
    assert.ok(updates.length < retainedCount)
    await subscriber.end()
  })

  it('is read-only to clients: a PUBLISH to $SYS is dropped', async () => {
    const { code } = await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-t', '$SYS/broker/version', '-m', 'forged', '-q', '1'])
    assert.equal(code, 0)
    const { stdout } = await run('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(port), '-v', '-t', '$SYS/broker/version', '-C', '1', '-W', '3'])
    assert.match(stdout, /^\$SYS\/broker\/version roost version /)
    assert.ok(broker.stats.publishDropped >= 1)
  })
})

describe('load averages', () => {
  it("fold per-minute rates into 1/5/15 minute decaying averages, as Mosquitto's", () => {
    const load = new LoadAverages()
    const zero = { 'messages/received': 0, 'messages/sent': 0, 'publish/received': 0, 'publish/sent': 0, 'publish/dropped': 0, 'bytes/received': 0, 'bytes/sent': 0, sockets: 0, connections: 0 }
    load.update(zero, 0)
    // 600 messages in 10 s: 60 per second, 3,600 per minute.
    load.update({ ...zero, 'messages/received': 600 }, 10_000)
    assert.equal(load.ratesPerSecond['messages/received'], 60)
    const expected1 = 3600 + Math.exp(-10 / 60) * (0 - 3600)
    const expected15 = 3600 + Math.exp(-10 / 900) * (0 - 3600)
    assert.equal(load.values['messages/received']['1min'], expected1)
    assert.equal(load.values['messages/received']['15min'], expected15)
    assert.equal(load.values['messages/sent']['1min'], 0)
    // A quiet interval decays the average towards zero.
    load.update({ ...zero, 'messages/received': 600 }, 20_000)
    assert.equal(load.values['messages/received']['1min'], Math.exp(-10 / 60) * expected1)
  })
})

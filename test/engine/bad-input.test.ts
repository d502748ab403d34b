// Bad input from raw sockets, byte by byte: truncated and malformed packets, reserved bits,
// oversized packets, random bytes, a flood of connections, invalid strings and topics, and a
// client that never reads. Each must end that one connection (publishing its will when it had
// one) or be dropped without harm; the broker never crashes, never reports an internal error,
// and after every case a fresh well-behaved client completes a QoS 1 round trip.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import net from 'node:net'
import { Duplex } from 'node:stream'
import { after, before, describe, test } from 'node:test'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { type Broker, createBroker, type Logger } from '../../lib'
import { ClientPool, type Inbox, type Received, type RunningBroker, startBroker } from '../clients/support'
import { randomBuffers } from './bad-input/prng'
import { CONNACK_ACCEPTED, type ConnectOptions, connectPacket, packet, publishPacket, RawClient, remainingLength, subscribePacket } from './bad-input/raw'

/** Everything a broker reported as an internal failure: each one is a bug. */
function failureRecorder (): { logger: Logger, failures: string[], watch: (broker: Broker) => void } {
  const failures: string[] = []
  const noop = (): void => {}
  return {
    failures,
    logger: { debug: noop, info: noop, notice: noop, warning: noop, error: (line) => { failures.push(line) } },
    watch: (broker) => { broker.on('error', ({ error }) => { failures.push(`error event: ${error.message}`) }) }
  }
}

/** A hang guard per case, so a connection the broker fails to close fails one test, not all. */
const CASE = { timeout: 10_000 }

interface Outcome {
  /** Bytes the broker sent after CONNACK (or at all, when the case does not connect first). */
  received: Buffer
  /** Messages the broker routed because of this connection: its will, or a message it let through. */
  routed: Array<{ topic: string, payload: string }>
}

describe('bad input', { timeout: 100_000 }, () => {
  let running: RunningBroker
  const recorder = failureRecorder()
  const pool = new ClientPool()
  let watcher: Inbox
  let cases = 0
  /** The client id of the latest misbehaving connection, whose will the cases expect. */
  let lastBadClient = ''

  before(async () => {
    running = await startBroker({}, { logger: recorder.logger })
    recorder.watch(running.broker)
    const connected = await pool.connect(running.port, { clientId: 'watcher' })
    await connected.client.subscribeAsync('#', { qos: 1 })
    watcher = connected.inbox
  })
  after(async () => {
    await pool.endAll()
    await running.broker.close()
  })

  /** A fresh client completes a QoS 1 round trip, and nothing was reported as an internal error. */
  async function assertHealthy (): Promise<void> {
    const id = `healthy-${++cases}`
    const { client, inbox } = await pool.connect(running.port, { clientId: id })
    const acks: Array<[string, number | undefined]> = []
    client.on('packetreceive', (received) => { if (received.cmd === 'puback') acks.push([received.cmd, received.messageId]) })
    await client.subscribeAsync(`healthy/${id}`, { qos: 1 })
    const sent = await client.publishAsync(`healthy/${id}`, `alive ${id}`, { qos: 1 })
    const [echo] = await inbox.waitFor(1)
    assert.deepEqual([echo?.topic, echo?.payload.toString(), echo?.qos], [`healthy/${id}`, `alive ${id}`, 1])
    assert.deepEqual(acks, [['puback', sent?.messageId]])
    await client.endAsync()
    assert.deepEqual(recorder.failures.splice(0), [])
  }

  /**
   * Opens a raw socket, optionally completes CONNECT with a will, sends the bad bytes, and waits
   * until the broker has closed the connection (after ending our side when `end` is set). Then
   * an in-process sentinel message shows what the broker routed meanwhile.
   */
  async function misbehave (bytes: Array<Buffer | readonly number[]>, options: { connect?: boolean, end?: boolean, connectOptions?: ConnectOptions } = {}): Promise<Outcome> {
    const n = ++cases
    lastBadClient = `bad-${n}`
    const raw = await RawClient.open(running.port)
    const from = watcher.messages.length
    let skip = 0
    if (options.connect !== false) {
      const connack = await raw.handshake(`bad-${n}`, { will: { topic: `will/bad-${n}`, payload: 'died', qos: 1, retain: false }, ...options.connectOptions })
      assert.deepEqual(connack, CONNACK_ACCEPTED)
      skip = 4
    }
    raw.send(...bytes)
    if (options.end === true) raw.socket.end()
    await raw.closed
    const sentinel = `sentinel/${n}`
    running.broker.publish({ topic: sentinel, payload: 'sentinel', qos: 1 })
    const routed = (await watcher.waitForTopic(sentinel, from)).slice(0, -1)
    return { received: raw.received.subarray(skip), routed: routed.map(brief) }
  }

  const brief = (message: Received): { topic: string, payload: string } => ({ topic: message.topic, payload: message.payload.toString() })
  const willOf = (): Array<{ topic: string, payload: string }> => [{ topic: `will/${lastBadClient}`, payload: 'died' }]

  describe('truncated packets: the socket ends in the middle of a packet', () => {
    const connect = connectPacket('truncated')
    for (const [name, bytes] of [
      ['CONNECT cut after its first byte', connect.subarray(0, 1)],
      ['CONNECT cut inside its remaining length', Buffer.from([0x10, 0x80])],
      ['CONNECT cut inside its protocol name', connect.subarray(0, 6)],
      ['CONNECT cut inside its client id', connect.subarray(0, connect.length - 3)]
    ] as const) {
      test(`${name}: closed without CONNACK`, CASE, async () => {
        const outcome = await misbehave([bytes], { connect: false, end: true })
        assert.deepEqual(outcome, { received: Buffer.alloc(0), routed: [] })
        await assertHealthy()
      })
    }

    const publish = publishPacket('cut/topic', 'payload that never fully arrives', 1, 7)
    const subscribe = subscribePacket('cut/#', 1, 8)
    for (const [name, bytes] of [
      ['PUBLISH cut after its first byte', publish.subarray(0, 1)],
      ['PUBLISH cut inside its topic', publish.subarray(0, 6)],
      ['PUBLISH cut inside its payload', publish.subarray(0, publish.length - 5)],
      ['SUBSCRIBE cut before its requested QoS', subscribe.subarray(0, subscribe.length - 1)]
    ] as const) {
      test(`${name}: closed, nothing routed but the will [MQTT-3.1.2-8]`, CASE, async () => {
        const outcome = await misbehave([bytes], { end: true })
        assert.deepEqual(outcome, { received: Buffer.alloc(0), routed: willOf() })
        await assertHealthy()
      })
    }
  })

  describe('malformed packets whose frame is complete', () => {
    test('CONNECT whose client id length runs past the packet: closed without CONNACK', CASE, async () => {
      const body = Buffer.concat([Buffer.from([0, 4]), Buffer.from('MQTT'), Buffer.from([4, 2, 0, 0, 0, 50]), Buffer.from('short')])
      const outcome = await misbehave([packet(0x10, body)], { connect: false })
      assert.deepEqual(outcome, { received: Buffer.alloc(0), routed: [] })
      await assertHealthy()
    })

    for (const [name, bytes] of [
      ['SUBSCRIBE with no topic filter [MQTT-3.8.3-3]', packet(0x82, [0, 1])],
      ['SUBSCRIBE requesting QoS 3 [MQTT-3.8.3-4]', subscribePacket('qos/three', 3)],
      ['UNSUBSCRIBE with no topic filter [MQTT-3.10.3-2]', packet(0xa2, [0, 1])],
      ['PUBLISH QoS 1 without room for its packet identifier', packet(0x32, [0, 1, 0x61])],
      ['PUBLISH QoS 1 with packet identifier 0 [MQTT-2.3.1-1]', publishPacket('zero/id', 'x', 1, 0)],
      ['PUBACK with a body too short for a packet identifier', packet(0x40, [1])],
      ['CONNACK sent by a client', [0x20, 0x02, 0x00, 0x00]],
      ['a packet of reserved type 0', [0x00, 0x00]],
      ['a packet of reserved type 15', [0xf0, 0x00]],
      ['a second CONNECT [MQTT-3.1.0-2]', connectPacket('second')]
    ] as const) {
      test(`${name}: closed, nothing routed but the will`, CASE, async () => {
        const outcome = await misbehave([bytes])
        assert.deepEqual(outcome, { received: Buffer.alloc(0), routed: willOf() })
        await assertHealthy()
      })
    }
  })

  describe('an invalid remaining length: a fifth length byte (MQTT 3.1.1, 2.2.3)', () => {
    test('before CONNECT: closed without CONNACK', CASE, async () => {
      const outcome = await misbehave([[0x10, 0xff, 0xff, 0xff, 0xff, 0x7f]], { connect: false })
      assert.deepEqual(outcome, { received: Buffer.alloc(0), routed: [] })
      await assertHealthy()
    })

    test('after CONNECT, on a PUBLISH: closed, the will published', CASE, async () => {
      const outcome = await misbehave([[0x30, 0x80, 0x80, 0x80, 0x80, 0x01]])
      assert.deepEqual(outcome, { received: Buffer.alloc(0), routed: willOf() })
      await assertHealthy()
    })
  })

  describe('reserved bits set [MQTT-2.2.2-2]', () => {
    test('CONNECT with the reserved flag set: closed without CONNACK [MQTT-3.1.2-3]', CASE, async () => {
      const outcome = await misbehave([connectPacket('reserved-flag', { extraFlags: 0x01 })], { connect: false })
      assert.deepEqual(outcome, { received: Buffer.alloc(0), routed: [] })
      await assertHealthy()
    })

    test('CONNECT with fixed header flags other than 0000: closed without CONNACK', CASE, async () => {
      const bytes = connectPacket('header-flags')
      bytes[0] = 0x12
      const outcome = await misbehave([bytes], { connect: false })
      assert.deepEqual(outcome, { received: Buffer.alloc(0), routed: [] })
      await assertHealthy()
    })

    const subscribe = (firstByte: number): Buffer => subscribePacket('flags/#', 1, 3, firstByte)
    for (const [name, bytes] of [
      ['SUBSCRIBE with flags 0000 [MQTT-3.8.1-1]', subscribe(0x80)],
      ['SUBSCRIBE with flags 0011 [MQTT-3.8.1-1]', subscribe(0x83)],
      ['SUBSCRIBE with flags 1010 [MQTT-3.8.1-1]', subscribe(0x8a)],
      ['UNSUBSCRIBE with flags 0000 [MQTT-3.10.1-1]', packet(0xa0, Buffer.concat([Buffer.from([0, 3]), subscribePacket('flags/#').subarray(4, 13)]))],
      ['PUBREL with flags 0000 [MQTT-3.6.1-1]', [0x60, 0x02, 0x00, 0x01]],
      ['PUBACK with flags 0010', [0x42, 0x02, 0x00, 0x01]],
      ['PINGREQ with flags 0001', [0xc1, 0x00]],
      ['DISCONNECT with flags 0010: not a clean DISCONNECT, so the will is published', [0xe2, 0x00]]
    ] as const) {
      test(`${name}: closed without an answer, the will published`, CASE, async () => {
        const outcome = await misbehave([bytes])
        assert.deepEqual(outcome, { received: Buffer.alloc(0), routed: willOf() })
        await assertHealthy()
      })
    }
  })

  describe('PUBLISH fixed header flags', () => {
    for (const [name, firstByte] of [
      ['QoS 3 [MQTT-3.3.1-4]', 0x36],
      ['QoS 3 with retain', 0x37],
      ['QoS 0 with DUP set [MQTT-3.3.1-2]', 0x38]
    ] as const) {
      test(`PUBLISH with ${name}: closed, not routed, the will published`, CASE, async () => {
        const outcome = await misbehave([publishPacket('flags/publish', 'must not pass', 1, 5, firstByte)])
        assert.deepEqual(outcome, { received: Buffer.alloc(0), routed: willOf() })
        await assertHealthy()
      })
    }
  })

  describe('invalid strings and topics', () => {
    for (const [name, topic] of [
      ['invalid UTF-8 (0xC3 0x28) [MQTT-1.5.3-1]', [0x61, 0x2f, 0xc3, 0x28]],
      ['a UTF-16 surrogate encoded in UTF-8 [MQTT-1.5.3-1]', [0x61, 0x2f, 0xed, 0xa0, 0x80]],
      ['an overlong encoding of "/" [MQTT-1.5.3-1]', [0x61, 0xc0, 0xaf, 0x62]],
      ['U+0000 [MQTT-1.5.3-2]', [0x61, 0x00, 0x62]],
      ["the wildcard '+' [MQTT-3.3.2-2]", 'wild/+/card'],
      ["the wildcard '#' [MQTT-3.3.2-2]", 'wild/#'],
      ["only '#' [MQTT-3.3.2-2]", '#'],
      ['nothing at all [MQTT-4.7.3-1]', '']
    ] as const) {
      test(`PUBLISH QoS 1 to a topic with ${name}: closed, not routed, the will published`, CASE, async () => {
        const outcome = await misbehave([publishPacket(topic as string | number[], 'must not pass', 1, 9)])
        assert.deepEqual(outcome, { received: Buffer.alloc(0), routed: willOf() })
        await assertHealthy()
      })
    }

    for (const [name, filter] of [
      ['invalid UTF-8 [MQTT-1.5.3-1]', [0x61, 0x2f, 0xc3, 0x28]],
      ['U+0000 [MQTT-1.5.3-2]', [0x61, 0x2f, 0x00]]
    ] as const) {
      test(`SUBSCRIBE to a filter with ${name}: closed without SUBACK, the will published`, CASE, async () => {
        const outcome = await misbehave([subscribePacket([...filter], 1, 4)])
        assert.deepEqual(outcome, { received: Buffer.alloc(0), routed: willOf() })
        await assertHealthy()
      })

      test(`UNSUBSCRIBE from a filter with ${name}: closed without UNSUBACK, the will published`, CASE, async () => {
        const bytes = subscribePacket([...filter], 1, 4)
        // UNSUBSCRIBE: the same packet id and filter, without the requested QoS byte.
        const outcome = await misbehave([packet(0xa2, bytes.subarray(2, bytes.length - 1))])
        assert.deepEqual(outcome, { received: Buffer.alloc(0), routed: willOf() })
        await assertHealthy()
      })
    }

    for (const [name, topic] of [
      ['invalid UTF-8 [MQTT-1.5.3-1]', [0x61, 0x2f, 0xc3, 0x28]],
      ['U+0000 [MQTT-1.5.3-2]', [0x61, 0x00]],
      ['a wildcard (a will topic is a topic name) [MQTT-3.3.2-2]', 'will/+']
    ] as const) {
      test(`CONNECT with a will topic with ${name}: closed without CONNACK`, CASE, async () => {
        const bytes = connectPacket('bad-will', { will: { topic: topic as string | number[], payload: 'x', qos: 0, retain: false } })
        const outcome = await misbehave([bytes], { connect: false })
        assert.deepEqual(outcome, { received: Buffer.alloc(0), routed: [] })
        await assertHealthy()
      })
    }

    test('CONNECT with a client id of invalid UTF-8 [MQTT-1.5.3-1]: closed without CONNACK', CASE, async () => {
      const outcome = await misbehave([connectPacket([0x69, 0x64, 0xff])], { connect: false })
      assert.deepEqual(outcome, { received: Buffer.alloc(0), routed: [] })
      await assertHealthy()
    })
  })

  test('random bytes: 300 seeded buffers, raw and behind a valid CONNECT and frame header', { timeout: 30_000 }, async () => {
    const buffers = randomBuffers(0x5eed, 300, 600)
    const accepted = running.broker.stats.socketsAccepted
    const BATCH = 30
    for (let start = 0; start < buffers.length; start += BATCH) {
      await Promise.all(buffers.slice(start, start + BATCH).map(async (random, offset) => {
        const index = start + offset
        const raw = await RawClient.open(running.port)
        const kind = index % 4
        // 0: raw bytes as the first thing on the wire; 1: random CONNECT bodies; 2: raw bytes
        // after a valid CONNECT; 3: framed packets of random type and flags after CONNECT.
        if (kind >= 2) raw.send(connectPacket(`random-${index}`))
        if (kind === 0 || kind === 2) raw.send(random)
        else raw.send(packet(kind === 1 ? 0x10 : random[0] as number, random.subarray(1)))
        raw.socket.end()
        await raw.closed
      }))
    }
    assert.equal(running.broker.stats.socketsAccepted - accepted, buffers.length)
    assert.equal(running.broker.clients().filter((info) => info.clientId.startsWith('random-')).length, 0)
    await assertHealthy()
  })

  test('a flood of 2,000 sockets, a quarter of them silent, the rest connecting', { timeout: 30_000 }, async () => {
    const TOTAL = 2000
    const BATCH = 250
    // Each open socket costs two descriptors here (both ends are in this process): on a machine
    // with a low `ulimit -n` the flood comes in waves of what fits, still 2,000 in all.
    const WAVE = Math.max(BATCH, Math.min(TOTAL, Math.floor((openFileLimit() - 256) / 2 / BATCH) * BATCH))
    let accepted = 0
    for (let wave = 0; wave < TOTAL; wave += WAVE) {
      const size = Math.min(WAVE, TOTAL - wave)
      const acceptedBefore = running.broker.stats.socketsAccepted
      const sockets: RawClient[] = []
      const connecting = Array.from({ length: size }, (_, i) => wave + i).filter((index) => index % 4 !== 0)
      const gone = allDisconnected(running.broker, connecting.map((index) => `flood-${index}`))
      for (let start = wave; start < wave + size; start += BATCH) {
        sockets.push(...await Promise.all(Array.from({ length: Math.min(BATCH, wave + size - start) }, async (_, offset) => {
          const index = start + offset
          const raw = await RawClient.open(running.port)
          if (index % 4 !== 0) assert.deepEqual(await raw.handshake(`flood-${index}`), CONNACK_ACCEPTED)
          return raw
        })))
      }
      accepted += running.broker.stats.socketsAccepted - acceptedBefore
      assert.equal(running.broker.clients().filter((info) => info.clientId.startsWith('flood-')).length, connecting.length)
      // With every socket of the wave still open, a well-behaved client still gets through.
      await assertHealthy()
      for (const raw of sockets) raw.destroy()
      await gone
      await Promise.all(sockets.map(async (raw) => { await raw.closed }))
    }
    assert.equal(accepted, TOTAL)
    assert.equal(running.broker.clients().filter((info) => info.clientId.startsWith('flood-')).length, 0)
    await assertHealthy()
  })
})

describe('packets over message_size_limit', { timeout: 30_000 }, () => {
  const LIMIT = 1024
  let running: RunningBroker
  const recorder = failureRecorder()
  const pool = new ClientPool()

  before(async () => {
    running = await startBroker({ messageSizeLimit: LIMIT }, { logger: recorder.logger })
    recorder.watch(running.broker)
  })
  after(async () => {
    await pool.endAll()
    await running.broker.close()
  })

  async function assertHealthy (id: string): Promise<void> {
    const { client, inbox } = await pool.connect(running.port, { clientId: id })
    await client.subscribeAsync(`healthy/${id}`, { qos: 1 })
    await client.publishAsync(`healthy/${id}`, 'alive', { qos: 1 })
    const [echo] = await inbox.waitFor(1)
    assert.deepEqual([echo?.payload.toString(), echo?.qos], ['alive', 1])
    await client.endAsync()
    assert.deepEqual(recorder.failures.splice(0), [])
  }

  /** Declares a 200 MB packet, sends 1 MB of it, and resolves when the broker closed the socket. */
  async function declareHuge (raw: RawClient, firstByte: number): Promise<number> {
    const declared = 200 * 1024 * 1024
    raw.send([firstByte, ...remainingLength(declared)])
    const chunk = Buffer.alloc(64 * 1024, 0x61)
    let sent = 0
    // Stop writing as soon as the socket is closed; never more than 1 MB in any case.
    for (let i = 0; i < 16 && !raw.socket.destroyed; i++) {
      raw.socket.write(chunk)
      sent += chunk.length
    }
    await raw.closed
    return sent
  }

  test('a CONNECT declaring 200 MB is refused from its header: closed before the body arrives', CASE, async () => {
    const raw = await RawClient.open(running.port)
    const received = running.broker.stats.bytesReceived
    const sent = await declareHuge(raw, 0x10)
    assert.ok(sent <= 1024 * 1024)
    assert.deepEqual(raw.received, Buffer.alloc(0))
    // Nothing of the declared packet was taken in as a frame.
    assert.equal(running.broker.stats.bytesReceived, received)
    await assertHealthy('after-huge-connect')
  })

  test('a PUBLISH declaring 200 MB after CONNECT is refused from its header, and the will published', CASE, async () => {
    const watcher = await pool.connect(running.port, { clientId: 'size-watcher' })
    await watcher.client.subscribeAsync('will/#', { qos: 1 })
    const raw = await RawClient.open(running.port)
    const connack = await raw.handshake('huge-publisher', { will: { topic: 'will/huge-publisher', payload: 'died', qos: 1, retain: false } })
    assert.deepEqual(connack, CONNACK_ACCEPTED)
    const disconnected = new Promise<string>((resolve) => running.broker.once('clientDisconnected', (event) => { resolve(event.reason) }))
    await declareHuge(raw, 0x32)
    assert.equal(await disconnected, 'protocolError')
    assert.deepEqual(raw.received, CONNACK_ACCEPTED)
    const [will] = await watcher.inbox.waitFor(1)
    assert.deepEqual([will?.topic, will?.payload.toString()], ['will/huge-publisher', 'died'])
    await assertHealthy('after-huge-publish')
  })

  test('a whole PUBLISH over the limit is acknowledged but not routed, and counted as dropped', CASE, async () => {
    const subscriber = await pool.connect(running.port, { clientId: 'size-subscriber' })
    await subscriber.client.subscribeAsync('size/#', { qos: 1 })
    const dropped = running.broker.stats.publishDropped
    const raw = await RawClient.open(running.port)
    assert.deepEqual(await raw.handshake('oversized-publisher'), CONNACK_ACCEPTED)
    raw.send(publishPacket('size/big', Buffer.alloc(LIMIT + 1, 0x62), 1, 0x1234))
    raw.send(publishPacket('size/small', Buffer.alloc(LIMIT, 0x73), 1, 0x1235))
    // MQTT 3.1.1 cannot refuse a PUBLISH: both are acknowledged, only the small one routed.
    const received = await raw.receive(12)
    assert.deepEqual(received.subarray(4, 12), Buffer.from([0x40, 0x02, 0x12, 0x34, 0x40, 0x02, 0x12, 0x35]))
    const [message] = await subscriber.inbox.waitFor(1)
    assert.deepEqual([message?.topic, message?.payload.length], ['size/small', LIMIT])
    assert.equal(running.broker.stats.publishDropped - dropped, 1)
    raw.destroy()
    await raw.closed
    await assertHealthy('after-oversized')
  })
})

describe('a client that never reads', { timeout: 60_000 }, () => {
  const PAYLOAD_BYTES = 64 * 1024
  const MESSAGES = 800 // 50 MiB of payload
  let running: RunningBroker
  const recorder = failureRecorder()
  const pool = new ClientPool()
  let tap: net.Server
  let tapPort = 0
  /** The broker's end of each socket that came in through the tap, to read its unsent bytes. */
  const tapped: net.Socket[] = []

  before(async () => {
    running = await startBroker({}, { logger: recorder.logger })
    recorder.watch(running.broker)
    // A second way in, through broker.accept(), so the test holds the broker's end of the socket.
    tap = net.createServer((socket) => {
      tapped.push(socket)
      running.broker.accept(socket)
    })
    await new Promise<void>((resolve) => tap.listen(0, '127.0.0.1', resolve))
    tapPort = (tap.address() as net.AddressInfo).port
  })
  after(async () => {
    await pool.endAll()
    await running.broker.close()
    await new Promise((resolve) => tap.close(resolve))
  })

  test('50 MB of QoS 0 to a stalled subscriber: memory stays bounded, drops are counted, others get every QoS 1 message', { timeout: 30_000 }, async (t) => {
    const gc = exposeGc()
    await collectGarbage(gc)
    const baseline = process.memoryUsage()

    const stalled = await RawClient.open(tapPort)
    assert.deepEqual(await stalled.handshake('stalled'), CONNACK_ACCEPTED)
    stalled.send(subscribePacket('flood/#', 0, 1))
    assert.deepEqual((await stalled.receive(9)).subarray(4, 9), Buffer.from([0x90, 0x03, 0x00, 0x01, 0x00]))
    // From here on the stalled client reads nothing.
    stalled.socket.pause()
    const brokerSide = tapped[0]
    assert.ok(brokerSide !== undefined)

    const reader = await pool.connect(running.port, { clientId: 'reader' })
    await reader.client.subscribeAsync('flood/#', { qos: 1 })
    const publisher = await pool.connect(running.port, { clientId: 'publisher' })
    const before = { ...running.broker.stats }

    let maxUnsent = 0
    let maxRss = 0
    const BATCH = 20
    for (let start = 0; start < MESSAGES; start += BATCH) {
      await Promise.all(Array.from({ length: BATCH }, async (_, offset) => {
        const payload = Buffer.alloc(PAYLOAD_BYTES, (start + offset) & 0xff)
        payload.writeUInt32BE(start + offset, 0)
        await publisher.client.publishAsync(`flood/${start + offset}`, payload, { qos: 1 })
      }))
      maxUnsent = Math.max(maxUnsent, brokerSide.writableLength)
      maxRss = Math.max(maxRss, process.memoryUsage().rss)
    }

    // The reader, subscribed at QoS 1, gets all 800 messages at QoS 1, whole and in order.
    const got = await reader.inbox.waitFor(MESSAGES)
    assert.equal(got.length, MESSAGES)
    got.forEach((message, index) => {
      assert.equal(message.topic, `flood/${index}`)
      assert.equal(message.qos, 1)
      assert.equal(message.payload.length, PAYLOAD_BYTES)
      assert.equal(message.payload.readUInt32BE(0), index)
      assert.equal(message.payload[PAYLOAD_BYTES - 1], index & 0xff)
    })

    // The stalled client's unsent bytes stop near the slow-consumer limit (1 MiB plus one message).
    assert.ok(maxUnsent <= 1024 * 1024 + PAYLOAD_BYTES + 64, `unsent bytes reached ${maxUnsent}`)
    // Every message went either to the stalled client or was dropped and counted for it.
    const sentToStalled = running.broker.stats.publishSent - before.publishSent - MESSAGES
    const dropped = running.broker.stats.publishDropped - before.publishDropped
    assert.equal(sentToStalled + dropped, MESSAGES)
    assert.ok(dropped > MESSAGES / 2, `only ${dropped} of ${MESSAGES} dropped`)
    assert.equal(running.broker.clients().some((info) => info.clientId === 'stalled'), true)

    // Nothing holds the 50 MB: once the test lets go of what the reader received, a collection
    // brings buffer memory back near where it began.
    got.length = 0
    reader.inbox.messages.length = 0
    await collectGarbage(gc)
    const settled = process.memoryUsage()
    const held = settled.arrayBuffers - baseline.arrayBuffers
    assert.ok(held < 16 * 1024 * 1024, `${held} bytes of buffers still held`)
    assert.ok(maxRss - baseline.rss < 256 * 1024 * 1024, `rss grew by ${maxRss - baseline.rss} bytes`)
    t.diagnostic(`stalled subscriber: ${sentToStalled} sent, ${dropped} dropped, at most ${maxUnsent} bytes unsent; ` +
      `rss peak +${Math.round((maxRss - baseline.rss) / 1048576)} MiB, buffers held after GC ${Math.round(held / 1024)} KiB`)

    stalled.destroy()
    await stalled.closed
    const { client, inbox } = await pool.connect(running.port, { clientId: 'after-stall' })
    await client.subscribeAsync('after/stall', { qos: 1 })
    await client.publishAsync('after/stall', 'alive', { qos: 1 })
    assert.deepEqual((await inbox.waitFor(1)).map((m) => [m.payload.toString(), m.qos]), [['alive', 1]])
    assert.deepEqual(recorder.failures.splice(0), [])
  })
})

describe('data sent while CONNECT is being authenticated', { timeout: 30_000 }, () => {
  let broker: Broker
  let tap: net.Server
  let tapPort = 0
  const tapped: net.Socket[] = []
  /** Settles the authentication in progress; set by the hook. */
  let settle: (accepted: boolean) => void = () => {}
  /** Called by the hook when an authentication begins. */
  let authenticationBegan: () => void = () => {}
  let pausedDuringAuth: boolean | undefined

  before(async () => {
    broker = createBroker({ listeners: [] }, {
      // A slow authentication hook (a database, an HTTP call): the test decides when it answers.
      auth: {
        authenticate: () => new Promise<boolean>((resolve) => {
          pausedDuringAuth = tapped[tapped.length - 1]?.isPaused()
          settle = resolve
          authenticationBegan()
        })
      }
    })
    tap = net.createServer((socket) => {
      tapped.push(socket)
      broker.accept(socket)
    })
    await new Promise<void>((resolve) => tap.listen(0, '127.0.0.1', resolve))
    tapPort = (tap.address() as net.AddressInfo).port
  })
  after(async () => {
    await broker.close()
    await new Promise((resolve) => tap.close(resolve))
  })

  test('the socket stops reading while a slow hook authenticates; 32 MB sent meanwhile is handled in order once accepted', async () => {
    const raw = await RawClient.open(tapPort)
    const authenticating = new Promise<void>((resolve) => { authenticationBegan = resolve })
    raw.send(connectPacket('eager'))
    await authenticating
    // The broker's end of the socket stopped reading when authentication began.
    assert.equal(pausedDuringAuth, true)
    const publish = publishPacket('eager/t', Buffer.alloc(64 * 1024, 0x65), 0)
    for (let i = 0; i < 512; i++) raw.send(publish)
    raw.send([0xc0, 0x00])
    settle(true)
    // CONNACK, then the PINGREQ sent after all 512 publishes is answered: nothing was lost or reordered.
    assert.deepEqual(await raw.receive(6), Buffer.from([0x20, 0x02, 0x00, 0x00, 0xd0, 0x00]))
    assert.equal(broker.stats.publishReceived, 512)
    raw.destroy()
    await raw.closed
  })
})

describe('input split into single bytes', { timeout: 30_000 }, () => {
  test('a whole session delivered one byte per chunk is understood exactly', async () => {
    const broker = createBroker({ listeners: [] })
    const delivered: Array<{ topic: string, payload: string, qos: number }> = []
    broker.subscribe('frag/#', 2, (message) => { delivered.push({ topic: message.topic, payload: message.payload.toString(), qos: message.qos }) })
    const sent: Buffer[] = []
    const stream = new Duplex({
      read () {},
      write (chunk: Buffer, _encoding, callback) {
        sent.push(chunk)
        callback()
      }
    })
    const closed = new Promise((resolve) => stream.once('close', resolve))
    broker.accept(stream)
    const longPayload = 'x'.repeat(300) // a remaining length of two bytes, split between chunks
    const session = Buffer.concat([
      connectPacket('fragmented', { will: { topic: 'frag/will', payload: 'unused', qos: 1, retain: false }, keepaliveSec: 0 }),
      subscribePacket('other/#', 1, 5),
      publishPacket('frag/one', longPayload, 1, 10),
      publishPacket('frag/two', 'exactly once', 2, 11),
      Buffer.from([0x62, 0x02, 0x00, 0x0b]), // PUBREL 11
      Buffer.from([0xc0, 0x00]), // PINGREQ
      Buffer.from([0xe0, 0x00]) // DISCONNECT
    ])
    for (const byte of session) {
      stream.push(Buffer.from([byte]))
      await new Promise((resolve) => setImmediate(resolve))
    }
    await closed
    assert.deepEqual(Buffer.concat(sent), Buffer.from([
      0x20, 0x02, 0x00, 0x00, // CONNACK
      0x90, 0x03, 0x00, 0x05, 0x01, // SUBACK 5, QoS 1
      0x40, 0x02, 0x00, 0x0a, // PUBACK 10
      0x50, 0x02, 0x00, 0x0b, // PUBREC 11
      0x70, 0x02, 0x00, 0x0b, // PUBCOMP 11
      0xd0, 0x00 // PINGRESP
    ]))
    // Both messages routed once; DISCONNECT means no will [MQTT-3.1.2-10].
    assert.deepEqual(delivered, [
      { topic: 'frag/one', payload: longPayload, qos: 1 },
      { topic: 'frag/two', payload: 'exactly once', qos: 2 }
    ])
    await broker.close()
  })
})

/** This process's limit on open files (`ulimit -n`), read through a shell that inherits it. */
function openFileLimit (): number {
  const limit = Number(execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim())
  return Number.isFinite(limit) ? limit : 1024 // "unlimited"
}

/** Resolves once every one of these client ids has disconnected. */
function allDisconnected (broker: Broker, clientIds: string[]): Promise<void> {
  const waiting = new Set(clientIds)
  return new Promise((resolve) => {
    const listener = (event: { clientId: string }): void => {
      if (!waiting.delete(event.clientId) || waiting.size > 0) return
      broker.off('clientDisconnected', listener)
      resolve()
    }
    broker.on('clientDisconnected', listener)
  })
}

/** A few full collections with turns of the event loop between, so freed buffers are released. */
async function collectGarbage (gc: () => void): Promise<void> {
  for (let i = 0; i < 3; i++) {
    gc()
    await new Promise((resolve) => setImmediate(resolve))
  }
}

/** Node's garbage collector, made callable without a command-line flag. */
function exposeGc (): () => void {
  setFlagsFromString('--expose-gc')
  return runInNewContext('gc') as () => void
}

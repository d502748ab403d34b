// A bare MQTT client for engine specs: it sends exactly the packets a test builds (with
// mqtt-packet's generate(), or literal bytes for malformed input) and hands back every packet the
// broker sends, whole, so a test can compare them field by field and byte by byte.
import assert from 'node:assert/strict'
import net from 'node:net'
import type { Duplex } from 'node:stream'
import mqttPacket from 'mqtt-packet'

/** How long a test waits for an expected packet or close before it fails. A guard, not a timing. */
export const WAIT_MS = 3000

export type Packet = mqttPacket.Packet

/** A packet as received: parsed, and the exact bytes it came in. */
export interface Received {
  packet: Packet
  bytes: Buffer
}

type Waiter = (outcome: Received | Error) => void

export interface ConnectOptions {
  clientId?: string
  clean?: boolean
  keepalive?: number
  username?: string
  password?: string | Buffer
  will?: { topic: string, payload: string | Buffer, qos?: 0 | 1 | 2, retain?: boolean }
  protocolVersion?: 3 | 4
}

export class RawClient {
  /** Packets received and not yet taken by next(). */
  private readonly inbox: Received[] = []
  private readonly waiters: Waiter[] = []
  private pending: Buffer = Buffer.alloc(0)
  private closedError: Error | undefined
  private parseError: Error | undefined
  private readonly closedPromise: Promise<void>
  private readonly parser: mqttPacket.Parser

  private constructor (readonly socket: net.Socket, public protocolVersion: 3 | 4 | 5) {
    this.parser = this.makeParser()
    socket.on('data', (chunk: Buffer) => this.onData(chunk))
    // A reset from the broker is just another way of being closed; the test decides if it matters.
    socket.on('error', () => {})
    this.closedPromise = new Promise((resolve) => socket.once('close', () => {
      this.closedError ??= new Error('connection closed by the broker')
      for (const waiter of this.waiters.splice(0)) waiter(this.closedError)
      resolve()
    }))
  }

  /** Opens a TCP connection to the broker and sends nothing. */
  static open (port: number, protocolVersion: 3 | 4 | 5 = 4): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host: '127.0.0.1' })
      socket.once('error', reject)
      socket.once('connect', () => {
        socket.off('error', reject)
        resolve(new RawClient(socket, protocolVersion))
      })
    })
  }

  /**
   * A client over a stream already connected to the broker (an in-memory pair). Only the
   * stream's own methods are used, so `socket`'s net.Socket extras are not there to call.
   */
  static over (stream: Duplex, protocolVersion: 3 | 4 | 5 = 4): RawClient {
    return new RawClient(stream as net.Socket, protocolVersion)
  }

  private makeParser (): mqttPacket.Parser {
    const parser = mqttPacket.parser({ protocolVersion: this.protocolVersion })
    parser.on('error', (error: Error) => { this.parseError = error })
    return parser
  }

  /** Splits the stream into whole packets by the remaining length, then parses each one alone. */
  private onData (chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk])
    for (;;) {
      const size = frameSize(this.pending)
      if (size === undefined || size > this.pending.length) return
      const bytes = Buffer.from(this.pending.subarray(0, size))
      this.pending = this.pending.subarray(size)
      let parsed: Packet | undefined
      this.parser.once('packet', (packet: Packet) => { parsed = packet })
      this.parser.parse(bytes)
      if (parsed === undefined) {
        // The broker sent something no client could read: fail whoever waits, and hang up.
        this.closedError = new Error(`broker sent an unparsable packet ${bytes.toString('hex')}: ${this.parseError?.message ?? 'incomplete'}`)
        this.socket.destroy()
        return
      }
      const received = { packet: parsed, bytes }
      const waiter = this.waiters.shift()
      if (waiter !== undefined) waiter(received)
      else this.inbox.push(received)
    }
  }

  /** Sends a packet object (encoded for this client's protocol version) or literal bytes. */
  send (packet: Packet | Buffer): void {
    const bytes = Buffer.isBuffer(packet) ? packet : encode(packet, this.protocolVersion)
    this.socket.write(bytes)
  }

  /** The next packet from the broker; fails when the connection closes or nothing comes. */
  nextReceived (waitMs = WAIT_MS): Promise<Received> {
    const queued = this.inbox.shift()
    if (queued !== undefined) return Promise.resolve(queued)
    if (this.closedError !== undefined) return Promise.reject(new Error(`expected a packet, but ${this.closedError.message}`))
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const index = this.waiters.indexOf(settle)
        if (index !== -1) this.waiters.splice(index, 1)
        reject(new Error(`expected a packet, none arrived within ${waitMs} ms`))
      }, waitMs)
      const settle: Waiter = (outcome) => {
        clearTimeout(timer)
        if (outcome instanceof Error) reject(new Error(`expected a packet, but ${outcome.message}`))
        else resolve(outcome)
      }
      this.waiters.push(settle)
    })
  }

  async next (waitMs = WAIT_MS): Promise<Packet> {
    return (await this.nextReceived(waitMs)).packet
  }

  /**
   * Takes the next packet and asserts it is exactly `expected`: the parsed packets are compared
   * as whole objects, then the bytes, so no field and no flag can differ.
   */
  async expectPacket (expected: Packet, waitMs = WAIT_MS): Promise<Received> {
    const received = await this.nextReceived(waitMs)
    const wanted = encode(expected, this.protocolVersion)
    assert.deepStrictEqual(received.packet, parse(wanted, this.protocolVersion), `packet differs from ${expected.cmd} expected`)
    assert.deepStrictEqual(received.bytes, wanted)
    return received
  }

  /** Asserts the broker closes the connection with no further packet. */
  async expectClosed (waitMs = WAIT_MS): Promise<void> {
    const outcome = await this.nextReceived(waitMs).then((received) => received, (error: Error) => error)
    if (outcome instanceof Error) {
      if (this.closedError === undefined) throw new Error(`expected the connection to close: ${outcome.message}`)
      if (this.parseError !== undefined) throw this.closedError
      return
    }
    assert.fail(`expected the connection to close, got ${JSON.stringify(describe(outcome.packet))}`)
  }

  /**
   * A barrier: PINGREQ and assert the very next packet is PINGRESP. The broker handles a
   * connection's packets in order, so anything it meant to send before is now in the inbox.
   */
  async expectNothingPending (): Promise<void> {
    this.send({ cmd: 'pingreq' })
    const { packet } = await this.nextReceived()
    assert.equal(packet.cmd, 'pingresp', `expected no packet before PINGRESP, got ${JSON.stringify(describe(packet))}`)
  }

  /** Sends CONNECT and asserts CONNACK with return code 0 and the given session present flag. */
  async connect (options: ConnectOptions = {}, sessionPresent = false): Promise<void> {
    this.send(connectPacket(options))
    await this.expectPacket({ cmd: 'connack', returnCode: 0, sessionPresent })
  }

  /** SUBSCRIBE to one filter and assert the SUBACK grants `granted` (default: what was asked). */
  async subscribe (topic: string, qos: 0 | 1 | 2, messageId = 1, granted: number = qos): Promise<void> {
    this.send({ cmd: 'subscribe', messageId, subscriptions: [{ topic, qos }] })
    await this.expectPacket({ cmd: 'suback', messageId, granted: [granted] })
  }

  get closed (): boolean { return this.closedError !== undefined }

  /** Resolves once the socket is closed, whoever closed it. */
  whenClosed (): Promise<void> { return this.closedPromise }

  /** Sends DISCONNECT and ends the socket. */
  async disconnect (): Promise<void> {
    if (this.closedError === undefined) {
      this.send({ cmd: 'disconnect' })
      this.socket.end()
    }
    await this.closedPromise
  }

  /** Drops the connection without DISCONNECT (the will fires). */
  async destroy (): Promise<void> {
    this.socket.destroy()
    await this.closedPromise
  }
}

/** A CONNECT packet with the defaults a plain 3.1.1 client sends. */
export function connectPacket (options: ConnectOptions = {}): mqttPacket.IConnectPacket {
  const version = options.protocolVersion ?? 4
  const packet: mqttPacket.IConnectPacket = {
    cmd: 'connect',
    protocolId: version === 3 ? 'MQIsdp' : 'MQTT',
    protocolVersion: version,
    clientId: options.clientId ?? '',
    clean: options.clean ?? true,
    keepalive: options.keepalive ?? 0
  }
  if (options.username !== undefined) packet.username = options.username
  if (options.password !== undefined) packet.password = Buffer.from(options.password)
  if (options.will !== undefined) packet.will = { qos: 0, retain: false, ...options.will }
  return packet
}

/** A PUBLISH packet; the packet id only for QoS 1 and 2. */
export function publishPacket (topic: string, payload: string | Buffer, qos: 0 | 1 | 2 = 0,
  flags: { retain?: boolean, dup?: boolean, messageId?: number } = {}): mqttPacket.IPublishPacket {
  const packet: mqttPacket.IPublishPacket = {
    cmd: 'publish', topic, payload: Buffer.from(payload), qos, retain: flags.retain ?? false, dup: flags.dup ?? false
  }
  if (qos > 0) packet.messageId = flags.messageId ?? 1
  return packet
}

/** UNSUBACK; mqtt-packet's type asks for MQTT 5 reason codes that 3.1.1 does not have. */
export function unsubackPacket (messageId: number): mqttPacket.IUnsubackPacket {
  return { cmd: 'unsuback', messageId } as mqttPacket.IUnsubackPacket
}

export function encode (packet: Packet, protocolVersion: number): Buffer {
  return mqttPacket.generate(packet, { protocolVersion })
}

export function parse (bytes: Buffer, protocolVersion: number): Packet {
  const parser = mqttPacket.parser({ protocolVersion })
  let parsed: Packet | undefined
  let failure: Error | undefined
  parser.on('packet', (packet: Packet) => { parsed = packet })
  parser.on('error', (error: Error) => { failure = error })
  parser.parse(bytes)
  if (failure !== undefined) throw failure
  assert.ok(parsed !== undefined, `not a whole packet: ${bytes.toString('hex')}`)
  return parsed
}

/** The fields worth printing in a failure message. */
export function describe (packet: Packet): Record<string, unknown> {
  const shown: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(packet)) {
    if (key === 'length') continue
    shown[key] = Buffer.isBuffer(value) ? value.toString() : value
  }
  return shown
}

/** Total size of the first packet in `buffer`, or undefined while its header is incomplete. */
function frameSize (buffer: Buffer): number | undefined {
  let length = 0
  let multiplier = 1
  for (let position = 1; position < 5; position++) {
    if (position >= buffer.length) return undefined
    const byte = buffer[position] as number
    length += (byte & 0x7f) * multiplier
    multiplier *= 128
    if ((byte & 0x80) === 0) return position + 1 + length
  }
  throw new Error('broker sent a malformed remaining length')
}

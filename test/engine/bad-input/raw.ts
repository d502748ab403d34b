// Raw TCP clients for bad-input tests: literal bytes out, everything the broker sends back
// recorded, and a promise that settles when the broker has closed the connection.
import net from 'node:net'

export class RawClient {
  readonly socket: net.Socket
  private readonly chunks: Buffer[] = []
  /** Resolves when the socket is fully closed (by either side); never rejects. */
  readonly closed: Promise<void>
  private readonly connected: Promise<void>
  private waiter: { bytes: number, resolve: () => void } | undefined

  constructor (port: number) {
    this.socket = net.connect({ host: '127.0.0.1', port })
    this.socket.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk)
      if (this.waiter !== undefined && this.receivedBytes >= this.waiter.bytes) {
        this.waiter.resolve()
        this.waiter = undefined
      }
    })
    // A reset from the broker while we are still writing is one of the expected endings.
    this.socket.on('error', () => {})
    this.connected = new Promise((resolve) => this.socket.once('connect', () => { resolve() }))
    this.closed = new Promise((resolve) => this.socket.once('close', () => { resolve() }))
  }

  static async open (port: number): Promise<RawClient> {
    const client = new RawClient(port)
    await client.connected
    return client
  }

  get received (): Buffer { return Buffer.concat(this.chunks) }
  get receivedBytes (): number { return this.chunks.reduce((sum, chunk) => sum + chunk.length, 0) }

  send (...packets: Array<Buffer | readonly number[]>): void {
    for (const packet of packets) this.socket.write(Buffer.isBuffer(packet) ? packet : Buffer.from(packet))
  }

  /** Resolves once at least `bytes` bytes have arrived in total, or the socket closed first. */
  async receive (bytes: number): Promise<Buffer> {
    if (this.receivedBytes < bytes) {
      await Promise.race([new Promise<void>((resolve) => { this.waiter = { bytes, resolve } }), this.closed])
    }
    return this.received
  }

  /** Sends a CONNECT and resolves with the first 4 bytes back (the CONNACK); asserts nothing. */
  async handshake (clientId: string, options: ConnectOptions = {}): Promise<Buffer> {
    this.send(connectPacket(clientId, options))
    return (await this.receive(4)).subarray(0, 4)
  }

  destroy (): void { this.socket.destroy() }
}

/** Encodes a remaining length (MQTT 3.1.1, 2.2.3). */
export function remainingLength (length: number): number[] {
  const bytes: number[] = []
  let rest = length
  do {
    let byte = rest % 128
    rest = Math.floor(rest / 128)
    if (rest > 0) byte |= 0x80
    bytes.push(byte)
  } while (rest > 0)
  return bytes
}

/** A whole packet from its first byte and body. */
export function packet (firstByte: number, body: Buffer | number[]): Buffer {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body)
  return Buffer.concat([Buffer.from([firstByte, ...remainingLength(bytes.length)]), bytes])
}

/** A length-prefixed string (MQTT 3.1.1, 1.5.3) from text or from raw bytes. */
export function mqttString (value: string | Buffer | number[]): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value)
  const length = Buffer.alloc(2)
  length.writeUInt16BE(bytes.length)
  return Buffer.concat([length, bytes])
}

export interface ConnectOptions {
  keepaliveSec?: number
  cleanSession?: boolean
  will?: { topic: string | number[], payload: string, qos: number, retain: boolean }
  /** Extra bits ORed into the connect flags (to set the reserved bit). */
  extraFlags?: number
}

/** An MQTT 3.1.1 CONNECT. */
export function connectPacket (clientId: string | number[], options: ConnectOptions = {}): Buffer {
  let flags = (options.cleanSession ?? true) ? 0x02 : 0
  const tail: Buffer[] = [mqttString(clientId)]
  if (options.will !== undefined) {
    flags |= 0x04 | (options.will.qos << 3) | (options.will.retain ? 0x20 : 0)
    tail.push(mqttString(options.will.topic), mqttString(options.will.payload))
  }
  flags |= options.extraFlags ?? 0
  const keepalive = options.keepaliveSec ?? 0
  const body = Buffer.concat([mqttString('MQTT'), Buffer.from([4, flags, keepalive >> 8, keepalive & 0xff]), ...tail])
  return packet(0x10, body)
}

/** A PUBLISH with an arbitrary topic (given as bytes to allow invalid UTF-8). */
export function publishPacket (topic: string | number[], payload: string | Buffer, qos = 0, packetId = 1, firstByte?: number): Buffer {
  const parts: Buffer[] = [mqttString(topic)]
  if (qos > 0) parts.push(Buffer.from([packetId >> 8, packetId & 0xff]))
  parts.push(typeof payload === 'string' ? Buffer.from(payload) : payload)
  return packet(firstByte ?? (0x30 | (qos << 1)), Buffer.concat(parts))
}

/** A SUBSCRIBE for one filter (given as bytes to allow invalid UTF-8). */
export function subscribePacket (filter: string | number[], qos = 0, packetId = 1, firstByte = 0x82): Buffer {
  return packet(firstByte, Buffer.concat([Buffer.from([packetId >> 8, packetId & 0xff]), mqttString(filter), Buffer.from([qos])]))
}

/** CONNACK accepted, no session present (MQTT 3.1.1, 3.2). */
export const CONNACK_ACCEPTED = Buffer.from([0x20, 0x02, 0x00, 0x00])

// A bare MQTT client for the load generator: a raw socket (or a WebSocket seen as a byte stream)
// and a parser that only finds packet boundaries and hands over (type, flags, bytes, body offset).
// Acknowledgements it owes the broker are gathered while a chunk is parsed and leave in one write
// at the end of the chunk.
import net from 'node:net'
import type { Duplex } from 'node:stream'
import tls from 'node:tls'
import WebSocket, { createWebSocketStream } from 'ws'
import { CONNACK, connectPacket, PUBREL, SUBACK, subscribePacket } from './packets'

export type PacketHandler = (type: number, flags: number, data: Buffer, bodyStart: number, bodyEnd: number) => void

const ACK_ROOM = 64 * 1024

export class WireClient {
  /** A TCP or TLS socket, or ws's stream over a WebSocket (each write one binary frame). */
  readonly socket: Duplex
  onPacket: PacketHandler = () => {}
  /** Called once a chunk has been parsed (and its acknowledgements sent). */
  onChunk: () => void = () => {}
  private pending: Buffer | undefined
  /** Made on the first acknowledgement: the connections scenario opens tens of thousands of clients that never send one. */
  private acks: Buffer | undefined
  private ackBytes = 0
  closed = false

  private constructor (socket: Duplex) {
    this.socket = socket
    if (socket instanceof net.Socket) socket.setNoDelay(true)
    socket.on('data', (chunk: Buffer) => this.receive(chunk))
    socket.on('error', () => { this.closed = true })
    socket.on('close', () => { this.closed = true })
  }

  /**
   * Opens a TCP connection (TLS when `secure`, its handshake done) and sends nothing: the caller
   * does its own MQTT handshake. The server's certificate is not checked: what is measured is
   * the broker's cost, and every broker gets the same certificate.
   */
  static async open (port: number, secure = false): Promise<WireClient> {
    const socket = secure ? tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false }) : net.connect({ port, host: '127.0.0.1' })
    await new Promise<void>((resolve, reject) => {
      socket.once(secure ? 'secureConnect' : 'connect', resolve)
      socket.once('error', reject)
    })
    return new WireClient(socket)
  }

  /** Opens a WebSocket (subprotocol mqtt; ws turns Nagle off) and sends nothing. */
  static async openWebSocket (port: number): Promise<WireClient> {
    const webSocket = new WebSocket(`ws://127.0.0.1:${port}/mqtt`, ['mqtt'], { perMessageDeflate: false })
    await new Promise<void>((resolve, reject) => {
      webSocket.once('open', resolve)
      webSocket.once('error', reject)
    })
    const stream = createWebSocketStream(webSocket)
    // ws's stream emits no 'close' of its own; the client's handshake waits on one.
    webSocket.once('close', () => { stream.emit('close') })
    return new WireClient(stream)
  }

  /**
   * Opens a connection (TLS when `secure`, a WebSocket when `webSocket`), sends CONNECT (Clean
   * Session unless `clean` is false) and waits for a successful CONNACK.
   */
  static async connect (port: number, clientId: string, { secure = false, webSocket = false, clean = true }: { secure?: boolean, webSocket?: boolean, clean?: boolean } = {}): Promise<WireClient> {
    const client = webSocket ? await WireClient.openWebSocket(port) : await WireClient.open(port, secure)
    await client.request(connectPacket(clientId, clean), CONNACK)
    return client
  }

  /** Subscribes to one filter and waits for SUBACK. */
  async subscribe (filter: string, qos: number): Promise<void> {
    const granted = await this.request(subscribePacket(1, filter, qos), SUBACK)
    if (granted >= 0x80) throw new Error(`subscription to ${filter} refused`)
  }

  /** Sends a packet and resolves with the last byte of the next packet of `replyType`. */
  private request (packet: Buffer, replyType: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const previous = this.onPacket
      const onClose = (): void => reject(new Error('connection closed during handshake'))
      this.socket.once('close', onClose)
      this.onPacket = (type, _flags, data, _start, end) => {
        if (type !== replyType) return
        this.onPacket = previous
        this.socket.off('close', onClose)
        const last = data[end - 1] as number
        if (type === CONNACK && last !== 0) reject(new Error(`CONNACK return code ${last}`))
        else resolve(last)
      }
      this.socket.write(packet)
    })
  }

  /** Queues a 4-byte acknowledgement; it is written at the end of the current chunk. */
  ack (type: number, packetId: number): void {
    if (this.acks !== undefined && this.ackBytes + 4 > this.acks.length) this.flushAcks()
    const acks = this.acks ??= Buffer.allocUnsafe(ACK_ROOM)
    acks[this.ackBytes] = type === PUBREL ? 0x62 : type << 4
    acks[this.ackBytes + 1] = 2
    acks[this.ackBytes + 2] = packetId >> 8
    acks[this.ackBytes + 3] = packetId & 0xff
    this.ackBytes += 4
  }

  private flushAcks (): void {
    if (this.ackBytes === 0) return
    // The gathered bytes leave as their own buffer; the scratch area is reused at once.
    this.socket.write(Buffer.from((this.acks as Buffer).subarray(0, this.ackBytes)))
    this.ackBytes = 0
  }

  private receive (chunk: Buffer): void {
    let data = chunk
    if (this.pending !== undefined) {
      data = Buffer.concat([this.pending, chunk])
      this.pending = undefined
    }
    const end = data.length
    let offset = 0
    while (end - offset >= 2) {
      let length = 0
      let multiplier = 1
      let position = offset + 1
      let byte = 0x80
      while ((byte & 0x80) !== 0 && position < end) {
        byte = data[position++] as number
        length += (byte & 0x7f) * multiplier
        multiplier *= 128
      }
      if ((byte & 0x80) !== 0 || position + length > end) break
      const first = data[offset] as number
      this.onPacket(first >> 4, first & 0x0f, data, position, position + length)
      offset = position + length
    }
    if (offset < end) this.pending = data.subarray(offset)
    this.flushAcks()
    this.onChunk()
  }

  write (bytes: Buffer): boolean {
    return this.socket.write(bytes)
  }

  /** Ends the connection without lingering in TIME_WAIT (thousands of these per run); a TLS socket has no reset to send and just closes. */
  destroy (): void {
    this.closed = true
    if (this.socket.destroyed) return
    if (this.socket instanceof net.Socket && !(this.socket instanceof tls.TLSSocket)) this.socket.resetAndDestroy()
    else this.socket.destroy()
  }
}

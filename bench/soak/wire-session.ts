// A raw MQTT 3.1.1 or 5 session for the soak's cheap and misbehaving clients (slow consumers,
// bulk readers, takeovers): the bench's WireClient underneath, a handshake for either version,
// acknowledgements for every QoS, PINGREQ on its own timer, and reading that can be paused.
import mqttPacket from 'mqtt-packet'
import { CONNACK, PUBACK, PUBCOMP, PUBLISH, PUBREC, PUBREL, SUBACK } from '../generator/packets'
import { type PacketHandler, WireClient } from '../generator/wire'

const DISCONNECT = 14
const PINGREQ = Buffer.from([0xc0, 0x00])
/** Longest wait for CONNACK or SUBACK; a broker that does not answer fails the step. A guard, not a timing. */
const HANDSHAKE_MS = 10_000

export interface WireSessionOptions {
  /** Client id sent in CONNECT. */
  clientId: string
  /** 4 for MQTT 3.1.1, 5 for MQTT 5. */
  version: 4 | 5
  /** Keepalive sent in CONNECT; PINGREQ every half of it while the session is not stalled. 0 for none. */
  keepaliveSec: number
  /** Subscribe to this filter after CONNACK; none when undefined. */
  filter?: string
  /** QoS of that subscription (0 when unset). */
  qos?: 0 | 1 | 2
}

export class WireSession {
  /** PUBLISH packets received. */
  messages = 0
  /** PUBACK and PUBREC packets received: answers to this session's own PUBLISH packets. */
  acknowledged = 0
  /** Reason code of the broker's DISCONNECT (MQTT 5), when one came. */
  disconnectReason: number | undefined
  /** Resolves when the connection has closed, whoever closed it. */
  readonly closed: Promise<void>
  private pinger: NodeJS.Timeout | undefined

  private constructor (readonly wire: WireClient, readonly options: WireSessionOptions) {
    this.closed = new Promise((resolve) => {
      if (wire.socket.destroyed) resolve()
      else wire.socket.once('close', () => resolve())
    })
    this.closed.then(() => clearInterval(this.pinger), () => {})
  }

  /** Opens a connection, sends CONNECT (and SUBSCRIBE), and resolves once the broker accepted them. */
  static async connect (port: number, options: WireSessionOptions): Promise<WireSession> {
    const wire = await WireClient.open(port)
    const session = new WireSession(wire, options)
    try {
      const connect = mqttPacket.generate({
        cmd: 'connect', protocolId: 'MQTT', protocolVersion: options.version, clean: true, keepalive: options.keepaliveSec, clientId: options.clientId
      }, { protocolVersion: options.version })
      // CONNACK: flags, then the return code (3.1.1) or reason code (5).
      const connack = await session.request(connect, CONNACK, (data, start) => data[start + 1] as number)
      if (connack !== 0) throw new Error(`CONNACK ${connack}`)
      if (options.filter !== undefined) {
        const subscribe = mqttPacket.generate({
          cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: options.filter, qos: options.qos ?? 0 }]
        }, { protocolVersion: options.version })
        // SUBACK for one filter: its granted QoS or reason code is the last byte.
        const granted = await session.request(subscribe, SUBACK, (data, _start, end) => data[end - 1] as number)
        if (granted >= 0x80) throw new Error(`SUBACK 0x${granted.toString(16)}`)
      }
    } catch (error) {
      wire.destroy()
      throw error
    }
    wire.onPacket = session.onPacket
    session.startPinging()
    return session
  }

  get isClosed (): boolean {
    return this.wire.closed || this.wire.socket.destroyed
  }

  /** Stops reading; PINGREQ still goes out, as from a client busy elsewhere. */
  pause (): void {
    this.wire.socket.pause()
  }

  resume (): void {
    this.wire.socket.resume()
    this.startPinging()
  }

  /** Stops reading and sending: a client that hangs, as one whose network loop stopped. */
  stall (): void {
    this.wire.socket.pause()
    clearInterval(this.pinger)
    this.pinger = undefined
  }

  /** Sends DISCONNECT, then closes. */
  disconnect (): void {
    if (!this.isClosed) this.wire.socket.end(Buffer.from([0xe0, 0x00]))
    clearInterval(this.pinger)
  }

  destroy (): void {
    clearInterval(this.pinger)
    this.wire.destroy()
  }

  private startPinging (): void {
    if (this.options.keepaliveSec === 0 || this.pinger !== undefined || this.isClosed) return
    this.pinger = setInterval(() => { if (!this.isClosed) this.wire.write(PINGREQ) }, this.options.keepaliveSec * 500)
  }

  private readonly onPacket: PacketHandler = (type, flags, data, start, end) => {
    if (type === PUBLISH) {
      this.messages++
      const qos = (flags >> 1) & 3
      if (qos > 0) {
        const packetId = data.readUInt16BE(start + 2 + data.readUInt16BE(start))
        this.wire.ack(qos === 1 ? PUBACK : PUBREC, packetId)
      }
    } else if (type === PUBACK || type === PUBREC) {
      this.acknowledged++
    } else if (type === PUBREL) {
      this.wire.ack(PUBCOMP, data.readUInt16BE(start))
    } else if (type === DISCONNECT) {
      // MQTT 5, 3.14.2.1: no reason code byte means 0x00.
      this.disconnectReason = end > start ? data[start] as number : 0
    }
  }

  /** Sends a packet and resolves with `read` of the next packet of `replyType`. */
  private request (packet: Buffer, replyType: number, read: (data: Buffer, start: number, end: number) => number): Promise<number> {
    return new Promise((resolve, reject) => {
      const guard = setTimeout(() => finish(new Error(`no answer of type ${replyType} within ${HANDSHAKE_MS} ms`)), HANDSHAKE_MS)
      const onClose = (): void => finish(new Error('connection closed during the handshake'))
      const finish = (error: Error | undefined, value = 0): void => {
        clearTimeout(guard)
        this.wire.socket.off('close', onClose)
        this.wire.onPacket = () => {}
        if (error === undefined) resolve(value)
        else reject(error)
      }
      this.wire.socket.once('close', onClose)
      this.wire.onPacket = (type, _flags, data, start, end) => {
        if (type === replyType) finish(undefined, read(data, start, end))
      }
      this.wire.write(packet)
    })
  }
}

/** ` (DISCONNECT 0x97)` for a reason code the broker sent, empty when none came. */
export function describeReason (reasonCode: number | undefined): string {
  return reasonCode === undefined ? '' : ` (DISCONNECT 0x${reasonCode.toString(16).padStart(2, '0')})`
}

// Messages this client publishes: validation and encoding up front, QoS 1/2 in flight with packet
// ids, the send window (our limit and the server's receive maximum), the bounded queue that holds
// messages while offline or while the window is full, and re-sending after a reconnect.
import { encodeAck, PUBREL } from '../codec/acks'
import { encodePublish, packetIdOffset } from '../codec/publish-codec'
import { ReasonCode } from '../errors'
import { Fifo } from '../session/queue'
import { topicNameProblem } from '../topics/validate'
import type { PublishProperties, QoS } from '../types'
import { OutboundAliases } from '../codec/topic-aliases'
import { ClientError } from './errors'
import type { PacketIds } from './packet-ids'
import type { ClientOptions } from './options'
import type { ClientLink, ClientPublish, ConnackProperties } from './types'

/** What the server allows, from CONNACK (MQTT 5) or our own options. */
export interface SendLimits {
  window: number
  maxPacketBytes: number
  maximumQoS: QoS
  retainAvailable: boolean
  topicAliasMaximum: number
}

/** Our own limits, lowered by what the server's CONNACK says (MQTT 5). */
export function sendLimits (options: ClientOptions, connack?: ConnackProperties): SendLimits {
  const own: SendLimits = {
    window: options.maxInflightMessages,
    maxPacketBytes: options.maxPacketBytes,
    maximumQoS: 2,
    retainAvailable: true,
    topicAliasMaximum: 0
  }
  if (options.protocolVersion !== 5 || connack === undefined) return own
  return {
    // [MQTT-3.3.4-7] no more unacknowledged QoS 1/2 PUBLISH than the server's receive maximum
    window: Math.min(own.window, connack.receiveMaximum ?? 65535),
    // [MQTT-3.1.2-24] never a packet over the server's maximum packet size
    maxPacketBytes: Math.min(own.maxPacketBytes, connack.maximumPacketSize ?? Infinity),
    maximumQoS: (connack.maximumQoS ?? 2) as QoS,
    retainAvailable: connack.retainAvailable ?? true,
    topicAliasMaximum: connack.topicAliasMaximum ?? 0
  }
}

interface PendingPublish {
  topic: string
  payload: Buffer
  qos: QoS
  retain: boolean
  properties: PublishProperties | undefined
  /** The encoded PUBLISH; its packet id is stamped when it is sent. */
  packet: Buffer
  packetId: number
  /** QoS 2: PUBREC received, PUBREL sent, PUBCOMP awaited. */
  released: boolean
  /** Told once how the message ended; `tag` is given back with it. */
  settle: PublishSettle
  tag: number
}

/** Told once how a message ended: `error` undefined when it was written (QoS 0) or acknowledged (QoS 1/2). */
export interface PublishSettle {
  settled (tag: number, error: Error | undefined): void
}

function toBuffer (payload: ClientPublish['payload']): Buffer {
  if (payload === undefined) return Buffer.alloc(0)
  if (typeof payload === 'string') return Buffer.from(payload, 'utf8')
  if (Buffer.isBuffer(payload)) return payload
  return Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength)
}

export class Outgoing {
  private readonly inflight = new Map<number, PendingPublish>()
  private readonly queue = new Fifo<PendingPublish>()
  private readonly aliases = new OutboundAliases()
  private connected = false
  limits: SendLimits

  constructor (private readonly link: ClientLink, private readonly ids: PacketIds,
    private readonly maxQueued: number, private readonly useAliases: boolean, initialLimits: SendLimits) {
    this.limits = initialLimits
  }

  get inflightCount (): number { return this.inflight.size }
  get queuedCount (): number { return this.queue.length }

  publish (request: ClientPublish): Promise<void> {
    return new Promise((resolve, reject) => {
      this.publishSettled(request, { settled: (_tag, error) => { if (error === undefined) resolve(); else reject(error) } }, 0)
    })
  }

  /**
   * publish() without a promise, for callers that send many (a bridge): `settle.settled(tag, error)`
   * is called once, when the message is written (QoS 0), acknowledged (QoS 1/2) or refused, at
   * once for a message that cannot be sent at all.
   */
  publishSettled (request: ClientPublish, settle: PublishSettle, tag: number): void {
    const version = this.link.protocolVersion
    const qos = request.qos ?? 0
    const retain = request.retain === true
    if (typeof request.topic !== 'string') return settle.settled(tag, new ClientError('INVALID_PACKET', 'topic must be a string'))
    const problem = topicNameProblem(request.topic)
    if (problem !== undefined) return settle.settled(tag, new ClientError('INVALID_PACKET', `invalid topic "${request.topic}": ${problem}`))
    if (qos !== 0 && qos !== 1 && qos !== 2) return settle.settled(tag, new ClientError('INVALID_PACKET', `invalid QoS ${String(qos)}`))
    // [MQTT-3.2.2-11] never above the server's Maximum QoS; [MQTT-3.2.2-14] no retain if unavailable
    if (qos > this.limits.maximumQoS) return settle.settled(tag, new ClientError('NOT_SUPPORTED', `the server accepts QoS ${this.limits.maximumQoS} at most`, ReasonCode.QoSNotSupported))
    if (retain && !this.limits.retainAvailable) return settle.settled(tag, new ClientError('NOT_SUPPORTED', 'the server does not keep retained messages', ReasonCode.RetainNotSupported))
    let properties: PublishProperties | undefined
    if (version === 5 && request.properties !== undefined) {
      // Aliases belong to one connection: the client assigns them itself (useTopicAliases).
      const { topicAlias: _alias, ...rest } = request.properties
      properties = rest
    }
    let packet: Buffer
    const payload = toBuffer(request.payload)
    try {
      packet = encodePublish(request.topic, payload, qos, retain, false, 1, version, properties)
    } catch (error) {
      return settle.settled(tag, new ClientError('INVALID_PACKET', `cannot encode PUBLISH: ${error instanceof Error ? error.message : String(error)}`))
    }
    if (packet.length > this.limits.maxPacketBytes) {
      return settle.settled(tag, new ClientError('PACKET_TOO_LARGE', `PUBLISH of ${packet.length} bytes is over the limit of ${this.limits.maxPacketBytes}`, ReasonCode.PacketTooLarge))
    }
    if (qos === 0) {
      if (!this.connected) return settle.settled(tag, new ClientError('NOT_CONNECTED', 'not connected: a QoS 0 message cannot wait'))
      this.writeFresh(packet, request.topic, payload, retain, properties, 0, 0, (error) => { settle.settled(tag, error ?? undefined) })
      return
    }
    const entry: PendingPublish = { topic: request.topic, payload, qos, retain, properties, packet, packetId: 0, released: false, settle, tag }
    if (this.connected && this.queue.length === 0 && this.hasRoom() && this.send(entry)) return
    if (this.maxQueued > 0 && this.queue.length >= this.maxQueued) {
      return settle.settled(tag, new ClientError('QUEUE_FULL', `${this.queue.length} messages are waiting already`))
    }
    this.queue.push(entry)
  }

  /** PUBACK [MQTT-4.3.2]: a QoS 1 message is done. */
  onPuback (packetId: number, reasonCode: number): void {
    const entry = this.inflight.get(packetId)
    if (entry === undefined || entry.qos !== 1) return
    this.finish(entry, reasonCode)
  }

  /** PUBREC [MQTT-4.3.3]: release the QoS 2 message, unless the server refused it. */
  onPubrec (packetId: number, reasonCode: number): void {
    const entry = this.inflight.get(packetId)
    if (entry === undefined || entry.qos !== 2) {
      // The server still holds this id; let it finish (MQTT 5: "packet identifier not found").
      this.link.write(encodeAck(PUBREL, packetId, this.link.protocolVersion === 5 ? ReasonCode.PacketIdentifierNotFound : 0))
      return
    }
    // MQTT 5, 4.3.3: a PUBREC of 0x80 or more ends the exchange; no PUBREL follows
    if (reasonCode >= 0x80) {
      this.finish(entry, reasonCode)
      return
    }
    entry.released = true
    this.link.write(encodeAck(PUBREL, packetId))
  }

  /** PUBCOMP: the QoS 2 exchange is complete. */
  onPubcomp (packetId: number, reasonCode: number): void {
    const entry = this.inflight.get(packetId)
    if (entry === undefined || !entry.released) return
    this.finish(entry, reasonCode >= 0x80 ? reasonCode : 0)
  }

  /**
   * A new connection is up. With the session present, in-flight messages go again with their
   * ids, PUBLISH with DUP and PUBREL as they were [MQTT-4.4.0-1]. Without it the server forgot
   * them: released QoS 2 messages were received, the others are sent again as new messages.
   */
  onConnected (sessionPresent: boolean, limits: SendLimits): void {
    this.limits = limits
    this.aliases.reset(this.useAliases ? limits.topicAliasMaximum : 0)
    this.connected = true
    const entries = [...this.inflight.values()]
    if (sessionPresent) {
      for (const entry of entries) {
        if (entry.released) this.link.write(encodeAck(PUBREL, entry.packetId))
        else this.writeStamped(entry, true)
      }
    } else {
      const waiting = [...this.queue]
      this.queue.clear()
      for (const entry of entries) {
        this.inflight.delete(entry.packetId)
        this.ids.release(entry.packetId)
        if (entry.released) entry.settle.settled(entry.tag, undefined)
        else this.queue.push(entry)
      }
      for (const entry of waiting) this.queue.push(entry)
    }
    this.drain()
  }

  onDisconnected (): void {
    this.connected = false
  }

  /** end(): every waiting promise fails; nothing stays behind. */
  failAll (error: Error): void {
    this.connected = false
    for (const entry of this.inflight.values()) {
      this.ids.release(entry.packetId)
      entry.settle.settled(entry.tag, error)
    }
    this.inflight.clear()
    for (const entry of this.queue) entry.settle.settled(entry.tag, error)
    this.queue.clear()
  }

  private finish (entry: PendingPublish, reasonCode: number): void {
    this.inflight.delete(entry.packetId)
    this.ids.release(entry.packetId)
    if (reasonCode >= 0x80) entry.settle.settled(entry.tag, new ClientError('REFUSED', `the server refused the message on "${entry.topic}" with reason code 0x${reasonCode.toString(16)}`, reasonCode))
    else entry.settle.settled(entry.tag, undefined)
    this.drain()
  }

  private hasRoom (): boolean {
    return this.inflight.size < this.limits.window
  }

  /** Sends queued messages while the window has room. */
  private drain (): void {
    while (this.connected && this.queue.length > 0 && this.hasRoom()) {
      const entry = this.queue.shift() as PendingPublish
      if (entry.packet.length > this.limits.maxPacketBytes) {
        entry.settle.settled(entry.tag, new ClientError('PACKET_TOO_LARGE', `PUBLISH of ${entry.packet.length} bytes is over the server's limit of ${this.limits.maxPacketBytes}`, ReasonCode.PacketTooLarge))
        continue
      }
      if (!this.send(entry)) {
        this.queue.push(entry)
        break
      }
    }
  }

  private send (entry: PendingPublish): boolean {
    const packetId = this.ids.allocate()
    if (packetId === 0) return false
    entry.packetId = packetId
    entry.released = false
    this.inflight.set(packetId, entry)
    this.writeFresh(entry.packet, entry.topic, entry.payload, entry.retain, entry.properties, entry.qos, packetId)
    return true
  }

  /** A first send on this connection: may use a topic alias. */
  private writeFresh (packet: Buffer, topic: string, payload: Buffer, retain: boolean, properties: PublishProperties | undefined,
    qos: QoS, packetId: number, callback?: (error?: Error | null) => void): void {
    const alias = this.aliases.lookup(topic)
    if (alias !== undefined) {
      const aliased = encodePublish(alias.known ? '' : topic, payload, qos, retain, false, packetId, 5, { ...properties, topicAlias: alias.alias })
      if (aliased.length <= this.limits.maxPacketBytes) {
        this.write(aliased, callback)
        return
      }
      // The plain packet goes instead: a new alias was not taught to the server.
      if (!alias.known) this.aliases.release(topic)
    }
    if (qos > 0) {
      packet.writeUInt16BE(packetId, packetIdOffset(packet))
      // A message sent again as new (the server lost the session) is no duplicate.
      packet[0] = (packet[0] as number) & ~0x08
    }
    this.write(packet, callback)
  }

  /** A re-send: the whole topic (aliases died with the old connection) and DUP [MQTT-3.3.1-1]. */
  private writeStamped (entry: PendingPublish, dup: boolean): void {
    const packet = entry.packet
    packet.writeUInt16BE(entry.packetId, packetIdOffset(packet))
    packet[0] = dup ? (packet[0] as number) | 0x08 : (packet[0] as number) & ~0x08
    this.write(packet)
  }

  private write (packet: Buffer, callback?: (error?: Error | null) => void): void {
    if (!this.link.write(packet, callback) && callback !== undefined) {
      callback(new ClientError('NOT_CONNECTED', 'the connection closed before the message was written'))
    }
  }
}

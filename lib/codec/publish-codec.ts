// PUBLISH on the hot path, without mqtt-packet's general machinery: decoding reads the frame in
// place and validates the topic's UTF-8 from its bytes; encoding writes one Buffer that can be
// sent to every subscriber. MQTT 5 properties go through lib/codec, which keeps user properties
// in order and rejects duplicates.
import { isUtf8 } from 'node:buffer'
import { type InboundPublishProperties, inboundPublishProperties, outboundPublishProperties, remainingExpirySec } from './publish-properties'
import { encodeProperties, type PropertiesToWrite, readProperties } from './properties'
import { varintLength, writeVarint } from './varint'
import { ProtocolError, ReasonCode } from '../errors'
import type { Message, PublishProperties, QoS } from '../types'

export interface PublishHeader {
  topic: string
  qos: QoS
  retain: boolean
  dup: boolean
  messageId: number
  /** Where the MQTT 5 properties (or, before MQTT 5, the payload) begin in the body. */
  offset: number
}

export interface DecodedPublish extends PublishHeader {
  payload: Buffer
  /** MQTT 5 only. */
  v5?: InboundPublishProperties
}

/** Reads and validates the fixed header flags, topic and packet id. Throws ProtocolError. */
export function readPublishHeader (firstByte: number, body: Buffer): PublishHeader {
  const qos = (firstByte >> 1) & 3
  // [MQTT-3.3.1-4] a PUBLISH must not have both QoS bits set
  if (qos === 3) throw new ProtocolError(ReasonCode.MalformedPacket, 'PUBLISH with QoS 3')
  const dup = (firstByte & 0x08) !== 0
  // [MQTT-3.3.1-2] the DUP flag must be 0 for QoS 0
  if (dup && qos === 0) throw new ProtocolError(ReasonCode.MalformedPacket, 'PUBLISH with QoS 0 and DUP set')
  if (body.length < 2) throw new ProtocolError(ReasonCode.MalformedPacket, 'PUBLISH too short for its topic length')
  const topicLength = body.readUInt16BE(0)
  let offset = 2 + topicLength
  if (offset > body.length) throw new ProtocolError(ReasonCode.MalformedPacket, 'PUBLISH topic runs past the packet')
  const topic = body.toString('utf8', 2, offset)
  // [MQTT-1.5.3-1] strings must be well-formed UTF-8. Decoding replaces every ill-formed sequence
  // with U+FFFD, so only a topic showing one needs the byte-exact check (it may be a real U+FFFD).
  if (topic.includes('\uFFFD') && !isUtf8(body.subarray(2, offset))) {
    throw new ProtocolError(ReasonCode.TopicNameInvalid, 'PUBLISH topic is not valid UTF-8')
  }
  let messageId = 0
  if (qos > 0) {
    if (offset + 2 > body.length) throw new ProtocolError(ReasonCode.MalformedPacket, 'PUBLISH too short for its packet identifier')
    messageId = body.readUInt16BE(offset)
    // [MQTT-2.3.1-1] a packet identifier is non-zero
    if (messageId === 0) throw new ProtocolError(ReasonCode.ProtocolError, 'PUBLISH with packet identifier 0')
    offset += 2
  }
  return { topic, qos: qos as QoS, retain: (firstByte & 0x01) !== 0, dup, messageId, offset }
}

/** Decodes a PUBLISH body of any protocol version. Throws ProtocolError for a malformed packet. */
export function decodePublish (firstByte: number, body: Buffer, protocolVersion: number): DecodedPublish {
  const header = readPublishHeader(firstByte, body) as DecodedPublish
  let offset = header.offset
  if (protocolVersion === 5) {
    if (offset >= body.length) throw new ProtocolError(ReasonCode.MalformedPacket, 'PUBLISH too short for its properties')
    if (body[offset] === 0) {
      offset += 1
    } else {
      const [read, next] = readProperties(body, offset, body.length, 'publish')
      header.v5 = inboundPublishProperties(read)
      offset = next
    }
  }
  // A copy: the frame's chunk may be large, and a retained or queued message must not pin it.
  const payload = Buffer.allocUnsafe(body.length - offset)
  body.copy(payload, 0, offset)
  header.payload = payload
  return header
}

/** An empty MQTT 5 property block: its length, zero. */
const NO_PROPERTIES = Buffer.from([0])

/**
 * Encodes a PUBLISH. For QoS 1 and 2 the packet identifier sits at `packetIdOffset()`, so one
 * encoding can be copied and stamped per subscriber. Properties are written for MQTT 5 only:
 * an MQTT 3.1.1 receiver gets the message without them. `headerOnly` leaves the payload out
 * (the remaining length still counts it), for a caller that writes the payload after it as is.
 */
export function encodePublish (topic: string, payload: Buffer, qos: QoS, retain: boolean, dup: boolean,
  messageId: number, protocolVersion: number, properties?: PropertiesToWrite | PublishProperties, headerOnly = false): Buffer {
  const propertyBlock = protocolVersion !== 5 ? undefined : properties === undefined ? NO_PROPERTIES : encodeProperties(properties as PropertiesToWrite)
  const topicBytes = Buffer.byteLength(topic)
  const remaining = 2 + topicBytes + (qos > 0 ? 2 : 0) + (propertyBlock?.length ?? 0) + payload.length
  const packet = Buffer.allocUnsafe(1 + varintLength(remaining) + remaining - (headerOnly ? payload.length : 0))
  packet[0] = 0x30 | (dup ? 0x08 : 0) | (qos << 1) | (retain ? 0x01 : 0)
  let position = writeVarint(packet, 1, remaining)
  packet.writeUInt16BE(topicBytes, position)
  position += 2
  position += packet.write(topic, position, 'utf8')
  if (qos > 0) {
    packet.writeUInt16BE(messageId, position)
    position += 2
  }
  if (propertyBlock !== undefined) {
    if (propertyBlock.length === 1) packet[position] = 0
    else propertyBlock.copy(packet, position)
    position += propertyBlock.length
  }
  if (!headerOnly) payload.copy(packet, position)
  return packet
}

/** Where the packet identifier of an encoded QoS 1/2 PUBLISH begins. */
export function packetIdOffset (packet: Buffer): number {
  let position = 1
  while (((packet[position++] as number) & 0x80) !== 0);
  return position + 2 + packet.readUInt16BE(position)
}

/**
 * Encodes each message once per (QoS, retain, protocol family) and hands the same bytes to every
 * subscriber [DESIGN style 7]. Only the message being routed is cached: a new message replaces it.
 */
export class PublishEncoder {
  /** The message each slot holds: a new message costs nothing until a slot is asked for. */
  private readonly owners: Array<Message | undefined> = new Array(12).fill(undefined)
  /** Message Expiry left when each slot was encoded; it goes stale when that changes. */
  private readonly expiries: Array<number | undefined> = new Array(12).fill(undefined)
  private readonly slots: Array<Buffer | undefined> = new Array(12).fill(undefined)
  private readonly offsets: number[] = new Array(12).fill(0)
  /** Offset of the packet identifier in the buffer last returned (QoS 1 and 2). */
  packetIdOffset = 0

  encode (message: Message, qos: QoS, retain: boolean, protocolVersion: number): Buffer {
    // The clock is read only for a message that expires: most never do, and this runs per delivery.
    const expirySec = message.expiresAt === undefined ? undefined : remainingExpirySec(message, Date.now())
    // MQTT 3.1 and 3.1.1 share one PUBLISH layout; MQTT 5 adds properties.
    const slot = (protocolVersion === 5 ? 6 : 0) + qos * 2 + (retain ? 1 : 0)
    let packet = this.slots[slot]
    if (packet === undefined || this.owners[slot] !== message || this.expiries[slot] !== expirySec) {
      const properties = protocolVersion === 5 ? outboundPublishProperties(message, expirySec, undefined, undefined) : undefined
      packet = encodePublish(message.topic, message.payload, qos, retain, false, 1, protocolVersion, properties)
      this.slots[slot] = packet
      this.owners[slot] = message
      this.expiries[slot] = expirySec
      this.offsets[slot] = qos > 0 ? packetIdOffset(packet) : 0
    }
    this.packetIdOffset = this.offsets[slot] as number
    return packet
  }

  /** Drops the cached encodings (the message was changed, or to release memory). */
  reset (): void {
    this.owners.fill(undefined)
    this.slots.fill(undefined)
  }
}

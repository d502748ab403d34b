// PUBLISH on the hot path, without mqtt-packet's general machinery: decoding reads the frame in
// place and validates the topic's UTF-8 from its bytes; encoding writes one Buffer that can be
// sent to every subscriber. PUBLISH packets with MQTT 5 properties take mqtt-packet's road.
import { isUtf8 } from 'node:buffer'
import mqttPacket from 'mqtt-packet'
import { ProtocolError, ReasonCode } from '../errors'
import type { PublishProperties, QoS } from '../types'

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

/**
 * Decodes a PUBLISH body. Returns undefined when the packet carries MQTT 5 properties, which
 * the caller hands to mqtt-packet. Throws ProtocolError for a malformed packet.
 */
export function decodePublish (firstByte: number, body: Buffer, protocolVersion: number): DecodedPublish | undefined {
  const header = readPublishHeader(firstByte, body) as DecodedPublish
  let offset = header.offset
  if (protocolVersion === 5) {
    if (offset >= body.length) throw new ProtocolError(ReasonCode.MalformedPacket, 'PUBLISH too short for its properties')
    if (body[offset] !== 0) return undefined
    offset += 1
  }
  // A copy: the frame's chunk may be large, and a retained or queued message must not pin it.
  const payload = Buffer.allocUnsafe(body.length - offset)
  body.copy(payload, 0, offset)
  header.payload = payload
  return header
}

function remainingLengthBytes (length: number): number {
  return length < 128 ? 1 : length < 16_384 ? 2 : length < 2_097_152 ? 3 : 4
}

/**
 * Encodes a PUBLISH. For QoS 1 and 2 the packet identifier sits at `packetIdOffset()`, so one
 * encoding can be copied and stamped per subscriber.
 */
export function encodePublish (topic: string, payload: Buffer, qos: QoS, retain: boolean, dup: boolean,
  messageId: number, protocolVersion: number, properties?: PublishProperties): Buffer {
  if (protocolVersion === 5 && properties !== undefined && hasProperties(properties)) {
    return mqttPacket.generate({
      cmd: 'publish', topic, payload, qos, retain, dup, messageId: qos > 0 ? messageId : undefined, properties
    } as mqttPacket.IPublishPacket, { protocolVersion: 5 })
  }
  const topicBytes = Buffer.byteLength(topic)
  const remaining = 2 + topicBytes + (qos > 0 ? 2 : 0) + (protocolVersion === 5 ? 1 : 0) + payload.length
  const headerBytes = 1 + remainingLengthBytes(remaining)
  const packet = Buffer.allocUnsafe(headerBytes + remaining)
  packet[0] = 0x30 | (dup ? 0x08 : 0) | (qos << 1) | (retain ? 0x01 : 0)
  let position = 1
  let length = remaining
  do {
    let byte = length % 128
    length = Math.floor(length / 128)
    if (length > 0) byte |= 0x80
    packet[position++] = byte
  } while (length > 0)
  packet.writeUInt16BE(topicBytes, position)
  position += 2
  position += packet.write(topic, position, 'utf8')
  if (qos > 0) {
    packet.writeUInt16BE(messageId, position)
    position += 2
  }
  if (protocolVersion === 5) packet[position++] = 0
  payload.copy(packet, position)
  return packet
}

/** Where the packet identifier of an encoded QoS 1/2 PUBLISH begins. */
export function packetIdOffset (packet: Buffer): number {
  let position = 1
  while (((packet[position++] as number) & 0x80) !== 0);
  return position + 2 + packet.readUInt16BE(position)
}

function hasProperties (properties: PublishProperties): boolean {
  for (const key in properties) {
    if ((properties as Record<string, unknown>)[key] !== undefined) return true
  }
  return false
}

/**
 * Encodes each message once per (QoS, retain, protocol family) and hands the same bytes to every
 * subscriber [DESIGN style 7]. Each slot remembers which message it holds, so a new message costs
 * nothing until a slot is asked for, rather than a sweep of every slot per message.
 */
export class PublishEncoder {
  private readonly owners: Array<object | undefined> = new Array(12).fill(undefined)
  private readonly slots: Array<Buffer | undefined> = new Array(12).fill(undefined)
  private readonly offsets: number[] = new Array(12).fill(0)
  /** Offset of the packet identifier in the buffer last returned (QoS 1 and 2). */
  packetIdOffset = 0

  encode (message: { topic: string, payload: Buffer, properties?: PublishProperties }, qos: QoS, retain: boolean, protocolVersion: number): Buffer {
    // MQTT 3.1 and 3.1.1 share one PUBLISH layout; MQTT 5 adds properties.
    const slot = (protocolVersion === 5 ? 6 : 0) + qos * 2 + (retain ? 1 : 0)
    let packet = this.slots[slot]
    if (packet === undefined || this.owners[slot] !== message) {
      packet = encodePublish(message.topic, message.payload, qos, retain, false, 1, protocolVersion, message.properties)
      this.slots[slot] = packet
      this.owners[slot] = message
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

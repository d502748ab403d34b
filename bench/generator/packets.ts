// Pre-encoded MQTT 3.1.1 packets for the load generator. Everything the generator sends is built
// here once, before a measurement starts, so the generator spends its time writing bytes rather
// than encoding them and the broker, not the client, is what the bench measures.

import { varintLength, writeVarint } from '../../lib/codec/varint'

export const PUBLISH = 3
export const PUBACK = 4
export const PUBREC = 5
export const PUBREL = 6
export const PUBCOMP = 7
export const CONNACK = 2
export const SUBACK = 9

function utf8 (text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8')
  const prefixed = Buffer.allocUnsafe(2 + bytes.length)
  prefixed.writeUInt16BE(bytes.length, 0)
  bytes.copy(prefixed, 2)
  return prefixed
}

function packet (firstByte: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts)
  const header = Buffer.allocUnsafe(1 + varintLength(body.length))
  header[0] = firstByte
  writeVarint(header, 1, body.length)
  return Buffer.concat([header, body])
}

/** CONNECT, MQTT 3.1.1, no keepalive supervision; a clean session unless `clean` is false. */
export function connectPacket (clientId: string, clean = true): Buffer {
  const header = Buffer.from([0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, clean ? 0x02 : 0x00, 0x00, 0x00])
  return packet(0x10, header, utf8(clientId))
}

export function subscribePacket (packetId: number, filter: string, qos: number): Buffer {
  const id = Buffer.allocUnsafe(2)
  id.writeUInt16BE(packetId, 0)
  return packet(0x82, id, utf8(filter), Buffer.from([qos]))
}

export function publishPacket (topic: string, payload: Buffer, qos: number, packetId: number, retain = false): Buffer {
  const parts = [utf8(topic)]
  if (qos > 0) {
    const id = Buffer.allocUnsafe(2)
    id.writeUInt16BE(packetId, 0)
    parts.push(id)
  }
  parts.push(payload)
  return packet(0x30 | (qos << 1) | (retain ? 1 : 0), ...parts)
}

export const DISCONNECT_PACKET = Buffer.from([0xe0, 0x00])

/** Where the packet identifier sits in a PUBLISH built by publishPacket (QoS 1 and 2). */
export function publishPacketIdOffset (encoded: Buffer): number {
  let position = 1
  while (((encoded[position++] as number) & 0x80) !== 0);
  return position + 2 + encoded.readUInt16BE(position)
}

/**
 * One buffer holding `count` copies of a PUBLISH with packet ids 1..count (QoS > 0), so sending
 * ids a..b is a zero-copy slice: `slice(a, b)`.
 */
export class PublishRun {
  readonly bytes: Buffer
  readonly packetBytes: number

  constructor (template: Buffer, readonly count: number, withIds: boolean) {
    this.packetBytes = template.length
    this.bytes = Buffer.allocUnsafe(template.length * count)
    const idOffset = withIds ? publishPacketIdOffset(template) : 0
    for (let i = 0; i < count; i++) {
      template.copy(this.bytes, i * template.length)
      if (withIds) this.bytes.writeUInt16BE(i + 1, i * template.length + idOffset)
    }
  }

  /** Packets with ids first..first+n-1 (1-based); the caller keeps the range inside the run. */
  slice (first: number, n: number): Buffer {
    const start = (first - 1) * this.packetBytes
    return this.bytes.subarray(start, start + n * this.packetBytes)
  }
}

/** A 64-byte payload, optionally stamped with a send time for the latency scenario. */
export function payload64 (): Buffer {
  return Buffer.alloc(64, 0x61)
}

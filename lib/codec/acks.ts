// The small fixed-size acknowledgements, encoded by hand: they are sent once per QoS 1/2 message.
// MQTT 5 allows the same four bytes when the reason code is Success and there are no properties
// [MQTT-3.4.2-1].
import { varintLength, writeVarint } from './varint'

export const PUBACK = 0x40
export const PUBREC = 0x50
export const PUBREL = 0x62 // [MQTT-3.6.1-1] PUBREL's fixed header flags are 0010
export const PUBCOMP = 0x70

export function encodeAck (type: number, packetId: number, reasonCode = 0): Buffer {
  if (reasonCode !== 0) {
    const packet = Buffer.allocUnsafe(5)
    packet[0] = type
    packet[1] = 3
    packet.writeUInt16BE(packetId, 2)
    packet[4] = reasonCode
    return packet
  }
  const packet = Buffer.allocUnsafe(4)
  packet[0] = type
  packet[1] = 2
  packet.writeUInt16BE(packetId, 2)
  return packet
}

export const PINGRESP_PACKET = Buffer.from([0xd0, 0x00])

/**
 * CONNACK accepting the connection with no properties (MQTT 3.1.1, 3.2; MQTT 5.0, 3.2), the
 * answer nearly every CONNECT gets. Encoded here rather than through mqtt-packet's generator,
 * whose first use also builds a table of 65,536 two-byte buffers (several MB) the broker has no
 * need for.
 */
export function encodeConnackAccepted (sessionPresent: boolean, v5: boolean): Buffer {
  const flags = sessionPresent ? 1 : 0
  // MQTT 5: flags, reason code Success, then an empty property block (3.2.2.3).
  return v5 ? Buffer.from([0x20, 0x03, flags, 0x00, 0x00]) : Buffer.from([0x20, 0x02, flags, 0x00])
}

/** SUBACK with one return / reason code per filter [MQTT-3.8.4-5] and, in MQTT 5, no properties. */
export function encodeSuback (packetId: number, codes: readonly number[], v5: boolean): Buffer {
  const remaining = 2 + (v5 ? 1 : 0) + codes.length
  const packet = Buffer.allocUnsafe(1 + varintLength(remaining) + remaining)
  packet[0] = 0x90
  let offset = writeVarint(packet, 1, remaining)
  packet.writeUInt16BE(packetId, offset)
  offset += 2
  if (v5) packet[offset++] = 0
  for (const code of codes) packet[offset++] = code
  return packet
}

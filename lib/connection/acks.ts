// The small fixed-size acknowledgements, encoded by hand: they are sent once per QoS 1/2 message.
// MQTT 5 allows the same four bytes when the reason code is Success and there are no properties
// [MQTT-3.4.2-1].

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

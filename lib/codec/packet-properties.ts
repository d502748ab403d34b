// Finds the MQTT 5 property blocks of packets a client sends and reads them with the strict
// reader, so a duplicate or misplaced property is refused whatever the packet (MQTT 5.0, 2.2.2.2).
// mqtt-packet still parses the rest of each packet.
import { ProtocolError, ReasonCode } from '../errors'
import { type PropertyPlace, type PropertyValues, readProperties } from './properties'

const EMPTY: PropertyValues = Object.freeze({ values: Object.freeze({}) }) as PropertyValues

export interface ConnectProperties {
  connect: PropertyValues
  will: PropertyValues | undefined
}

function skipLengthPrefixed (body: Buffer, offset: number): number {
  if (offset + 2 > body.length) throw new ProtocolError(ReasonCode.MalformedPacket, 'CONNECT too short')
  return offset + 2 + body.readUInt16BE(offset)
}

/** The CONNECT and will property blocks of an MQTT 5 CONNECT body (MQTT 5.0, 3.1.2.11 and 3.1.3.2). */
export function readConnectProperties (body: Buffer): ConnectProperties {
  // Protocol name, level, flags, keepalive.
  let offset = skipLengthPrefixed(body, 0)
  if (offset + 4 > body.length) throw new ProtocolError(ReasonCode.MalformedPacket, 'CONNECT too short')
  const flags = body[offset + 1] as number
  offset += 4
  const [connect, afterProperties] = readProperties(body, offset, body.length, 'connect')
  let will: PropertyValues | undefined
  if ((flags & 0x04) !== 0) {
    const afterClientId = skipLengthPrefixed(body, afterProperties)
    ;[will] = readProperties(body, afterClientId, body.length, 'will')
  }
  return { connect, will }
}

/** Packet types by the high nibble of their first byte, for those whose properties a client may send. */
const PLACE_BY_TYPE: Record<number, PropertyPlace> = {
  4: 'puback', 5: 'pubrec', 6: 'pubrel', 7: 'pubcomp', 8: 'subscribe', 10: 'unsubscribe', 14: 'disconnect', 15: 'auth'
}

/** The property block of any other MQTT 5 packet a client sends; empty where the packet has none. */
export function readPacketProperties (type: number, body: Buffer): PropertyValues {
  const place = PLACE_BY_TYPE[type]
  if (place === undefined) return EMPTY
  switch (place) {
    case 'subscribe':
    case 'unsubscribe':
      // Packet identifier, then properties.
      return readProperties(body, 2, body.length, place)[0]
    case 'disconnect':
    case 'auth':
      // Reason code and properties may both be left out (MQTT 5.0, 3.14.2.1, 3.15.2.1).
      return body.length > 1 ? readProperties(body, 1, body.length, place)[0] : EMPTY
    default:
      // Acknowledgements: packet identifier, then an optional reason code and properties.
      return body.length > 3 ? readProperties(body, 3, body.length, place)[0] : EMPTY
  }
}


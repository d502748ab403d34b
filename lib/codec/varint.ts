// Variable Byte Integers (MQTT 5.0, 1.5.5; the remaining length of MQTT 3.1.1, 2.2.3): seven
// bits a byte, low group first, at most four bytes.
import { ProtocolError, ReasonCode } from '../errors'

/** Reads a Variable Byte Integer (MQTT 5.0, 1.5.5). Returns [value, next offset]. */
export function readVarint (buffer: Buffer, offset: number, end: number): [number, number] {
  let value = 0
  let multiplier = 1
  for (let i = 0; i < 4; i++) {
    if (offset >= end) throw new ProtocolError(ReasonCode.MalformedPacket, 'variable byte integer runs past the packet')
    const byte = buffer[offset++] as number
    value += (byte & 0x7f) * multiplier
    if ((byte & 0x80) === 0) return [value, offset]
    multiplier *= 128
  }
  throw new ProtocolError(ReasonCode.MalformedPacket, 'variable byte integer longer than 4 bytes')
}

export function varintLength (value: number): number {
  return value < 128 ? 1 : value < 16_384 ? 2 : value < 2_097_152 ? 3 : 4
}

export function writeVarint (buffer: Buffer, offset: number, value: number): number {
  do {
    let byte = value % 128
    value = Math.floor(value / 128)
    if (value > 0) byte |= 0x80
    buffer[offset++] = byte
  } while (value > 0)
  return offset
}

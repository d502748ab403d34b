// Valid packets of every type for MQTT 3.1, 3.1.1 and 5, kept as segments (plain bytes and
// property blocks) rather than finished bytes, so a mutator can reach into a property block and
// the remaining length can be written true or false. assemble() turns them into wire bytes.
import { varintLength, writeVarint } from '../../lib/codec/varint'
import { validProperties } from './properties'
import type { Random } from './random'

export type Version = 3 | 4 | 5

/** A property block: each property encoded alone; `lengthBytes` replaces the true length when set. */
export interface PropertyBlock {
  properties: Buffer[]
  lengthBytes?: Buffer
}

export type Segment = Buffer | PropertyBlock

export interface FuzzPacket {
  /** The packet's kind, e.g. `publish-qos1`; mutations add to it. */
  name: string
  version: Version
  firstByte: number
  segments: Segment[]
  /** A CONNECT's client id, so the broker's log lines lead back to the case. */
  clientId?: string
}

/** Client ids come from a small pool: sessions, takeovers and memory stay bounded. */
const CLIENT_IDS = 48
const TOPICS = ['fz/a', 'fz/b/c', 'fz/ü', '$SYS/fz', 'fz/' + 'l'.repeat(300), 'fz/+', 'fz/#', '']
const FILTERS = ['fz/#', 'fz/+/c', '#', '+', 'fz/a', '$SYS/#', '$share/g/fz/#', 'fz/#/x', '$share//x', '']

export function varint (value: number): Buffer {
  const bytes = Buffer.allocUnsafe(varintLength(value))
  writeVarint(bytes, 0, value)
  return bytes
}

function str (text: string | Buffer): Buffer {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text
  const length = Buffer.allocUnsafe(2)
  length.writeUInt16BE(bytes.length)
  return Buffer.concat([length, bytes])
}

function u16 (value: number): Buffer {
  const bytes = Buffer.allocUnsafe(2)
  bytes.writeUInt16BE(value)
  return bytes
}

export function isBlock (segment: Segment): segment is PropertyBlock {
  return !Buffer.isBuffer(segment)
}

function blockBytes (block: PropertyBlock): Buffer {
  const content = Buffer.concat(block.properties)
  return Buffer.concat([block.lengthBytes ?? varint(content.length), content])
}

export function bodyOf (packet: FuzzPacket): Buffer {
  return Buffer.concat(packet.segments.map((segment) => isBlock(segment) ? blockBytes(segment) : segment))
}

/** First byte, remaining length (true to the body), body. */
export function assemble (packet: FuzzPacket): Buffer {
  const body = bodyOf(packet)
  return Buffer.concat([Buffer.from([packet.firstByte]), varint(body.length), body])
}

function props (r: Random, version: Version, place: Parameters<typeof validProperties>[1]): Segment[] {
  return version === 5 ? [{ properties: validProperties(r, place) }] : []
}

function packetId (r: Random): Buffer {
  return u16(r.pick([1, 2, r.int(1, 65_535)]))
}

/** A CONNECT from a pooled client id, with a will, credentials and (MQTT 5) properties at random. */
export function connectPacket (r: Random, version: Version): FuzzPacket {
  const will = r.chance(0.3)
  const username = r.chance(0.3)
  const password = username && r.chance(0.7)
  const willQos = will ? r.int(0, 2) : 0
  const flags = (r.chance(0.7) ? 0x02 : 0) | (will ? 0x04 | (willQos << 3) | (r.chance(0.2) ? 0x20 : 0) : 0) |
    (password ? 0x40 : 0) | (username ? 0x80 : 0)
  const header = version === 3 ? [str('MQIsdp'), Buffer.from([3])] : [str('MQTT'), Buffer.from([version])]
  const segments: Segment[] = [...header, Buffer.from([flags]), u16(r.pick([0, 30, 60]))]
  segments.push(...props(r, version, 'connect'))
  const clientId = `fz${version}-${r.int(0, CLIENT_IDS - 1)}`
  segments.push(str(clientId))
  if (will) segments.push(...props(r, version, 'will'), str(r.pick(['fz/will', 'fz/will/x'])), str(r.bytes(r.int(0, 20))))
  if (username) segments.push(str(r.pick(['user', 'ü'])))
  if (password) segments.push(str(r.bytes(r.int(0, 12))))
  return { name: 'connect', version, firstByte: 0x10, segments, clientId }
}

function publish (r: Random, version: Version): FuzzPacket {
  const qos = r.int(0, 2)
  const retain = r.chance(0.1)
  const firstByte = 0x30 | (r.chance(0.1) && qos > 0 ? 0x08 : 0) | (qos << 1) | (retain ? 1 : 0)
  const segments: Segment[] = [str(r.pick(TOPICS))]
  if (qos > 0) segments.push(packetId(r))
  segments.push(...props(r, version, 'publish'))
  segments.push(r.chance(0.005) ? Buffer.alloc(r.int(70_000, 200_000), 0x61) : r.bytes(r.int(0, 64)))
  return { name: `publish-qos${qos}`, version, firstByte, segments }
}

/** Reason codes of PUBACK and PUBREC (MQTT 5.0, 3.4.2.1, 3.5.2.1). */
const PUBLISH_ACK_CODES = [0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99]
/** Reason codes of PUBREL and PUBCOMP (MQTT 5.0, 3.6.2.1, 3.7.2.1). */
const RELEASE_CODES = [0x00, 0x92]

/** PUBACK, PUBREC, PUBREL, PUBCOMP: packet id, then (MQTT 5, optionally) a reason code and properties. */
function ack (type: number, name: 'puback' | 'pubrec' | 'pubrel' | 'pubcomp') {
  const codes = type <= 5 ? PUBLISH_ACK_CODES : RELEASE_CODES
  return (r: Random, version: Version): FuzzPacket => {
    const segments: Segment[] = [packetId(r)]
    if (version === 5 && r.chance(0.6)) {
      segments.push(Buffer.from([r.pick(codes)]))
      if (r.chance(0.6)) segments.push(...props(r, version, name))
    }
    return { name, version, firstByte: (type << 4) | (type === 6 ? 0x02 : 0), segments }
  }
}

function subscribe (r: Random, version: Version): FuzzPacket {
  const segments: Segment[] = [packetId(r), ...props(r, version, 'subscribe')]
  for (let count = r.int(1, 3); count > 0; count--) {
    // MQTT 5 options: QoS, No Local, Retain As Published, Retain Handling (3.8.3.1).
    const options = version === 5 ? r.int(0, 2) | (r.int(0, 1) << 2) | (r.int(0, 1) << 3) | (r.int(0, 2) << 4) : r.int(0, 2)
    segments.push(str(r.pick(FILTERS)), Buffer.from([options]))
  }
  return { name: 'subscribe', version, firstByte: 0x82, segments }
}

function unsubscribe (r: Random, version: Version): FuzzPacket {
  const segments: Segment[] = [packetId(r), ...props(r, version, 'unsubscribe')]
  for (let count = r.int(1, 3); count > 0; count--) segments.push(str(r.pick(FILTERS)))
  return { name: 'unsubscribe', version, firstByte: 0xa2, segments }
}

/**
 * DISCONNECT and AUTH: empty, or (MQTT 5) a reason code and optionally properties. A client's
 * AUTH always carries one: the empty form means Success, which only a server sends (4.12).
 */
function reasonAndProperties (type: number, name: 'disconnect' | 'auth', codes: readonly number[]) {
  return (r: Random, version: Version): FuzzPacket => {
    const segments: Segment[] = []
    if (version === 5 && (name === 'auth' || r.chance(0.7))) {
      segments.push(Buffer.from([r.pick(codes)]))
      if (r.chance(0.6)) segments.push(...props(r, version, name))
    }
    return { name, version, firstByte: type << 4, segments }
  }
}

/** Packets only a server sends: a client sending one commits a protocol error. */
function connack (r: Random, version: Version): FuzzPacket {
  return { name: 'connack', version, firstByte: 0x20, segments: [Buffer.from([r.int(0, 1), 0]), ...props(r, version, 'connack')] }
}

function suback (r: Random, version: Version): FuzzPacket {
  return { name: 'suback', version, firstByte: 0x90, segments: [packetId(r), ...props(r, version, 'suback'), Buffer.from([r.pick([0, 1, 2, 0x80])])] }
}

function unsuback (r: Random, version: Version): FuzzPacket {
  const codes = version === 5 ? [Buffer.from([r.pick([0, 0x11])])] : []
  return { name: 'unsuback', version, firstByte: 0xb0, segments: [packetId(r), ...props(r, version, 'unsuback'), ...codes] }
}

function bare (firstByte: number, name: string) {
  return (_r: Random, version: Version): FuzzPacket => ({ name, version, firstByte, segments: [] })
}

type Maker = (r: Random, version: Version) => FuzzPacket

/** Packets after CONNECT, weighted: PUBLISH and SUBSCRIBE reach the most code. */
const AFTER_CONNECT: ReadonlyArray<[Maker, number]> = [
  [publish, 8], [subscribe, 4], [unsubscribe, 2],
  [ack(4, 'puback'), 2], [ack(5, 'pubrec'), 2], [ack(6, 'pubrel'), 2], [ack(7, 'pubcomp'), 2],
  [bare(0xc0, 'pingreq'), 1],
  [reasonAndProperties(14, 'disconnect', [0x00, 0x04, 0x80, 0x8e]), 1],
  [reasonAndProperties(15, 'auth', [0x18, 0x19]), 1],
  [connack, 1], [suback, 1], [unsuback, 1], [bare(0xd0, 'pingresp'), 1]
]
const TOTAL_WEIGHT = AFTER_CONNECT.reduce((sum, [, weight]) => sum + weight, 0)

/** A valid packet of any type but CONNECT, PUBLISH most often. */
export function laterPacket (r: Random, version: Version): FuzzPacket {
  let roll = r.float() * TOTAL_WEIGHT
  for (const [make, weight] of AFTER_CONNECT) {
    roll -= weight
    if (roll < 0) return make(r, version)
  }
  return publish(r, version)
}

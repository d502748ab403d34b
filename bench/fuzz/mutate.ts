// Mutations of one valid packet: structural ones on its segments (MQTT 5 property identifiers,
// block lengths, repeated and foreign properties, dropped or doubled fields) and byte ones on
// its wire form (bit flips, inserted and deleted bytes, truncation, a corrupted remaining length,
// a huge declared length, strings inflated past 64 KiB). Each says what it did, for the report.
import { anyProperty, encodeOne } from './properties'
import { assemble, type FuzzPacket, isBlock, type PropertyBlock, varint } from './packets'
import type { Random } from './random'

export interface Mutated {
  bytes: Buffer
  /** What was done, e.g. `publish-qos1 +property-id +flip`. */
  how: string
}

/** The largest remaining length the encoding can carry (MQTT 3.1.1, 2.2.3). */
const MAX_REMAINING = 268_435_455
/** Values that sit on boundaries: zero, sign and continuation bits, all ones. */
const EDGE_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xff, 0xc0, 0x30]

/** Remaining length bytes that lie: wrong values, five bytes, non-minimal, a dangling continuation. */
function lyingLength (r: Random, trueLength: number): Buffer {
  switch (r.int(0, 5)) {
    case 0: return varint(Math.max(0, trueLength + r.pick([-3, -2, -1, 1, 2, 7])))
    case 1: return varint(r.pick([0, 1, 127, 128, 16_384, 2_000_001, MAX_REMAINING]))
    case 2: return Buffer.from([0xff, 0xff, 0xff, 0xff, 0x7f])
    // [MQTT-1.5.5-1] the minimum number of bytes: a trailing 0x00 group makes any value non-minimal.
    case 3: return Buffer.from([0x80 | (trueLength & 0x7f), 0x80 | ((trueLength >> 7) & 0x7f), 0x00])
    case 4: return Buffer.from([0x80])
    default: return varint(r.int(0, trueLength + 16))
  }
}

function blocksOf (packet: FuzzPacket): PropertyBlock[] {
  return packet.segments.filter(isBlock)
}

type StructureMutator = (r: Random, packet: FuzzPacket) => string | undefined

/** Each returns its name, or undefined when the packet has nothing it can work on. */
const STRUCTURE: readonly StructureMutator[] = [
  function propertyId (r, packet) {
    const property = r.pick(blocksOf(packet).flatMap((block) => block.properties))
    if (property === undefined) return undefined
    // An unknown identifier, one that belongs elsewhere, or a 2-byte identifier (ids are varints).
    property[0] = r.pick([0x00, 0x04, 0x2b, 0x7f, 0x80, 0xff, r.int(0, 255), 0x0b, 0x12, 0x24])
    return 'property-id'
  },
  function propertyLength (r, packet) {
    const block = r.pick(blocksOf(packet))
    if (block === undefined) return undefined
    block.lengthBytes = lyingLength(r, block.properties.reduce((sum, p) => sum + p.length, 0))
    return 'property-length'
  },
  function repeatedProperty (r, packet) {
    const block = r.pick(blocksOf(packet).filter((b) => b.properties.length > 0))
    if (block === undefined) return undefined
    const property = r.pick(block.properties)
    for (let copies = r.int(1, 4); copies > 0; copies--) block.properties.splice(r.int(0, block.properties.length), 0, Buffer.from(property))
    return 'repeated-property'
  },
  function foreignProperty (r, packet) {
    const block = r.pick(blocksOf(packet))
    if (block === undefined) return undefined
    block.properties.splice(r.int(0, block.properties.length), 0, anyProperty(r))
    return 'foreign-property'
  },
  function cutProperty (r, packet) {
    const block = r.pick(blocksOf(packet).filter((b) => b.properties.length > 0))
    if (block === undefined) return undefined
    const at = r.int(0, block.properties.length - 1)
    const property = block.properties[at] as Buffer
    block.properties[at] = r.chance(0.5) ? property.subarray(0, r.int(0, property.length - 1)) : Buffer.concat([property, r.bytes(r.int(1, 6))])
    return 'cut-property'
  },
  function dropSegment (r, packet) {
    if (packet.segments.length === 0) return undefined
    packet.segments.splice(r.int(0, packet.segments.length - 1), 1)
    return 'drop-field'
  },
  function doubleSegment (r, packet) {
    const segment = r.pick(packet.segments)
    if (segment === undefined) return undefined
    packet.segments.splice(r.int(0, packet.segments.length), 0, segment)
    return 'double-field'
  },
  function flags (r, packet) {
    packet.firstByte = (packet.firstByte & 0xf0) | r.int(0, 15)
    return 'header-flags'
  }
]

/** Costly to build and to parse: picked rarely, so the run's packets/s stay high. */
function manyUserProperties (r: Random, packet: FuzzPacket): string | undefined {
  const block = r.pick(blocksOf(packet))
  if (block === undefined) return undefined
  const pair = encodeOne('userProperties', [['k', 'v']])
  for (let count = r.int(100, 3000); count > 0; count--) block.properties.push(pair)
  return 'many-user-properties'
}

/** Offset of the body: after the first byte and the remaining length's bytes (at most 4 read). */
function bodyStart (bytes: Buffer): number {
  let at = 1
  while (at < bytes.length && at < 5 && ((bytes[at] as number) & 0x80) !== 0) at++
  return Math.min(at + 1, bytes.length)
}

/** The same first byte with a remaining length true to `body`. */
function rebuilt (firstByte: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([firstByte]), varint(body.length), body])
}

type ByteMutator = (r: Random, bytes: Buffer) => [Buffer, string]

/** Mutations with a `fix` variant re-write the remaining length, so the damage is read inside the packet. */
const BYTES: readonly ByteMutator[] = [
  function flip (r, bytes) {
    const out = Buffer.from(bytes)
    for (let flips = r.int(1, 4); flips > 0; flips--) {
      const at = r.int(0, out.length - 1)
      out[at] = (out[at] as number) ^ (1 << r.int(0, 7))
    }
    return [out, 'flip']
  },
  function edgeBytes (r, bytes) {
    const out = Buffer.from(bytes)
    for (let count = r.int(1, 3); count > 0; count--) out[r.int(0, out.length - 1)] = r.pick(EDGE_BYTES)
    return [out, 'edge-byte']
  },
  function insert (r, bytes) {
    const start = bodyStart(bytes)
    const at = r.int(start, bytes.length)
    const body = Buffer.concat([bytes.subarray(start, at), r.bytes(r.int(1, 16)), bytes.subarray(at)])
    return r.chance(0.6) ? [rebuilt(bytes[0] as number, body), 'insert+fix'] : [Buffer.concat([bytes.subarray(0, start), body]), 'insert']
  },
  function remove (r, bytes) {
    const start = bodyStart(bytes)
    if (start >= bytes.length) return [bytes.subarray(0, 1), 'truncate']
    const at = r.int(start, bytes.length - 1)
    const body = Buffer.concat([bytes.subarray(start, at), bytes.subarray(Math.min(bytes.length, at + r.int(1, 8)))])
    return r.chance(0.6) ? [rebuilt(bytes[0] as number, body), 'delete+fix'] : [Buffer.concat([bytes.subarray(0, start), body]), 'delete']
  },
  function truncate (r, bytes) {
    const start = bodyStart(bytes)
    const cut = r.int(0, bytes.length - 1)
    if (cut > start && r.chance(0.5)) return [rebuilt(bytes[0] as number, bytes.subarray(start, cut)), 'truncate+fix']
    return [bytes.subarray(0, cut), 'truncate']
  },
  function remainingLength (r, bytes) {
    const start = bodyStart(bytes)
    return [Buffer.concat([bytes.subarray(0, 1), lyingLength(r, bytes.length - start), bytes.subarray(start)]), 'remaining-length']
  },
  function packetType (r, bytes) {
    const out = Buffer.from(bytes)
    out[0] = (r.int(0, 15) << 4) | ((out[0] as number) & 0x0f)
    return [out, 'packet-type']
  },
  function stringLength (r, bytes) {
    // Anywhere in the body: most packets open with a 2-byte length (a string or a packet id).
    const start = bodyStart(bytes)
    if (bytes.length - start < 2) return [bytes, 'none']
    const out = Buffer.from(bytes)
    const at = r.chance(0.5) ? start : r.int(start, out.length - 2)
    out.writeUInt16BE(r.pick([0, 1, 0x7fff, 0xffff, out.length - at, out.length - at - 1]) & 0xffff, at)
    return [out, 'string-length']
  },
  function hugeLength (r, bytes) {
    // A header that promises more than any limit, then only a part of it.
    const start = bodyStart(bytes)
    return [Buffer.concat([bytes.subarray(0, 1), varint(r.pick([MAX_REMAINING, 2_000_001, 16_777_216])), bytes.subarray(start)]), 'huge-length']
  }
]

/** Past 64 KiB: costly, picked rarely. */
function inflate (r: Random, bytes: Buffer): [Buffer, string] {
  // No string can be that long, so a length field must wrap or disagree.
  const start = bodyStart(bytes)
  const at = r.int(start, bytes.length)
  const body = Buffer.concat([bytes.subarray(start, at), Buffer.alloc(r.int(65_530, 70_000), r.pick([0x61, 0x00, 0xff])), bytes.subarray(at)])
  return [rebuilt(bytes[0] as number, body), 'inflate']
}

/** How often a costly mutator is chosen instead of a cheap one. */
const COSTLY_CHANCE = 0.02

function clone (packet: FuzzPacket): FuzzPacket {
  const segments = packet.segments.map((segment) => isBlock(segment)
    ? { properties: segment.properties.map((p) => Buffer.from(p)), lengthBytes: segment.lengthBytes }
    : segment)
  return { ...packet, segments }
}

/** One mutated form of `packet`: a structural change, byte changes, or both. */
export function mutatePacket (r: Random, packet: FuzzPacket): Mutated {
  const working = clone(packet)
  const steps: string[] = [packet.name]
  let structural = false
  if (r.chance(packet.version === 5 ? 0.5 : 0.2)) {
    const done = (r.chance(COSTLY_CHANCE) ? manyUserProperties : r.pick(STRUCTURE))(r, working)
    if (done !== undefined) {
      steps.push(done)
      structural = true
    }
  }
  let bytes = assemble(working)
  if (!structural || r.chance(0.3)) {
    for (let count = r.chance(0.75) ? 1 : r.int(2, 3); count > 0 && bytes.length > 0; count--) {
      const [out, how] = (r.chance(COSTLY_CHANCE) ? inflate : r.pick(BYTES))(r, bytes)
      bytes = out
      steps.push(how)
    }
  }
  return { bytes, how: steps.join(' +') }
}

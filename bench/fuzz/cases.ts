// A case is what one connection sends: usually a valid CONNECT first (so the later packet
// handlers are reached), then valid and mutated packets of every type, sometimes spliced,
// repeated or followed by garbage, written in chunks cut at random places so the framer
// reassembles them.
import { mutatePacket } from './mutate'
import { assemble, connectPacket, laterPacket, type Version } from './packets'
import type { Random } from './random'

export interface CasePart {
  /** What the bytes are: a packet name, its mutations, or a stream-level change. */
  how: string
  bytes: Buffer
  mutated: boolean
}

export interface FuzzCase {
  /** Its place in the batch. */
  index: number
  version: Version
  /** The client id its CONNECT carries (mutations aside). */
  clientId: string | undefined
  parts: CasePart[]
  /** The chunks written one after the other; together all parts in order. */
  chunks: Buffer[]
}

/** Packets after CONNECT in one case. */
const MAX_LATER_PACKETS = 8

function chunked (r: Random, stream: Buffer): Buffer[] {
  if (stream.length < 2 || r.chance(0.6)) return [stream]
  const cuts = new Set<number>()
  for (let count = r.int(1, 4); count > 0; count--) cuts.add(r.int(1, stream.length - 1))
  const chunks: Buffer[] = []
  let from = 0
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    chunks.push(stream.subarray(from, cut))
    from = cut
  }
  chunks.push(stream.subarray(from))
  return chunks
}

/** The head of one packet glued to the tail of another. */
function splice (r: Random, a: Buffer, b: Buffer): Buffer {
  return Buffer.concat([a.subarray(0, r.int(1, a.length)), b.subarray(r.int(0, b.length - 1))])
}

export function makeCase (r: Random, index: number): FuzzCase {
  const version = r.pick<Version>([3, 4, 4, 5, 5, 5])
  const parts: CasePart[] = []
  let clientId: string | undefined
  if (r.chance(0.95)) {
    const connect = connectPacket(r, version)
    clientId = connect.clientId
    // A mutated CONNECT tests the handshake; most cases keep it valid to get past it.
    parts.push(r.chance(0.15) ? { ...mutatePacket(r, connect), mutated: true } : { how: 'connect', bytes: assemble(connect), mutated: false })
  }
  for (let count = r.int(1, MAX_LATER_PACKETS); count > 0; count--) {
    const packet = laterPacket(r, version)
    parts.push(r.chance(0.55) ? { ...mutatePacket(r, packet), mutated: true } : { how: packet.name, bytes: assemble(packet), mutated: false })
  }
  if (!parts.some((part) => part.mutated)) {
    const packet = laterPacket(r, version)
    parts.push({ ...mutatePacket(r, packet), mutated: true })
  }
  const roll = r.float()
  if (roll < 0.08 && parts.length >= 2) {
    const a = r.pick(parts)
    const b = r.pick(parts)
    parts.splice(r.int(1, parts.length), 0, { how: `splice(${a.how} | ${b.how})`, bytes: splice(r, a.bytes, b.bytes), mutated: true })
  } else if (roll < 0.14) {
    const part = r.pick(parts)
    for (let copies = r.int(1, 20); copies > 0; copies--) parts.push({ ...part, how: `repeat(${part.how})` })
  } else if (roll < 0.18) {
    parts.push({ how: 'garbage', bytes: r.bytes(r.int(1, 300)), mutated: true })
  }
  const chunks = chunked(r, Buffer.concat(parts.map((part) => part.bytes)))
  return { index, version, clientId, parts, chunks }
}

/** How many mutated packets a case holds. */
export function mutatedCount (fuzzCase: FuzzCase): number {
  let count = 0
  for (const part of fuzzCase.parts) if (part.mutated) count++
  return count
}

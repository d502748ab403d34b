// The disk store's framing: every record is `magic(2) crc32(4) length(4) body(length)`, the CRC
// covering the length and the body. A reader can then tell a torn tail (the last write cut short by
// a crash) from a damaged record in the middle, skip the damaged bytes by looking for the next
// magic whose frame checks out, and keep every valid record on either side.
import { crc32 } from './crc32'

const MAGIC_0 = 0xD7
const MAGIC_1 = 0x5A
const MAGIC = Buffer.from([MAGIC_0, MAGIC_1])
export const FRAME_HEADER_BYTES = 10
/** A PUBLISH cannot be larger than 256 MB; a length beyond this is damage, not a record. */
const MAX_BODY_BYTES = 300 * 1024 * 1024

/**
 * A growable buffer that records are encoded into, one frame at a time: begin(), the fields, end().
 * The store keeps two and swaps them, so encoding never waits for a write.
 */
export class FrameWriter {
  buf: Buffer
  pos = 0
  private start = 0

  constructor (initialBytes = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(initialBytes)
  }

  get length (): number { return this.pos }

  /** The encoded frames; valid until the next reset(). */
  bytes (): Buffer { return this.buf.subarray(0, this.pos) }

  reset (): void {
    this.pos = 0
    // A burst may have grown the buffer a lot: give the memory back once it is written.
    if (this.buf.length > 16 * 1024 * 1024) this.buf = Buffer.allocUnsafe(64 * 1024)
  }

  begin (type: number): void {
    this.ensure(FRAME_HEADER_BYTES + 1)
    this.start = this.pos
    this.pos += FRAME_HEADER_BYTES
    this.buf[this.pos++] = type
  }

  end (): void {
    const start = this.start
    const buf = this.buf
    buf[start] = MAGIC_0
    buf[start + 1] = MAGIC_1
    buf.writeUInt32LE(this.pos - start - FRAME_HEADER_BYTES, start + 6)
    buf.writeUInt32LE(crc32(buf, start + 6, this.pos), start + 2)
  }

  /** Drops the frame begun last (its fields could not be encoded). */
  abandon (): void { this.pos = this.start }

  u8 (value: number): void {
    this.ensure(1)
    this.buf[this.pos++] = value
  }

  u16 (value: number): void {
    this.ensure(2)
    this.pos = this.buf.writeUInt16LE(value, this.pos)
  }

  u32 (value: number): void {
    this.ensure(4)
    this.pos = this.buf.writeUInt32LE(value, this.pos)
  }

  /** Ids and wall-clock times: integers beyond 32 bits. */
  f64 (value: number): void {
    this.ensure(8)
    this.pos = this.buf.writeDoubleLE(value, this.pos)
  }

  /** A string of any length, UTF-8, after its byte length. */
  str (value: string): void {
    const length = value.length
    this.ensure(4 + length * 3)
    // Client ids and topics are short and mostly ASCII: copied here, they skip a call into C++.
    if (length <= 64) {
      const buf = this.buf
      const start = this.pos + 4
      let i = 0
      for (; i < length; i++) {
        const code = value.charCodeAt(i)
        if (code >= 0x80) break
        buf[start + i] = code
      }
      if (i === length) {
        buf.writeUInt32LE(length, this.pos)
        this.pos = start + length
        return
      }
    }
    const written = this.buf.write(value, this.pos + 4, 'utf8')
    this.buf.writeUInt32LE(written, this.pos)
    this.pos += 4 + written
  }

  bytesField (value: Uint8Array): void {
    this.ensure(4 + value.length)
    this.pos = this.buf.writeUInt32LE(value.length, this.pos)
    this.buf.set(value, this.pos)
    this.pos += value.length
  }

  private ensure (extra: number): void {
    if (this.pos + extra <= this.buf.length) return
    let size = this.buf.length * 2
    while (size < this.pos + extra) size *= 2
    const grown = Buffer.allocUnsafe(size)
    this.buf.copy(grown, 0, 0, this.pos)
    this.buf = grown
  }
}

/** Reads the fields of one record body; throws RangeError past its end. */
export class FieldReader {
  pos: number

  constructor (readonly buf: Buffer, start: number, public end: number) {
    this.pos = start
  }

  /** Reads the next record body of the same buffer: one reader per file, not one per record. */
  reset (start: number, end: number): this {
    this.pos = start
    this.end = end
    return this
  }

  get done (): boolean { return this.pos >= this.end }

  u8 (): number { this.need(1); return this.buf[this.pos++] as number }
  u16 (): number { this.need(2); const v = this.buf.readUInt16LE(this.pos); this.pos += 2; return v }
  u32 (): number { this.need(4); const v = this.buf.readUInt32LE(this.pos); this.pos += 4; return v }
  f64 (): number { this.need(8); const v = this.buf.readDoubleLE(this.pos); this.pos += 8; return v }

  str (): string {
    const length = this.u32()
    this.need(length)
    const value = this.buf.toString('utf8', this.pos, this.pos + length)
    this.pos += length
    return value
  }

  /** A copy: the file's buffer is let go once read. */
  bytesField (): Buffer {
    const length = this.u32()
    this.need(length)
    const value = Buffer.from(this.buf.subarray(this.pos, this.pos + length))
    this.pos += length
    return value
  }

  private need (bytes: number): void {
    if (this.pos + bytes > this.end) throw new RangeError('record shorter than its fields')
  }
}

/** Damage found while reading a file: where, how many bytes, and whether it ran to the end. */
export interface Damage {
  offset: number
  bytes: number
  /** true: the end of the file (a write a crash cut short); false: valid records follow. */
  tail: boolean
}

function frameAt (buf: Buffer, pos: number): number {
  if (pos + FRAME_HEADER_BYTES > buf.length || buf[pos] !== MAGIC_0 || buf[pos + 1] !== MAGIC_1) return -1
  const length = buf.readUInt32LE(pos + 6)
  const end = pos + FRAME_HEADER_BYTES + length
  if (length === 0 || length > MAX_BODY_BYTES || end > buf.length) return -1
  return crc32(buf, pos + 6, end) === buf.readUInt32LE(pos + 2) ? end : -1
}

/**
 * Calls `record(body start, body end)` for every frame whose checksum holds, in file order, and
 * `damage` for every run of bytes that is not one. Returns the offset just after the last valid frame.
 */
export function readFrames (buf: Buffer, record: (start: number, end: number) => void, damage: (found: Damage) => void): number {
  let pos = 0
  let lastValidEnd = 0
  while (pos < buf.length) {
    const end = frameAt(buf, pos)
    if (end > 0) {
      record(pos + FRAME_HEADER_BYTES, end)
      pos = end
      lastValidEnd = end
      continue
    }
    // Look for the next frame that checks out; everything up to it is damage.
    let next = buf.indexOf(MAGIC, pos + 1)
    while (next >= 0 && frameAt(buf, next) < 0) next = buf.indexOf(MAGIC, next + 1)
    if (next < 0) {
      damage({ offset: pos, bytes: buf.length - pos, tail: true })
      break
    }
    damage({ offset: pos, bytes: next - pos, tail: false })
    pos = next
  }
  return lastValidEnd
}

// Splits a byte stream into MQTT control packets (fixed header + remaining length) before any
// parsing, so that a packet's size is checked when its header arrives rather than after it has
// been buffered whole, and so that one chunk holding many packets costs no copying. A packet left
// unfinished, its sender silent, is given up after a set time rather than held forever.

export const enum FrameError {
  /** The remaining length runs past four bytes (MQTT 3.1.1, 2.2.3). */
  MalformedLength = 1,
  /** The whole packet exceeds the limit in force. */
  TooLarge = 2,
  /** A started packet received no byte for the incomplete-packet timeout. */
  Incomplete = 3
}

export interface FrameSink {
  /** A whole packet: first byte, its body (remaining-length bytes) and the whole packet. */
  onFrame (firstByte: number, body: Buffer, whole: Buffer): void
  /** `declaredLength`: the whole packet's size, once its header was read (else 0); `receivedBytes`: what was held of it. */
  onFrameError (error: FrameError, declaredLength: number, receivedBytes: number): void
}

export class Framer {
  /** Bytes of an unfinished packet, kept until the rest arrives. */
  private pending: Buffer[] = []
  private pendingBytes = 0
  /** Total size of the unfinished packet once its header is known, else 0. */
  private needed = 0
  private paused = false
  private failed = false
  /** When the last byte of the unfinished packet arrived, ms since the epoch. */
  private lastInputMs = 0
  /** Armed while a packet is unfinished: one timer per timeout period, never one per chunk. */
  private incompleteTimer: NodeJS.Timeout | undefined

  /** `incompleteTimeoutMs`: how long a started packet may go without a byte; 0 waits forever. */
  constructor (private readonly sink: FrameSink, public maxPacketBytes: number, private readonly incompleteTimeoutMs = 0) {}

  /** Stops handing out frames (while CONNECT is being authenticated); bytes keep buffering. */
  pause (): void { this.paused = true }

  resume (): void {
    if (!this.paused) return
    this.paused = false
    if (this.pendingBytes > 0) this.push(Buffer.alloc(0))
  }

  push (chunk: Buffer): void {
    if (this.failed) return
    let buffer = chunk
    if (this.pendingBytes > 0) {
      if (this.paused || (this.needed > 0 && this.pendingBytes + chunk.length < this.needed)) {
        if (chunk.length > 0) this.pending.push(chunk)
        this.pendingBytes += chunk.length
        this.awaitRest()
        return
      }
      if (chunk.length > 0) this.pending.push(chunk)
      buffer = this.pending.length === 1 ? this.pending[0] as Buffer : Buffer.concat(this.pending, this.pendingBytes + chunk.length)
      this.pending = []
      this.pendingBytes = 0
      this.needed = 0
    }
    let offset = 0
    const end = buffer.length
    while (offset < end && !this.paused) {
      if (end - offset < 2) break
      // Remaining length: 1 to 4 bytes of 7 bits each, low byte first (MQTT 3.1.1, 2.2.3).
      let length = 0
      let multiplier = 1
      let position = offset + 1
      let complete = false
      for (let i = 0; i < 4; i++) {
        if (position >= end) break
        const byte = buffer[position++] as number
        length += (byte & 0x7f) * multiplier
        multiplier *= 128
        if ((byte & 0x80) === 0) { complete = true; break }
        if (i === 3) {
          this.fail(FrameError.MalformedLength, length)
          return
        }
      }
      if (!complete) break
      // The limit is on the whole packet, as MQTT 5's Maximum Packet Size counts it (3.1.2.11.4).
      const total = position - offset + length
      if (total > this.maxPacketBytes) {
        this.fail(FrameError.TooLarge, total)
        return
      }
      if (offset + total > end) {
        this.needed = total
        break
      }
      const whole = buffer.subarray(offset, offset + total)
      this.sink.onFrame(buffer[offset] as number, buffer.subarray(position, offset + total), whole)
      if (this.failed) return
      offset += total
    }
    if (offset < end) {
      this.pending.push(offset === 0 ? buffer : buffer.subarray(offset))
      this.pendingBytes = end - offset
      this.awaitRest()
    }
  }

  /** Notes that bytes of an unfinished packet just arrived, and makes sure someone is watching. */
  private awaitRest (): void {
    if (this.incompleteTimeoutMs === 0) return
    this.lastInputMs = Date.now()
    if (this.incompleteTimer === undefined) this.incompleteTimer = setTimeout(Framer.checkIncomplete, this.incompleteTimeoutMs, this)
  }

  /**
   * Gives up on a packet that stopped arriving: its sender has gone silent mid-packet (a dead peer
   * with keepalive 0, or one holding the broker's buffer on purpose). A slow sender that keeps
   * sending is never cut off, and neither is one held back by pause().
   */
  private static checkIncomplete (framer: Framer): void {
    framer.incompleteTimer = undefined
    if (framer.failed || framer.pendingBytes === 0) return
    const idleMs = framer.paused ? 0 : Date.now() - framer.lastInputMs
    if (idleMs < framer.incompleteTimeoutMs) {
      framer.incompleteTimer = setTimeout(Framer.checkIncomplete, framer.incompleteTimeoutMs - idleMs, framer)
      return
    }
    framer.fail(FrameError.Incomplete, framer.needed)
  }

  /** Bytes held for a packet not yet complete. */
  get bufferedBytes (): number { return this.pendingBytes }

  /** Drops buffered bytes and stops; later pushes are ignored. */
  stop (): void {
    this.failed = true
    this.pending = []
    this.pendingBytes = 0
    if (this.incompleteTimer !== undefined) clearTimeout(this.incompleteTimer)
    this.incompleteTimer = undefined
  }

  private fail (error: FrameError, declaredLength: number): void {
    const receivedBytes = this.pendingBytes
    this.stop()
    this.sink.onFrameError(error, declaredLength, receivedBytes)
  }
}

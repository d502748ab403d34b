// What a connection has to send and its socket cannot take yet, and the clock that tells a client
// that reads slowly from one that has stopped. The socket is given at most a window of bytes at a
// time; the rest waits here and goes on in slices each time the socket drains. A drain means the
// client read: that is the progress a stalled consumer never makes, and slices keep it visible
// while one large packet is on its way, which a single 30 MB write would hide until its last byte.
import type { Writable } from 'node:stream'
import { Fifo } from '../session/queue'

/** Bytes handed to the socket at once; what does not fit waits in the backlog. */
export const SOCKET_WINDOW_BYTES = 256 * 1024
/** Largest piece of a waiting packet handed to the socket in one write. */
const SLICE_BYTES = 64 * 1024
/**
 * Unsent bytes, on top of the largest packet the broker accepts, past which a client is cut off
 * at once whether it reads or not: room for one packet of the largest size and 64 MiB more, so
 * memory per client stays bounded even before the stall clock has run out.
 */
const CEILING_ROOM_BYTES = 64 * 1024 * 1024
/**
 * Longest a client's unsent bytes may go without going down before it counts as stalled. A
 * client with a keepalive gets 1.5 x keepalive, the grace the broker gives its silence
 * [MQTT-3.1.2-24]: a PINGRESP stuck behind those bytes would not reach it in time either, and
 * the client would itself give the connection up. A minute is the most, and what a client with
 * keepalive 0 gets: enough to ride out garbage collection, a busy event loop, a roaming Wi-Fi
 * link and a few TCP retransmissions, short enough that a dead reader does not hold its
 * buffers for long.
 */
const MAX_STALL_MS = 60_000

/** What the backlog needs of its connection. */
export interface BacklogOwner {
  readonly socket: Writable
  readonly keepaliveSec: number
  readonly ctx: { readonly maxInboundPacketBytes: number }
  /** The client is not reading: it made no progress for the stall limit, or is past the ceiling. */
  closeStalled (unsentBytes: number, why: string): void
  /** The backlog stayed empty for a whole stall period and can go. */
  dropBacklog (): void
}

export class Backlog {
  private readonly buffers = new Fifo<Buffer>()
  /** Bytes of the first buffer already handed to the socket. */
  private headOffset = 0
  /** Bytes waiting, not counting what the socket already holds. */
  bytes = 0
  /** When the socket last drained, or when bytes began to wait (ms since the epoch). */
  private progressAtMs = Date.now()
  private timer: NodeJS.Timeout | undefined
  /** Set once unsent bytes passed the ceiling and the close is on its way. */
  private overCeiling = false

  constructor (private readonly owner: BacklogOwner) {
    this.timer = setTimeout(Backlog.onTimer, this.stallLimitMs, this)
  }

  /** See MAX_STALL_MS. */
  private get stallLimitMs (): number {
    const keepaliveSec = this.owner.keepaliveSec
    return keepaliveSec > 0 ? Math.min(keepaliveSec * 1500, MAX_STALL_MS) : MAX_STALL_MS
  }

  /**
   * Queues a packet and hands on what fits. Nothing here closes the connection: this runs inside
   * another client's PUBLISH, which must not pay for this subscriber's state, and a closing
   * connection's last packet must not re-enter the decision. Past the ceiling, the connection
   * is closed on the next tick, by itself.
   */
  push (packet: Buffer): void {
    if (this.bytes === 0) this.progressAtMs = Date.now()
    this.buffers.push(packet)
    this.bytes += packet.length
    const socket = this.owner.socket
    this.pump(socket)
    if (this.overCeiling) return
    const ceiling = this.owner.ctx.maxInboundPacketBytes + CEILING_ROOM_BYTES
    const unsent = socket.writableLength + this.bytes
    if (unsent > ceiling) {
      this.overCeiling = true
      process.nextTick(Backlog.closeOverCeiling, this.owner, unsent, `over the limit of ${ceiling}`)
    }
  }

  private static closeOverCeiling (owner: BacklogOwner, unsent: number, why: string): void {
    owner.closeStalled(unsent, why)
  }

  /** The socket sent what it held: the client is reading. More follows, in one batch. */
  drained (): void {
    this.progressAtMs = Date.now()
    const socket = this.owner.socket
    socket.cork()
    this.pump(socket)
    socket.uncork()
  }

  /**
   * Hands slices to the socket until its window is full. The write that fills the window
   * returns false, so the socket emits 'drain' once it has sent it.
   */
  private pump (socket: Writable): void {
    const window = Math.max(SOCKET_WINDOW_BYTES, socket.writableHighWaterMark)
    while (this.bytes > 0 && socket.writableLength < window) {
      const head = this.buffers.peek() as Buffer
      const end = Math.min(head.length, this.headOffset + SLICE_BYTES)
      // subarray shares the packet's memory: slicing costs no copy.
      socket.write(this.headOffset === 0 && end === head.length ? head : head.subarray(this.headOffset, end))
      this.bytes -= end - this.headOffset
      if (end === head.length) {
        this.buffers.shift()
        this.headOffset = 0
      } else {
        this.headOffset = end
      }
    }
  }

  private static onTimer (backlog: Backlog): void {
    backlog.timer = undefined
    if (backlog.bytes === 0) {
      backlog.owner.dropBacklog()
      return
    }
    const idleMs = Date.now() - backlog.progressAtMs
    const limitMs = backlog.stallLimitMs
    if (idleMs >= limitMs) {
      backlog.owner.closeStalled(backlog.owner.socket.writableLength + backlog.bytes, `none sent for ${Math.round(idleMs / 1000)} s`)
    } else {
      backlog.timer = setTimeout(Backlog.onTimer, limitMs - idleMs, backlog)
    }
  }

  /**
   * Stops the clock and hands everything left to the socket at once, in order: the connection is
   * closing, and its last packet must follow whole packets. No copy is made, so memory does not
   * grow; the close bound limits how long the socket may take to send it.
   */
  flush (): void {
    this.stop()
    const socket = this.owner.socket
    if (this.headOffset > 0) {
      const head = this.buffers.shift() as Buffer
      socket.write(head.subarray(this.headOffset))
      this.headOffset = 0
    }
    for (let next = this.buffers.shift(); next !== undefined; next = this.buffers.shift()) socket.write(next)
    this.bytes = 0
  }

  /** Stops the clock; what waits is left to be collected with the connection. */
  stop (): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
  }
}

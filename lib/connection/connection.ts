// One client connection: bytes in through the framer to the dispatcher, packets out through a
// corked socket, the connect timeout and the keepalive timer, and one way to end: close().
import type { Duplex } from 'node:stream'
import mqttPacket from 'mqtt-packet'
import type { BrokerContext } from '../context'
import { ProtocolError, ReasonCode } from '../errors'
import type { DisconnectReason } from '../events'
import { handleFrame } from '../handlers'
import type { DeliveryChannel, Session } from '../session/session'
import type { ClientInfo, Message, Origin, ProtocolVersion, QoS } from '../types'
import { encodeAck, PUBREL } from '../codec/acks'
import { Backlog, SOCKET_WINDOW_BYTES } from './backlog'
import { FrameError, type FrameSink, Framer } from '../codec/framer'
import { encodeOutgoingPublish, payloadApart } from './outgoing-publish'
import type { V5State } from './v5-state'
import { type Arrival, CODE_ARRIVAL } from '../transport/arrival'

/** Unsent bytes past which QoS 0 messages to this client are dropped rather than buffered. */
export const SLOW_CONSUMER_BYTES = 1024 * 1024
/** How long a closing socket keeps reading, for its last packet to reach the client, before it is destroyed. */
const CLOSE_LINGER_MS = 2000

export type ConnectionState = 'awaitingConnect' | 'authenticating' | 'connected' | 'closed'

/** A socket-like stream: net.Socket, tls.TLSSocket, or a WebSocket stream. */
export type ClientStream = Duplex & { remoteAddress?: string, remotePort?: number }

/** The connection a stream belongs to, so one set of listener functions serves every stream. */
const OWNER = Symbol('roost.connection')
type OwnedStream = ClientStream & { [OWNER]: Connection }

export class Connection implements DeliveryChannel, FrameSink {
  private current: ConnectionState = 'awaitingConnect'
  protocolVersion: ProtocolVersion = 4
  clientId = ''
  username: string | undefined
  keepaliveSec = 0
  cleanSession = true
  /** A Mosquitto bridge (try_private): gets no message back that it published itself. */
  bridge = false
  session: Session | null = null
  /** The Last Will, published unless the client ends with DISCONNECT [MQTT-3.1.2-8]. */
  will: Message | undefined
  /** Set when DISCONNECT arrived, so the close that follows is a normal one. */
  disconnecting = false
  /** Will Delay Interval of the will, in seconds (MQTT 5; 0 otherwise). */
  willDelaySec = 0
  /** MQTT 5 DISCONNECT with reason 0x04: close normally but publish the will. */
  disconnectWithWill = false
  /** MQTT 5 only: what the client announced in CONNECT, and topic aliases. */
  v5: V5State | undefined
  /** When CONNECT was accepted, ms since the epoch; 0 before that. */
  connectedAtMs = 0
  readonly remoteAddress: string
  readonly remotePort: number
  /** Position in options.listeners of the listener this came in on; undefined for streams handed over by code. */
  readonly listenerIndex: number | undefined
  /** The listener's mount_point: put before this client's topics on the way in, taken off on the way out. */
  readonly mountPoint: string | undefined
  /** Counted in the broker's per-listener client count (listener max_connections) while connected. */
  countedOnListener = false
  private lastActivityMs = Date.now()
  private timer: NodeJS.Timeout | undefined
  private readonly framer: Framer
  private corked = false
  /** Acknowledgements waiting for the store's next commit (stores with `commit` only). */
  private uncommitted: Buffer[] | undefined
  private committing = false
  private commitScheduled = false
  /** The last acknowledgement waiting for the cluster's stream (QoS 1/2 in a cluster); later ones go behind it. */
  private streamHeld: Promise<void> | undefined
  /** Bytes waiting for room in the socket; made when first needed, as most clients never wait. */
  private backlog: Backlog | undefined

  constructor (readonly ctx: BrokerContext, readonly socket: ClientStream, readonly arrival: Arrival = CODE_ARRIVAL) {
    this.remoteAddress = socket.remoteAddress ?? 'unknown'
    this.remotePort = socket.remotePort ?? 0
    const listener = arrival.listener
    const index = listener === undefined ? -1 : ctx.options.listeners.indexOf(listener)
    this.listenerIndex = index === -1 ? undefined : index
    this.mountPoint = listener?.mountPoint
    this.framer = new Framer(this, ctx.maxInboundPacketBytes, ctx.options.incompletePacketTimeoutSec * 1000)
    // Shared listener functions rather than closures per connection: memory per idle client counts.
    ;(socket as OwnedStream)[OWNER] = this
    socket.on('data', Connection.onSocketData)
    socket.on('error', Connection.onSocketError)
    socket.on('end', Connection.onSocketEnd)
    socket.on('close', Connection.onSocketEnd)
    socket.on('drain', Connection.onSocketDrain)
    // A socket that never sends CONNECT must not hold resources forever.
    this.timer = setTimeout(Connection.onConnectTimeout, ctx.options.connectTimeoutSec * 1000, this)
  }

  private static onSocketData (this: OwnedStream, chunk: Buffer): void {
    this[OWNER].framer.push(chunk)
  }

  private static onSocketError (this: OwnedStream, error: Error): void {
    const conn = this[OWNER]
    if (conn.state !== 'closed') conn.ctx.logger.info(`Client ${conn.describe()} socket error: ${error.message}.`)
    conn.close('socketError')
  }

  private static onSocketEnd (this: OwnedStream): void {
    this[OWNER].close('socketClosed')
  }

  /** The socket sent what it held: the client is reading. Waiting bytes follow. */
  private static onSocketDrain (this: OwnedStream): void {
    const conn = this[OWNER]
    if (conn.state === 'closed') return
    conn.backlog?.drained()
    // A run of drops ends when the client has caught up, not at every dip below the threshold:
    // a reader slower than the flow would otherwise start and end one every few hundred KiB.
    if (conn.unsentBytes === 0) conn.session?.channelDrained()
  }

  private static onConnectTimeout (conn: Connection): void {
    if (conn.state === 'awaitingConnect' || conn.state === 'authenticating') {
      conn.ctx.logger.notice(`Client ${conn.describe()} closed: no CONNECT within ${conn.ctx.options.connectTimeoutSec} s.`)
      conn.close('protocolError')
    }
  }

  private cachedInfo: ClientInfo | undefined

  get state (): ConnectionState { return this.current }

  /** Moves to a new state, keeping the broker's count of CONNECTs being authenticated. */
  set state (next: ConnectionState) {
    if (next === this.current) return
    if (this.current === 'authenticating') this.ctx.authenticating--
    if (next === 'authenticating') this.ctx.authenticating++
    this.current = next
  }

  /** Public, plain description of this client for events and hooks; fixed once connected. */
  get info (): ClientInfo {
    if (this.cachedInfo !== undefined) return this.cachedInfo
    const info: ClientInfo = {
      clientId: this.clientId,
      username: this.username,
      remoteAddress: this.remoteAddress,
      remotePort: this.remotePort,
      protocolVersion: this.protocolVersion,
      cleanSession: this.cleanSession,
      keepaliveSec: this.keepaliveSec
    }
    if (this.bridge) info.bridge = true
    if (this.listenerIndex !== undefined) info.listenerIndex = this.listenerIndex
    if (this.state === 'connected') this.cachedInfo = Object.freeze(info)
    return info
  }

  private cachedOrigin: Origin | undefined

  /** Where this client's messages come from (No Local, events); one object for all of them. */
  get origin (): Origin {
    return this.cachedOrigin ??= Object.freeze({ kind: this.bridge ? 'bridge' : 'client', clientId: this.clientId, client: this.info })
  }

  describe (): string {
    return this.clientId === '' ? `${this.remoteAddress}:${this.remotePort}` : `${this.clientId} (${this.remoteAddress})`
  }

  onFrame (firstByte: number, body: Buffer, whole: Buffer): void {
    if (this.state === 'closed') return
    this.lastActivityMs = Date.now()
    const stats = this.ctx.stats
    stats.messagesReceived++
    stats.bytesReceived += whole.length
    try {
      handleFrame(this, firstByte, body, whole)
    } catch (error) {
      this.protocolFailure(error)
    }
  }

  onFrameError (error: FrameError, declaredLength: number, receivedBytes: number): void {
    if (error === FrameError.TooLarge) {
      this.ctx.logger.notice(`Client ${this.describe()} sent a packet of ${declaredLength} bytes, over the limit of ${this.framer.maxPacketBytes}; disconnecting.`)
      this.closeWithReason(ReasonCode.PacketTooLarge, 'protocolError')
    } else if (error === FrameError.Incomplete) {
      const seconds = this.ctx.options.incompletePacketTimeoutSec
      const of = declaredLength > 0 ? ` of ${declaredLength}` : ''
      this.ctx.logger.notice(`Client ${this.describe()} left a packet unfinished (${receivedBytes}${of} bytes) with nothing more for ${seconds} s; disconnecting.`)
      // A packet whose bytes stop short of its remaining length is not a well-formed packet
      // (MQTT 5.0, 4.13.1); the reason string says why, since nothing about its bytes was wrong.
      this.closeWithReason(ReasonCode.MalformedPacket, 'protocolError', `packet incomplete after ${seconds} s without data`)
    } else {
      this.ctx.logger.notice(`Client ${this.describe()} sent a malformed remaining length; disconnecting.`)
      this.closeWithReason(ReasonCode.MalformedPacket, 'protocolError')
    }
  }

  /** Any error raised while handling a packet ends this connection, never the broker. */
  protocolFailure (error: unknown): void {
    if (this.state === 'closed') return
    if (error instanceof ProtocolError) {
      this.ctx.logger.notice(`Client ${this.describe()} protocol error: ${error.message}; disconnecting.`)
      this.closeWithReason(error.reasonCode, 'protocolError', error.message)
      return
    }
    const failure = error instanceof Error ? error : new Error(String(error))
    this.ctx.logger.error(`Client ${this.describe()}: internal error ${failure.message}; disconnecting.`)
    this.ctx.reportError(failure, this.clientId || undefined)
    this.closeWithReason(ReasonCode.ImplementationSpecificError, 'protocolError')
  }

  /**
   * Holds further packets while CONNECT is authenticated, then lets them through in order. The
   * socket stops reading too, so a client cannot make the framer buffer without bound while a
   * slow authentication hook runs: TCP flow control holds the rest.
   */
  pauseInput (): void {
    this.framer.pause()
    this.socket.pause()
  }

  resumeInput (): void {
    this.framer.resume()
    if (this.state !== 'closed') this.socket.resume()
  }

  /** Starts keepalive supervision once CONNACK is sent: 1.5 x keepalive [MQTT-3.1.2-24]. */
  startKeepalive (): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
    if (this.keepaliveSec > 0) this.armKeepalive(this.keepaliveSec * 1500)
  }

  private armKeepalive (delayMs: number): void {
    this.timer = setTimeout(Connection.onKeepaliveTimer, delayMs, this)
  }

  private static onKeepaliveTimer (conn: Connection): void {
    conn.timer = undefined
    const limitMs = conn.keepaliveSec * 1500
    const idleMs = Date.now() - conn.lastActivityMs
    if (idleMs >= limitMs) {
      conn.ctx.logger.notice(`Client ${conn.describe()} has exceeded timeout, disconnecting.`)
      conn.closeSafely(ReasonCode.KeepAliveTimeout, 'keepaliveTimeout')
    } else {
      conn.armKeepalive(limitMs - idleMs)
    }
  }

  /**
   * Closes from a timer or a later tick, where nothing above would catch an error: whatever
   * goes wrong while closing ends this socket and is reported, and the broker runs on.
   */
  private closeSafely (reasonCode: number, reason: DisconnectReason): void {
    try {
      this.closeWithReason(reasonCode, reason)
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error))
      this.ctx.logger.error(`Client ${this.describe()}: internal error while closing: ${failure.message}.`)
      this.ctx.reportError(failure, this.clientId || undefined)
      this.socket.destroy()
    }
  }

  /** Bytes written and not yet sent: in the socket and waiting behind it. */
  get unsentBytes (): number {
    return this.socket.writableLength + (this.backlog?.bytes ?? 0)
  }

  get writable (): boolean {
    return this.unsentBytes < SLOW_CONSUMER_BYTES
  }

  get receiveMaximum (): number {
    return this.v5?.receiveMaximum ?? 65535
  }

  write (packet: Buffer): void {
    if (this.state === 'closed') return
    const stats = this.ctx.stats
    stats.messagesSent++
    stats.bytesSent += packet.length
    this.send(packet)
  }

  /** Bytes of a packet (or a packet's part), in order: into the socket while it has room, else behind it. */
  private send (packet: Buffer): void {
    if (!this.corked) {
      this.corked = true
      this.socket.cork()
      this.ctx.scheduleUncork(this)
    }
    const backlog = this.backlog
    if ((backlog === undefined || backlog.bytes === 0) && this.socket.writableLength + packet.length <= SOCKET_WINDOW_BYTES) {
      this.socket.write(packet)
      return
    }
    if (backlog !== undefined) backlog.push(packet)
    else (this.backlog = new Backlog(this)).push(packet)
  }

  /** Called by the backlog; see Backlog for when. */
  closeStalled (unsentBytes: number, why: string): void {
    if (this.state === 'closed') return
    this.ctx.logger.notice(`Client ${this.describe()} is not reading: ${unsentBytes} bytes unsent, ${why}; disconnecting.`)
    // MQTT 5 calls this a quota (0x97); the DISCONNECT is written last, for a client that reads again.
    this.closeSafely(ReasonCode.QuotaExceeded, 'slowConsumer')
  }

  /** Called by the backlog once it has stayed empty for a stall period. */
  dropBacklog (): void {
    this.backlog = undefined
  }

  /**
   * Sends an acknowledgement (PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK, UNSUBACK) once the store
   * has made durable what it acknowledges: at once with a store that has no `commit` (the memory
   * store); otherwise after a commit asked for at the end of this tick, so the acknowledgements of
   * one read share it, and always in the order they were made [MQTT-4.6.0-2].
   */
  acknowledge (packet: Buffer): void {
    // Behind an acknowledgement still waiting for the cluster's stream, in order [MQTT-4.6.0-2].
    if (this.streamHeld !== undefined) this.acknowledgeAfter(this.streamHeld, packet)
    else this.acknowledgeStored(packet)
  }

  /**
   * Sends an acknowledgement once `stored` settles: a QoS 1/2 message that went to the cluster's
   * stream is acknowledged when the stream holds it. Later acknowledgements wait behind it.
   */
  acknowledgeAfter (stored: Promise<void>, packet: Buffer): void {
    const previous = this.streamHeld
    const held: Promise<void> = (previous === undefined || previous === stored ? stored : previous.then(async () => { await stored })).then(() => {
      if (this.streamHeld === held) this.streamHeld = undefined
      if (this.state !== 'closed') this.acknowledgeStored(packet)
    })
    this.streamHeld = held
  }

  private acknowledgeStored (packet: Buffer): void {
    if (this.ctx.store.commit === undefined) {
      this.write(packet)
      return
    }
    ;(this.uncommitted ??= []).push(packet)
    if (this.committing || this.commitScheduled) return
    this.commitScheduled = true
    process.nextTick(Connection.onCommitTick, this)
  }

  private static onCommitTick (conn: Connection): void {
    conn.commitScheduled = false
    if (!conn.committing) conn.commitHeld()
  }

  private commitHeld (): void {
    const held = this.uncommitted ?? []
    this.uncommitted = undefined
    this.committing = true
    ;(this.ctx.store.commit as (done: () => void) => void)(() => {
      this.committing = false
      for (const packet of held) this.write(packet)
      // Acknowledgements made while that commit ran have their records in already: one more covers them.
      if (this.uncommitted !== undefined) this.commitHeld()
    })
  }

  /** Releases the batched writes; called by the broker once per tick. */
  uncork (): void {
    if (!this.corked) return
    this.corked = false
    this.socket.uncork()
  }

  /** Encodes and sends any packet but PUBLISH, with this connection's protocol version. */
  sendPacket (packet: mqttPacket.Packet): void {
    this.write(mqttPacket.generate(packet, { protocolVersion: this.protocolVersion }))
  }

  /**
   * Runs inside the publisher's PUBLISH (or a will, or an in-process publish): an error here is
   * this subscriber's alone. It is reported and ends this connection on the next tick; the
   * message counts as not delivered, and the publisher still gets its acknowledgement.
   */
  sendPublish (message: Message, qos: QoS, retain: boolean, dup: boolean, packetId: number, subscriptionIds?: number[]): boolean {
    try {
      return this.encodeAndSend(message, qos, retain, dup, packetId, subscriptionIds)
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error))
      this.ctx.logger.error(`Client ${this.describe()}: internal error sending a PUBLISH: ${failure.message}; disconnecting.`)
      this.ctx.reportError(failure, this.clientId || undefined)
      process.nextTick(Connection.closeAfterFailure, this)
      return false
    }
  }

  private static closeAfterFailure (conn: Connection): void {
    conn.closeSafely(ReasonCode.ImplementationSpecificError, 'protocolError')
  }

  private encodeAndSend (message: Message, qos: QoS, retain: boolean, dup: boolean, packetId: number, subscriptionIds: number[] | undefined): boolean {
    const v5 = this.v5
    const mountPoint = this.mountPoint
    // Only topics under the mount point reach its clients (their filters all begin with it).
    if (mountPoint !== undefined && !message.topic.startsWith(mountPoint)) return false
    const packet = encodeOutgoingPublish(this.ctx.encoder, this.protocolVersion, v5, message, qos, retain, dup, packetId, subscriptionIds, mountPoint)
    const apart = payloadApart(message)
    const size = apart ? packet.length + message.payload.length : packet.length
    // [MQTT-3.1.2-25] never send a packet larger than the client's Maximum Packet Size
    if (v5 !== undefined && v5.maximumPacketSize > 0 && size > v5.maximumPacketSize) {
      this.ctx.logger.debug(`Dropped a ${size} byte PUBLISH to ${this.clientId}: over its maximum packet size ${v5.maximumPacketSize}.`)
      return false
    }
    const stats = this.ctx.stats
    stats.publishSent++
    stats.publishBytesSent += message.payload.length
    if (this.state === 'closed') return true
    stats.messagesSent++
    stats.bytesSent += size
    this.send(packet)
    if (apart) this.send(message.payload)
    return true
  }

  sendPubrel (packetId: number): void {
    this.write(encodeAck(PUBREL, packetId))
  }

  /**
   * Ends the connection with a reason. MQTT 5 clients are told first (MQTT 5.0, 4.13): with
   * DISCONNECT once connected, with CONNACK while their CONNECT is being handled.
   */
  closeWithReason (reasonCode: number, reason: DisconnectReason, reasonString?: string): void {
    if (this.state === 'closed') return
    if (this.protocolVersion === 5 && reasonCode >= 0x80) {
      const properties = reasonString !== undefined && this.fitsClient(reasonString) ? { reasonString } : undefined
      if (this.state === 'connected') {
        this.sendPacket({ cmd: 'disconnect', reasonCode, properties } as mqttPacket.IDisconnectPacket)
      } else {
        this.sendPacket({ cmd: 'connack', sessionPresent: false, reasonCode, properties } as mqttPacket.IConnackPacket)
      }
      this.close(reason, true)
      return
    }
    this.close(reason)
  }

  /** A reason string is left out rather than exceed the client's Maximum Packet Size [MQTT-3.1.2-25]. */
  private fitsClient (reasonString: string): boolean {
    const max = this.v5?.maximumPacketSize ?? 0
    return max === 0 || Buffer.byteLength(reasonString) + 16 <= max
  }

  /** Closes once; `flush` lets packets already written (CONNACK, DISCONNECT) leave first. */
  close (reason: DisconnectReason, flush = false): void {
    if (this.state === 'closed') return
    this.state = 'closed'
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
    const backlog = this.backlog
    this.backlog = undefined
    this.framer.stop()
    if (flush && !this.socket.destroyed) {
      backlog?.flush()
      this.uncork()
      if (this.disconnecting) {
        // The client ended with DISCONNECT and sends nothing more: gone once our last bytes are.
        this.socket.once('finish', Connection.onFlushed)
        this.socket.end()
      } else {
        // Our CONNACK or DISCONNECT ends it: half-close and keep reading (the stopped framer
        // discards it). A socket destroyed while the client still sends makes the kernel answer
        // with a reset, and a reset can throw away the reason the client has not read yet
        // (MQTT 5.0, 4.13). The socket goes when the client closes its side too.
        this.socket.end()
        this.socket.resume()
      }
      // A client that neither reads nor closes is cut off after CLOSE_LINGER_MS.
      const linger = setTimeout(Connection.onLingerEnd, CLOSE_LINGER_MS, this.socket)
      this.socket.once('close', () => { clearTimeout(linger) })
    } else {
      backlog?.stop()
      this.socket.destroy()
    }
    this.ctx.connectionClosed(this, reason)
  }

  private static onFlushed (this: ClientStream): void {
    this.destroy()
  }

  private static onLingerEnd (socket: ClientStream): void {
    socket.destroy()
  }
}


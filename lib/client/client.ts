// The MQTT client engine: createClient(options) → connect() → publish/subscribe → end(). This file
// is the state machine (new → connecting → connected → reconnecting … → closed) and the socket;
// outgoing.ts, incoming.ts and requests.ts own the packets, keepalive.ts and reconnect.ts the timers.
import type net from 'node:net'
import type mqttPacket from 'mqtt-packet'
import { PacketDecoder } from '../codec/decoder'
import { FrameError, type FrameSink, Framer } from '../codec/framer'
import { ProtocolError, ReasonCode } from '../errors'
import { TypedEmitter } from '../events'
import { type Logger, silentLogger } from '../logger'
import { MQTT_MAX_PACKET_BYTES } from '../options'
import type { ProtocolVersion } from '../types'
import { dispatchFrame, type DispatchTarget } from './dispatch'
import { type AuthLink, EnhancedAuth } from './enhanced-auth'
import { ClientError } from './errors'
import { Incoming } from './incoming'
import { Keepalive } from './keepalive'
import { type ClientOptions, type ClientOptionsInput, resolveClientOptions } from './options'
import { Outgoing, type PublishSettle, sendLimits } from './outgoing'
import { PacketIds } from './packet-ids'
import { DISCONNECT_PACKET, encodeConnect, encodeDisconnect, PINGREQ_PACKET } from './packets'
import { Backoff } from './reconnect'
import { Requests } from './requests'
import { openSocket } from './transport'
import type { ClientEvents, ClientLink, ClientPublish, ClientState, ClientSubscription, ConnackProperties, DisconnectOptions, SubscribeProperties } from './types'

/** How long end() lets DISCONNECT flush before the socket is destroyed. */
const CLOSE_FLUSH_MS = 1000

/** CONNACK return codes of MQTT 3.1.1 (3.2.2.3). */
const REFUSALS: Record<number, string> = {
  1: 'unacceptable protocol version',
  2: 'identifier rejected',
  3: 'server unavailable',
  4: 'bad user name or password',
  5: 'not authorized'
}

export class MqttClient extends TypedEmitter<ClientEvents> implements ClientLink, DispatchTarget, FrameSink, AuthLink {
  readonly options: Readonly<ClientOptions>
  readonly decoder = new PacketDecoder()
  readonly outgoing: Outgoing
  readonly incoming: Incoming
  readonly requests: Requests
  private currentState: ClientState = 'new'
  private socket: net.Socket | undefined
  private framer: Framer | undefined
  private keepalive: Keepalive | undefined
  private connectTimer: NodeJS.Timeout | undefined
  private corked = false
  private readonly ids = new PacketIds()
  private readonly backoff: Backoff
  private readonly logger: Logger
  private ending: Promise<void> | undefined
  private readonly auth: EnhancedAuth | undefined
  /** Counts connections, so an answer computed for one is never written on the next. */
  connectionId = 0
  /** The server of the current (or last) attempt. */
  private address: { host: string, port: number }
  /** Our client id; the server's assigned one once it sent one (MQTT 5). */
  clientId: string

  constructor (input: ClientOptionsInput) {
    super()
    this.options = resolveClientOptions(input)
    this.logger = this.options.logger ?? silentLogger
    this.clientId = this.options.clientId
    this.address = { host: this.options.host, port: this.options.port }
    this.backoff = new Backoff(this.options.reconnectPeriodMs, this.options.reconnectMaxMs, this.options.reconnectDelayMs)
    this.outgoing = new Outgoing(this, this.ids, this.options.maxQueuedMessages, this.options.useTopicAliases, sendLimits(this.options))
    const props = this.options.protocolVersion === 5 ? this.options.properties : undefined
    this.incoming = new Incoming(this, props?.receiveMaximum ?? 65535, props?.topicAliasMaximum ?? 0,
      (message) => {
        // A throwing listener is the listener's fault, not the server's: the connection stays.
        try { this.emit('message', message) } catch (error) { this.report(error) }
      })
    this.requests = new Requests(this, this.ids, (error) => this.report(error))
    this.auth = this.options.enhancedAuth === undefined ? undefined : new EnhancedAuth(this.options.enhancedAuth, this)
  }

  get state (): ClientState { return this.currentState }
  get connected (): boolean { return this.currentState === 'connected' }
  get protocolVersion (): ProtocolVersion { return this.options.protocolVersion }
  get awaitingConnack (): boolean { return this.currentState === 'connecting' }
  get acceptsAuth (): boolean { return this.auth !== undefined }
  /** host:port of the server connected to, or of the attempt under way. */
  get server (): string { return `${this.address.host}:${this.address.port}` }
  /** QoS 1/2 messages sent and not yet acknowledged, and those waiting to be sent. */
  get inflightCount (): number { return this.outgoing.inflightCount }
  get queuedCount (): number { return this.outgoing.queuedCount }
  /** Filters subscribed (or being subscribed); made again after a reconnect without session. */
  get subscriptions (): string[] { return this.requests.filters }

  /** Starts connecting (and reconnecting). Calling it again does nothing. */
  connect (): this {
    if (this.currentState === 'new') this.open()
    return this
  }

  /** Resolves when a QoS 0 message is written, on PUBACK for QoS 1 and on PUBCOMP for QoS 2. */
  publish (message: ClientPublish): Promise<void> {
    if (this.currentState === 'closed') return Promise.reject(new ClientError('CLOSED', 'the client has ended'))
    return this.outgoing.publish(message)
  }

  /**
   * publish() for callers that send many messages (a bridge): no promise; `settle.settled(tag,
   * error)` is called once when it is written (QoS 0), acknowledged (QoS 1/2) or refused.
   */
  publishSettled (message: ClientPublish, settle: PublishSettle, tag: number): void {
    if (this.currentState === 'closed') settle.settled(tag, new ClientError('CLOSED', 'the client has ended'))
    else this.outgoing.publishSettled(message, settle, tag)
  }

  /** Resolves with SUBACK's codes: the granted QoS per filter, or a failure code (0x80 and up). */
  subscribe (subscriptions: ClientSubscription[] | ClientSubscription, properties?: SubscribeProperties): Promise<number[]> {
    if (this.currentState === 'closed') return Promise.reject(new ClientError('CLOSED', 'the client has ended'))
    return this.requests.subscribe(Array.isArray(subscriptions) ? subscriptions : [subscriptions], properties)
  }

  /** Resolves with UNSUBACK's codes (MQTT 5); 0 per filter for MQTT 3.1.1, which has none. */
  unsubscribe (filters: string[] | string): Promise<number[]> {
    if (this.currentState === 'closed') return Promise.reject(new ClientError('CLOSED', 'the client has ended'))
    return this.requests.unsubscribe(Array.isArray(filters) ? filters : [filters])
  }

  /**
   * MQTT 5 re-authentication (MQTT 5.0, 4.12.1): AUTH 0x19 with the enhancedAuth method, the
   * server's challenges answered by its callback; resolves on the server's AUTH 0x00. A server
   * that refuses disconnects, and the promise rejects with the connection.
   */
  reauthenticate (): Promise<void> {
    if (this.auth === undefined) return Promise.reject(new ClientError('INVALID_OPTIONS', 're-authentication needs the enhancedAuth option'))
    if (this.currentState === 'closed') return Promise.reject(new ClientError('CLOSED', 'the client has ended'))
    return this.auth.reauthenticate()
  }

  /**
   * Ends the connection that is up with DISCONNECT and connects again after the reconnect delay,
   * keeping everything in flight and queued (a bridge going back to its main address).
   */
  reconnect (): void {
    const socket = this.socket
    if (socket === undefined || this.currentState !== 'connected') return
    this.write(DISCONNECT_PACKET)
    this.dropConnection(socket, undefined, true)
  }

  /**
   * Sends DISCONNECT (unless `force`), closes the socket and frees every timer. Messages still in
   * flight or queued are rejected with CLOSED. Safe to call more than once. MQTT 5 may give a
   * reason code (0x04: publish my will anyway) and properties (a new session expiry interval).
   */
  end (force = false, disconnect?: DisconnectOptions): Promise<void> {
    this.ending ??= this.shutdown(force, disconnect)
    return this.ending
  }

  private async shutdown (force: boolean, disconnect: DisconnectOptions | undefined): Promise<void> {
    const wasConnected = this.currentState === 'connected'
    this.currentState = 'closed'
    this.backoff.cancel()
    const socket = this.socket
    if (socket !== undefined) {
      const closed = new Promise<void>((resolve) => {
        if (socket.closed) resolve()
        else socket.once('close', () => resolve())
      })
      if (wasConnected && !force) {
        // [MQTT-3.14.4-1] after DISCONNECT the client sends nothing more and closes
        let packet: Buffer = DISCONNECT_PACKET
        try {
          packet = encodeDisconnect(this.protocolVersion, disconnect?.reasonCode, disconnect?.properties)
        } catch (error) {
          this.report(error)
        }
        this.write(packet)
        this.dropConnection(socket, undefined, true)
      } else {
        this.dropConnection(socket)
      }
      await closed
    }
    const error = new ClientError('CLOSED', 'the client was ended')
    this.auth?.fail(error)
    this.outgoing.failAll(error)
    this.requests.failAll(error)
    this.logger.info(`Client ${this.clientId} ended.`)
    this.emit('end')
  }

  // ---- the connection ------------------------------------------------------------------------

  private open (): void {
    this.currentState = 'connecting'
    this.connectionId++
    this.address = this.options.pickAddress?.() ?? { host: this.options.host, port: this.options.port }
    const { host, port } = this.address
    this.logger.debug(`Client ${this.clientId} connecting to ${host}:${port}.`)
    let socket: net.Socket
    try {
      socket = this.openSocket()
    } catch (error) {
      // Bad TLS material (a key that does not parse) fails at once, and would every time.
      this.report(error)
      void this.end(true)
      return
    }
    this.socket = socket
    // The framer checks the remaining length, a few bytes short of the whole packet that
    // maximumPacketSize counts: close enough to refuse what we said we would not take.
    const inboundLimit = this.options.protocolVersion === 5 ? this.options.properties?.maximumPacketSize : undefined
    const framer = new Framer(this, Math.min(inboundLimit ?? MQTT_MAX_PACKET_BYTES, MQTT_MAX_PACKET_BYTES))
    this.framer = framer
    socket.on('data', (chunk: Buffer) => framer.push(chunk))
    socket.on('error', (error: Error) => this.dropConnection(socket, error))
    socket.on('close', () => this.dropConnection(socket))
    this.connectTimer = setTimeout(() => {
      this.dropConnection(socket, new ClientError('CONNECT_TIMEOUT', `no CONNACK from ${host}:${port} within ${this.options.connectTimeoutMs} ms`))
    }, this.options.connectTimeoutMs)
  }

  /** Opens the socket; CONNECT goes out as soon as it (and TLS) is up. */
  private openSocket (): net.Socket {
    const socket = openSocket(this.options, this.address.host, this.address.port, () => {
      if (socket !== this.socket) return
      try {
        this.write(encodeConnect(this.options, this.clientId, this.auth?.connectProperties()))
      } catch (error) {
        // A CONNECT that cannot be encoded never will be: trying again would only repeat it.
        this.report(error)
        void this.end(true)
      }
    })
    return socket
  }

  onFrame (firstByte: number, body: Buffer, whole: Buffer): void {
    if (this.socket === undefined) return
    this.keepalive?.received()
    try {
      dispatchFrame(this, firstByte, body, whole)
    } catch (error) {
      if (error instanceof ProtocolError) this.protocolFault(error.reasonCode, error.message)
      else this.protocolFault(ReasonCode.ImplementationSpecificError, error instanceof Error ? error.message : String(error))
    }
  }

  onFrameError (error: FrameError, declaredLength: number): void {
    if (error === FrameError.TooLarge) this.protocolFault(ReasonCode.PacketTooLarge, `the server sent a packet of ${declaredLength} bytes`)
    else this.protocolFault(ReasonCode.MalformedPacket, 'the server sent a malformed remaining length')
  }

  onConnack (packet: mqttPacket.IConnackPacket): void {
    const socket = this.socket as net.Socket
    clearTimeout(this.connectTimer)
    this.connectTimer = undefined
    const code = (this.protocolVersion === 5 ? packet.reasonCode : packet.returnCode) ?? 0
    if (code !== 0) {
      const why = this.protocolVersion === 5 ? `reason code 0x${code.toString(16)}` : REFUSALS[code] ?? `return code ${code}`
      this.dropConnection(socket, new ClientError('REFUSED', `connection refused: ${why}`, code))
      return
    }
    // [MQTT-3.2.2-1] [MQTT-3.2.2-2] with clean session the server has no session to offer
    if (this.options.cleanSession && packet.sessionPresent) throw new ProtocolError(ReasonCode.ProtocolError, 'session present after a clean session request')
    const props: ConnackProperties = packet.properties ?? {}
    this.auth?.onConnack(props as { authenticationMethod?: string, authenticationData?: Buffer })
    if (props.assignedClientIdentifier !== undefined) this.clientId = props.assignedClientIdentifier
    this.currentState = 'connected'
    this.backoff.reset()
    // [MQTT-3.1.2-21] the server's keep alive replaces ours
    const keepaliveMs = (props.serverKeepAlive ?? this.options.keepaliveSec) * 1000
    this.keepalive = new Keepalive(keepaliveMs, this.options.pingTimeoutMs > 0 ? this.options.pingTimeoutMs : keepaliveMs,
      () => this.write(PINGREQ_PACKET),
      () => this.dropConnection(socket, new ClientError('PING_TIMEOUT', 'no PINGRESP from the server: the connection is dead')))
    this.keepalive.start()
    const sessionPresent = packet.sessionPresent
    this.logger.info(`Client ${this.clientId} connected to ${this.server} (session present: ${String(sessionPresent)}).`)
    this.incoming.onConnected(sessionPresent)
    this.requests.onConnected(sessionPresent)
    this.outgoing.onConnected(sessionPresent, sendLimits(this.options, props))
    const event: ClientEvents['connect'][0] = { sessionPresent }
    if (packet.properties !== undefined) event.properties = props
    this.emit('connect', event)
  }

  onServerDisconnect (packet: mqttPacket.IDisconnectPacket): void {
    const reasonCode = packet.reasonCode ?? 0
    const event: ClientEvents['disconnect'][0] = { reasonCode }
    if (packet.properties !== undefined) event.properties = packet.properties
    this.emit('disconnect', event)
    const reason = packet.properties?.reasonString
    this.dropConnection(this.socket as net.Socket, new ClientError('SERVER_DISCONNECT',
      `the server disconnected with reason code 0x${reasonCode.toString(16)}${reason !== undefined ? `: ${reason}` : ''}`, reasonCode))
  }

  /** DispatchTarget: AUTH from the server, during CONNECT or a re-authentication. */
  onAuth (firstByte: number, body: Buffer): void {
    (this.auth as EnhancedAuth).onAuth(firstByte, body)
  }

  /** ClientLink: writes on the current socket, batching the packets of one tick into one send. */
  write (packet: Buffer, callback?: (error?: Error | null) => void): boolean {
    const socket = this.socket
    if (socket === undefined || socket.destroyed || !socket.writable) return false
    this.keepalive?.sent()
    if (!this.corked) {
      this.corked = true
      socket.cork()
      process.nextTick(() => {
        this.corked = false
        socket.uncork()
      })
    }
    socket.write(packet, callback)
    return true
  }

  /** ClientLink: the server broke the protocol. MQTT 5 gets a DISCONNECT with the reason first. */
  protocolFault (reasonCode: number, why: string): void {
    const socket = this.socket
    if (socket === undefined) return
    if (this.protocolVersion === 5 && this.currentState === 'connected') this.write(encodeDisconnect(5, reasonCode))
    this.dropConnection(socket, new ClientError('PROTOCOL_ERROR', `protocol error from the server: ${why}`, reasonCode), true)
  }

  /** The one way a connection ends: timers stop, state moves on, a reconnect is scheduled. */
  private dropConnection (socket: net.Socket, error?: Error, flush = false): void {
    if (socket !== this.socket) return
    this.socket = undefined
    this.framer?.stop()
    this.framer = undefined
    this.keepalive?.stop()
    this.keepalive = undefined
    clearTimeout(this.connectTimer)
    this.connectTimer = undefined
    if (flush && !socket.destroyed) {
      socket.uncork()
      socket.end()
      setTimeout(() => socket.destroy(), CLOSE_FLUSH_MS).unref()
    } else {
      socket.destroy()
    }
    const wasConnected = this.currentState === 'connected'
    this.auth?.fail(new ClientError('CONNECTION_LOST', 'the connection ended during re-authentication'))
    this.outgoing.onDisconnected()
    this.requests.onDisconnected()
    if (error !== undefined) this.report(error)
    this.emit('close')
    if (wasConnected) {
      this.logger.info(`Client ${this.clientId} lost its connection to ${this.server}.`)
      this.emit('offline')
    }
    if (this.currentState === 'closed') return
    const next = this.backoff.schedule(() => { if (this.currentState === 'reconnecting') this.open() })
    if (next !== undefined) {
      this.currentState = 'reconnecting'
      this.emit('reconnecting', next)
      return
    }
    // Reconnecting is off: the client is done, and so is everything waiting on it.
    void this.end(true)
  }

  private report (error: unknown): void {
    const failure = error instanceof Error ? error : new Error(String(error))
    if (this.listenerCount('error') > 0) this.emit('error', failure)
    else this.logger.warning(`Client ${this.clientId}: ${failure.message}`)
  }
}

export function createClient (options: ClientOptionsInput): MqttClient {
  return new MqttClient(options)
}

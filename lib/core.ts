// The broker's shared state and the few operations connections need from it (BrokerContext).
// The public Broker class wraps this; users never see it.
import type { Auth } from './auth/auth'
import { defaultAuthentication, usersTableAuth } from './auth/builtin'
import { AuthChain } from './auth/chain'
import type { Connection } from './connection/connection'
import { PacketDecoder } from './connection/decoder'
import { PublishEncoder } from './connection/publish-codec'
import type { BrokerContext } from './context'
import type { BrokerEvents, DisconnectReason, TypedEmitter } from './events'
import type { Logger } from './logger'
import { MQTT_MAX_PACKET_BYTES, type BrokerOptions } from './options'
import { MemoryRetainedStore } from './retained/retained'
import { Router } from './router'
import { admit, refusalLine } from './routing/admit'
import { SESSION_NEVER_EXPIRES, type Session, type SessionLimits } from './session/session'
import { removeAllSubscriptions } from './session/subscriptions'
import { BrokerStats } from './sys/stats'
import type { ClientInfo, Message } from './types'

/** Room for a topic and properties on top of message_size_limit when sizing the framer. */
const PACKET_OVERHEAD_BYTES = 65_535 + 4 + 65_536
/** setTimeout's longest delay; longer session expiries are re-armed in steps. */
const MAX_TIMER_MS = 2_147_483_647

export class BrokerCore implements BrokerContext {
  readonly stats = new BrokerStats()
  /** The built-in authorizers first, then the embedder's (BrokerHooks.auth). */
  readonly auth: AuthChain
  readonly router: Router
  readonly retained = new MemoryRetainedStore()
  /** The $SYS tree's own retained messages, apart from the users' so counts and listings show theirs. */
  readonly sysRetained = new MemoryRetainedStore()
  readonly decoder = new PacketDecoder()
  readonly encoder = new PublishEncoder()
  readonly sessions = new Map<string, Session>()
  readonly clients = new Map<string, Connection>()
  /** Every open socket, connected or not, so close() can end them all. */
  readonly connections = new Set<Connection>()
  readonly maxInboundPacketBytes: number
  authenticating = 0
  readonly sessionLimits: SessionLimits
  private uncorkPending: Connection[] = []
  private uncorkScheduled = false

  constructor (readonly options: BrokerOptions, readonly logger: Logger, authorizers: readonly Auth[], readonly events: TypedEmitter<BrokerEvents>) {
    this.auth = new AuthChain([usersTableAuth(options.users), ...authorizers],
      (request) => defaultAuthentication(options, request),
      (error, clientId) => { this.hookFailed(error, clientId) })
    this.router = new Router(this.auth.deliveryGate)
    let maxInbound = options.messageSizeLimit > 0
      ? Math.min(MQTT_MAX_PACKET_BYTES, options.messageSizeLimit + PACKET_OVERHEAD_BYTES)
      : MQTT_MAX_PACKET_BYTES
    if (options.maxPacketSize > 0) maxInbound = Math.min(maxInbound, options.maxPacketSize)
    this.maxInboundPacketBytes = maxInbound
    this.router.upgradeOutgoingQos = options.upgradeOutgoingQos
    this.sessionLimits = {
      maxInflightMessages: options.maxInflightMessages,
      maxInflightBytes: options.maxInflightBytes,
      maxQueuedMessages: options.maxQueuedMessages,
      maxQueuedBytes: options.maxQueuedBytes,
      queueQos0Messages: options.queueQos0Messages,
      onDrop: (session, _message, why) => {
        this.stats.publishDropped++
        // One line when dropping starts and one when it ends, not one per message.
        if (why !== '') this.logger.warning(`Outgoing messages are being dropped for client ${session.clientId} (${why}).`)
      },
      onDropsEnded: (session, why, count) => {
        this.logger.warning(`Stopped dropping outgoing messages for client ${session.clientId} (${why}): ${count} dropped.`)
      },
      onExpired: () => {
        this.stats.publishDropped++
        this.stats.messagesExpired++
      },
      deliveryGate: this.auth.deliveryGate
    }
  }

  dispatchMessage (message: Message): number {
    const expiry = message.properties?.messageExpiryInterval
    // [MQTT-3.3.2-5] the expiry clock starts when the broker takes the message
    if (expiry !== undefined && message.expiresAt === undefined) message.expiresAt = Date.now() + expiry * 1000
    if (message.retain && this.options.retainAvailable) this.retainedFor(message.topic).set(message)
    const deliveries = this.router.route(message)
    // The broker's own messages ($SYS) are not reported: listeners want their clients' traffic.
    if (message.origin !== undefined && this.events.listenerCount('publish') > 0) {
      const clientId = message.origin.kind === 'local' ? undefined : message.origin.clientId
      this.events.emit('publish', { clientId, topic: message.topic, qos: message.qos, retain: message.retain, payloadBytes: message.payload.length })
    }
    return deliveries
  }

  retainedFor (topicOrFilter: string): MemoryRetainedStore {
    // Only a filter that names '$SYS' can match the tree: wildcards never reach '$' topics [MQTT-4.7.2-1].
    return topicOrFilter.startsWith('$SYS') ? this.sysRetained : this.retained
  }

  /** An authorization hook threw: logged, reported, and treated as a denial by the caller. */
  hookFailed (error: Error, clientId: string): void {
    this.logger.error(`Authorization hook failed for ${clientId}: ${error.message}.`)
    this.reportError(error, clientId)
  }

  reportError (error: Error, clientId?: string): void {
    // EventEmitter throws on an 'error' nobody listens to; the broker must not die of that.
    if (this.events.listenerCount('error') > 0) this.events.emit('error', { error, clientId })
  }

  scheduleUncork (connection: Connection): void {
    this.uncorkPending.push(connection)
    if (this.uncorkScheduled) return
    this.uncorkScheduled = true
    process.nextTick(this.flushUncork)
  }

  private readonly flushUncork = (): void => {
    const pending = this.uncorkPending
    this.uncorkPending = []
    this.uncorkScheduled = false
    for (const connection of pending) connection.uncork()
  }

  connectionClosed (conn: Connection, reason: DisconnectReason): void {
    this.connections.delete(conn)
    const session = conn.session
    if (session === null || this.clients.get(conn.clientId) !== conn) return
    this.clients.delete(conn.clientId)
    session.detach()
    const will = conn.will
    conn.will = undefined
    let willPublished = false
    // [MQTT-3.1.2-8] the will is published when the connection ends without DISCONNECT
    // (MQTT 5: also after DISCONNECT with reason 0x04, which keeps conn.will set).
    if (will !== undefined && (reason !== 'disconnect' || conn.disconnectWithWill)) {
      willPublished = this.publishOrDelayWill(conn.info, session, will, conn.willDelaySec)
    }
    this.logDisconnect(conn, reason)
    if (session.expiryIntervalSec === 0) {
      // [MQTT-3.1.2-6] a clean session (Session Expiry 0) ends with its connection
      this.endSession(session)
    } else if (session.expiryIntervalSec !== SESSION_NEVER_EXPIRES) {
      this.armSessionExpiry(session, session.expiryIntervalSec * 1000)
    }
    this.events.emit('clientDisconnected', { ...conn.info, reason, willPublished })
  }

  /**
   * Publishes a will now, or after its Will Delay Interval while the session lives on; returns
   * whether it went out now (MQTT 5.0, 3.1.3.2.2).
   */
  private publishOrDelayWill (client: ClientInfo, session: Session, will: Message, delaySec: number): boolean {
    if (delaySec <= 0 || session.expiryIntervalSec === 0) return this.publishWill(client, will)
    const delayMs = Math.min(delaySec, session.expiryIntervalSec) * 1000
    const timer = setTimeout(() => {
      session.pendingWill = undefined
      this.publishWill(client, will)
    }, Math.min(delayMs, MAX_TIMER_MS))
    timer.unref()
    session.pendingWill = { message: will, timer, client }
    return false
  }

  /** A returning client cancels its delayed will [MQTT-3.1.3-9]; a session that ends sends it. */
  settlePendingWill (session: Session, sessionEnds: boolean): void {
    const pending = session.pendingWill
    if (pending === undefined) return
    clearTimeout(pending.timer)
    session.pendingWill = undefined
    if (sessionEnds) this.publishWill(pending.client, pending.message)
  }

  private publishWill (client: ClientInfo, will: Message): boolean {
    // A will passes the same admission step as a PUBLISH ($SYS, ACL, ...); a hook that throws denies.
    const refused = admit(this, will, client)
    if (refused !== undefined) {
      this.logger.notice(refusalLine(`will of ${client.clientId}`, will.topic, refused))
      return false
    }
    this.dispatchMessage(will)
    this.events.emit('willPublished', { clientId: client.clientId, topic: will.topic })
    return true
  }

  /** Ends a session: its delayed will goes out, its subscriptions and queues are dropped. */
  endSession (session: Session): void {
    if (session.expiryTimer !== undefined) clearTimeout(session.expiryTimer)
    session.expiryTimer = undefined
    this.settlePendingWill(session, true)
    removeAllSubscriptions(this.router, session)
    session.reset()
    if (this.sessions.get(session.clientId) === session) this.sessions.delete(session.clientId)
  }

  private armSessionExpiry (session: Session, remainingMs: number): void {
    session.expiryTimer = setTimeout(() => {
      session.expiryTimer = undefined
      if (session.online) return
      if (remainingMs > MAX_TIMER_MS) {
        this.armSessionExpiry(session, remainingMs - MAX_TIMER_MS)
        return
      }
      this.stats.clientsExpired++
      this.logger.notice(`Expiring client ${session.clientId}: session expiry interval passed.`)
      this.endSession(session)
    }, Math.min(remainingMs, MAX_TIMER_MS))
    session.expiryTimer.unref()
  }

  /** Ends every offline session's timers at shutdown. */
  clearSessionTimers (): void {
    for (const session of this.sessions.values()) {
      if (session.expiryTimer !== undefined) clearTimeout(session.expiryTimer)
      session.expiryTimer = undefined
      if (session.pendingWill !== undefined) clearTimeout(session.pendingWill.timer)
      session.pendingWill = undefined
    }
  }

  private logDisconnect (conn: Connection, reason: DisconnectReason): void {
    const id = conn.clientId
    switch (reason) {
      case 'disconnect': this.logger.notice(`Client ${id} disconnected.`); break
      case 'socketClosed': this.logger.notice(`Client ${id} closed its connection.`); break
      case 'socketError': this.logger.notice(`Socket error on client ${id}, disconnecting.`); break
      case 'takenOver': this.logger.notice(`Client ${id} taken over by a new connection.`); break
      case 'serverShutdown': this.logger.notice(`Client ${id} disconnected: broker shutting down.`); break
      // Keepalive, protocol and slow-consumer closes were logged where they were decided.
      default: break
    }
  }

  /** Removes offline persistent sessions older than persistent_client_expiration. */
  expireSessions (now: number): void {
    const maxAgeMs = this.options.persistentClientExpirationSec * 1000
    if (maxAgeMs <= 0) return
    for (const [clientId, session] of this.sessions) {
      if (session.online || session.offlineSince === 0 || now - session.offlineSince < maxAgeMs) continue
      this.endSession(session)
      this.stats.clientsExpired++
      this.logger.notice(`Expiring client ${clientId} due to timeout.`)
    }
  }
}

// The broker's shared state and the few operations connections need from it (BrokerContext).
// The public Broker class wraps this; users never see it.
import { type Auth, askAuthorizer } from './auth/auth'
import type { Connection } from './connection/connection'
import { PacketDecoder } from './connection/decoder'
import { PublishEncoder } from './connection/publish-codec'
import type { BrokerContext } from './context'
import type { BrokerEvents, DisconnectReason, TypedEmitter } from './events'
import type { Logger } from './logger'
import { MQTT_MAX_PACKET_BYTES, type BrokerOptions } from './options'
import { MemoryRetainedStore } from './retained/retained'
import { Router } from './router'
import type { Session, SessionLimits } from './session/session'
import { removeAllSubscriptions } from './session/subscriptions'
import { BrokerStats } from './sys/stats'
import type { Message } from './types'

/** Room for a topic and properties on top of message_size_limit when sizing the framer. */
const PACKET_OVERHEAD_BYTES = 65_535 + 4 + 65_536

export class BrokerCore implements BrokerContext {
  readonly stats = new BrokerStats()
  readonly router = new Router()
  readonly retained = new MemoryRetainedStore()
  readonly decoder = new PacketDecoder()
  readonly encoder = new PublishEncoder()
  readonly sessions = new Map<string, Session>()
  readonly clients = new Map<string, Connection>()
  /** Every open socket, connected or not, so close() can end them all. */
  readonly connections = new Set<Connection>()
  readonly maxInboundPacketBytes: number
  readonly sessionLimits: SessionLimits
  private uncorkPending: Connection[] = []
  private uncorkScheduled = false

  constructor (readonly options: BrokerOptions, readonly logger: Logger, readonly auth: Auth, readonly events: TypedEmitter<BrokerEvents>) {
    this.maxInboundPacketBytes = options.messageSizeLimit > 0
      ? Math.min(MQTT_MAX_PACKET_BYTES, options.messageSizeLimit + PACKET_OVERHEAD_BYTES)
      : MQTT_MAX_PACKET_BYTES
    this.sessionLimits = {
      maxInflightMessages: options.maxInflightMessages,
      maxQueuedMessages: options.maxQueuedMessages,
      maxQueuedBytes: options.maxQueuedBytes,
      queueQos0Messages: options.queueQos0Messages,
      onDrop: (session, _message, why) => {
        this.stats.publishDropped++
        // One line when dropping starts, not one per message.
        if (why !== '') this.logger.warning(`Outgoing messages are being dropped for client ${session.clientId} (${why}).`)
      }
    }
  }

  dispatchMessage (message: Message): void {
    if (message.retain && this.options.retainAvailable) this.retained.set(message)
    this.router.route(message)
    if (this.events.listenerCount('publish') > 0) {
      this.events.emit('publish', { clientId: message.origin, topic: message.topic, qos: message.qos, retain: message.retain, payloadBytes: message.payload.length })
    }
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
    let willPublished = false
    const will = conn.will
    conn.will = undefined
    if (will !== undefined && reason !== 'disconnect') willPublished = this.publishWill(conn, will)
    if (session.clean && this.sessions.get(conn.clientId) === session) {
      // [MQTT-3.1.2-6] a clean session ends with its connection
      removeAllSubscriptions(this.router, session)
      session.reset()
      this.sessions.delete(conn.clientId)
    }
    this.logDisconnect(conn, reason)
    this.events.emit('clientDisconnected', { ...conn.info, reason, willPublished })
  }

  /** [MQTT-3.1.2-8] the will is published when the connection ends without DISCONNECT. */
  private publishWill (conn: Connection, will: Message): boolean {
    // $SYS is the broker's own tree: a will may not write there any more than a PUBLISH may.
    if (will.topic === '$SYS' || will.topic.startsWith('$SYS/')) {
      this.logger.notice(`Dropped will of ${conn.clientId} to '${will.topic}': $SYS is read-only.`)
      return false
    }
    const authorize = this.auth.authorizePublish
    // Runs inside a socket's close handler: a hook that throws must not escape from here.
    if (authorize !== undefined && !askAuthorizer(() => authorize(conn.info, will.topic, will.qos, will.retain), false, (error) => this.hookFailed(error, conn.clientId))) {
      this.logger.notice(`Denied will of ${conn.clientId} to '${will.topic}'.`)
      return false
    }
    this.dispatchMessage(will)
    this.events.emit('willPublished', { clientId: conn.clientId, topic: will.topic })
    return true
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
      removeAllSubscriptions(this.router, session)
      session.reset()
      this.sessions.delete(clientId)
      this.stats.clientsExpired++
      this.logger.notice(`Expiring client ${clientId} due to timeout.`)
    }
  }
}

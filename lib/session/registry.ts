// The session lifecycle in one place. A CONNECT takes over an older connection with its client id
// and resumes or starts its session; a closed connection leaves its will and an expiry clock
// behind; a clean or expired session ends; offline sessions older than
// persistent_client_expiration are swept; at open, the store's sessions come back. The rest of the
// broker reaches sessions and connected clients through these operations, never through the maps.
import { ReasonCode } from '../errors'
import type { DisconnectReason } from '../events'
import type { SessionRecord, StoredSession, StoredState, StoredWill } from '../store/records'
import type { SessionConnection, SessionHost } from './host'
import { SESSION_NEVER_EXPIRES, Session, type SessionLimits } from './session'
import { addSubscription, removeAllSubscriptions } from './subscriptions'
import { delayWill, MAX_TIMER_MS, publishOrDelayWill, publishWill, settlePendingWill } from './wills'

/** How often, at most, offline persistent sessions are checked against persistent_client_expiration. */
const EXPIRY_SWEEP_MS = 60_000

export class SessionRegistry {
  /** Sessions by client id, online and offline. */
  private readonly sessions = new Map<string, Session>()
  /** Connected clients (CONNACK 0 sent) by client id. */
  private readonly clients = new Map<string, SessionConnection>()
  /** Limits and counters every session shares. */
  readonly limits: SessionLimits
  private sweepTimer: NodeJS.Timeout | undefined

  constructor (private readonly host: SessionHost) {
    const { options, stats, logger } = host
    this.limits = {
      maxInflightMessages: options.maxInflightMessages,
      maxInflightBytes: options.maxInflightBytes,
      maxQueuedMessages: options.maxQueuedMessages,
      maxQueuedBytes: options.maxQueuedBytes,
      queueQos0Messages: options.queueQos0Messages,
      onDrop: (session, _message, why) => {
        stats.publishDropped++
        // One line when dropping starts and one when it ends, not one per message.
        if (why !== '') logger.warning(`Outgoing messages are being dropped for client ${session.clientId} (${why}).`)
      },
      onDropsEnded: (session, why, count) => {
        logger.warning(`Stopped dropping outgoing messages for client ${session.clientId} (${why}): ${count} dropped.`)
      },
      onExpired: () => {
        stats.publishDropped++
        stats.messagesExpired++
      },
      deliveryGate: host.auth.deliveryGate
    }
    if (options.persistentClientExpirationSec > 0) {
      // A short expiration is checked as often as it is long, so it is kept to within one interval.
      const sweepMs = Math.min(EXPIRY_SWEEP_MS, options.persistentClientExpirationSec * 1000)
      this.sweepTimer = setInterval(() => this.expireSessions(Date.now()), sweepMs)
      this.sweepTimer.unref()
    }
  }

  /** Connected clients. */
  get connectedCount (): number { return this.clients.size }
  /** Sessions, online and offline. */
  get sessionCount (): number { return this.sessions.size }

  isConnected (clientId: string): boolean { return this.clients.has(clientId) }

  /** The connection of a connected client. */
  connection (clientId: string): SessionConnection | undefined { return this.clients.get(clientId) }

  connections (): IterableIterator<SessionConnection> { return this.clients.values() }

  /** Messages queued and in flight over every session, and their payload bytes (queued only). */
  heldMessages (): { messages: number, bytes: number } {
    let messages = 0
    let bytes = 0
    for (const session of this.sessions.values()) {
      messages += session.queuedCount + session.inflightCount
      bytes += session.queuedPayloadBytes
    }
    return { messages, bytes }
  }

  /**
   * A CONNECT was accepted: an older connection with the same client id is closed
   * [MQTT-3.1.4-2], then the session is resumed or started [MQTT-3.1.2-4..6; MQTT 5.0, 3.1.2.4].
   * Returns whether a session was present.
   */
  begin (conn: SessionConnection, expirySec: number): boolean {
    this.takeOver(conn)
    let session = this.sessions.get(conn.clientId)
    if (session !== undefined && conn.cleanSession) {
      // Clean Start: the old session ends here, and a delayed will with it (MQTT 5.0, 3.1.2.5).
      this.end(session)
      session = undefined
    }
    const present = session !== undefined
    if (session === undefined) {
      session = new Session(conn.clientId, expirySec, this.limits)
      this.sessions.set(conn.clientId, session)
    } else {
      if (session.expiryTimer !== undefined) clearTimeout(session.expiryTimer)
      session.expiryTimer = undefined
      // [MQTT-3.1.3-9] the client is back in time: its delayed will is not sent
      settlePendingWill(this.host, session, false)
    }
    session.expiryIntervalSec = expirySec
    // A session that ends with its connection is never journaled [MQTT-3.1.2-6].
    session.journal = expirySec === 0 ? undefined : this.host.store
    conn.session = session
    return present
  }

  /** The client is connected (its will set): it counts as connected and its session is saved. */
  register (conn: SessionConnection): void {
    this.clients.set(conn.clientId, conn)
    const stats = this.host.stats
    if (this.clients.size > stats.clientsMaximum) stats.clientsMaximum = this.clients.size
    const will = conn.will === undefined
      ? undefined
      : { message: conn.will, client: conn.info, delaySec: conn.willDelaySec, publishAtMs: undefined }
    this.save(conn.session as Session, will, conn.info)
  }

  /** A connection closed, whatever the reason: its will and its session's future are settled here. */
  connectionClosed (conn: SessionConnection, reason: DisconnectReason): void {
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
      willPublished = publishOrDelayWill(this.host, session, { message: will, client: conn.info, delaySec: conn.willDelaySec, publishAtMs: undefined }, this.saveSession)
    }
    this.logDisconnect(conn.clientId, reason)
    if (session.expiryIntervalSec === 0) {
      // [MQTT-3.1.2-6] a clean session (Session Expiry 0) ends with its connection
      this.end(session)
    } else {
      if (session.expiryIntervalSec !== SESSION_NEVER_EXPIRES) this.armExpiry(session, session.expiryIntervalSec * 1000)
      this.saveSession(session)
    }
    this.host.events.emit('clientDisconnected', { ...conn.info, reason, willPublished })
  }

  /** Ends a session: its delayed will goes out, its subscriptions and queues are dropped. */
  end (session: Session): void {
    if (session.expiryTimer !== undefined) clearTimeout(session.expiryTimer)
    session.expiryTimer = undefined
    settlePendingWill(this.host, session, true)
    // One removal record for the store, not one per subscription.
    session.journal = undefined
    removeAllSubscriptions(this.host.router, session)
    session.reset()
    if (this.sessions.get(session.clientId) !== session) return
    this.sessions.delete(session.clientId)
    this.host.store.sessionRemoved(session.clientId)
  }

  /**
   * The client connected again on another node of the cluster, after its connection here closed:
   * a Clean Start there ends the session here, a delayed will with it (MQTT 5.0, 3.1.2.4);
   * otherwise the client is back in time and its delayed will is not sent [MQTT-3.1.3-9].
   */
  movedAway (clientId: string, cleanStart: boolean): void {
    const session = this.sessions.get(clientId)
    if (session === undefined || session.online) return
    if (cleanStart) {
      this.end(session)
      return
    }
    settlePendingWill(this.host, session, false)
    this.saveSession(session)
  }

  /** Removes offline persistent sessions older than persistent_client_expiration. */
  expireSessions (now: number): void {
    const maxAgeMs = this.host.options.persistentClientExpirationSec * 1000
    if (maxAgeMs <= 0) return
    for (const [clientId, session] of this.sessions) {
      if (session.online || session.offlineSince === 0 || now - session.offlineSince < maxAgeMs) continue
      this.end(session)
      this.host.stats.clientsExpired++
      this.host.logger.notice(`Expiring client ${clientId} due to timeout.`)
    }
  }

  /**
   * Takes back the sessions a store held (at open). Every subscription is back before any will
   * goes out, so a will reaches every subscriber it would have reached before the restart.
   */
  recover (state: StoredState, now: number): void {
    const { host } = this
    const recovered: Array<[Session, StoredSession]> = []
    for (const stored of state.sessions) {
      // A clean session's only remains are its will; a live session wins over a stored one.
      if (stored.expiryIntervalSec === 0 || this.sessions.has(stored.clientId)) continue
      const session = new Session(stored.clientId, stored.expiryIntervalSec, this.limits)
      for (const subscription of stored.subscriptions) addSubscription(host.router, session, subscription.filter, subscription.qos, subscription.options)
      session.restoreMessages(stored)
      // Read access is asked for the identity it last connected with, until it connects again.
      session.client = stored.client
      // A client connected when the broker stopped went offline then; the nearest time known is now.
      session.offlineSince = stored.offlineSinceMs === 0 ? now : stored.offlineSinceMs
      session.journal = host.store
      this.sessions.set(stored.clientId, session)
      recovered.push([session, stored])
    }
    for (const stored of state.sessions) {
      if (stored.expiryIntervalSec !== 0) continue
      // [MQTT-3.1.2-8] its connection ended without DISCONNECT: the will goes out
      if (stored.will !== undefined) publishWill(host, stored.will.client, stored.will.message)
      host.store.sessionRemoved(stored.clientId)
    }
    for (const [session, stored] of recovered) this.resumeClocks(session, stored, now)
  }

  /** A recovered session's will and expiry, from the wall-clock deadlines the store kept. */
  private resumeClocks (session: Session, stored: StoredSession, now: number): void {
    const will = stored.will
    if (will !== undefined) {
      if (will.publishAtMs !== undefined) delayWill(this.host, session, will, this.saveSession)
      else publishOrDelayWill(this.host, session, will, this.saveSession)
    }
    const expiry = stored.expiryIntervalSec
    const remainingMs = session.offlineSince + expiry * 1000 - now
    if (expiry !== SESSION_NEVER_EXPIRES && remainingMs <= 0) {
      this.host.stats.clientsExpired++
      this.host.logger.notice(`Expiring client ${session.clientId}: session expiry interval passed.`)
      this.end(session)
      return
    }
    if (expiry !== SESSION_NEVER_EXPIRES) this.armExpiry(session, remainingMs)
    this.saveSession(session)
  }

  /** Stops every timer at shutdown; the store keeps the deadlines, in wall-clock time. */
  shutdown (): void {
    if (this.sweepTimer !== undefined) clearInterval(this.sweepTimer)
    this.sweepTimer = undefined
    for (const session of this.sessions.values()) {
      if (session.expiryTimer !== undefined) clearTimeout(session.expiryTimer)
      session.expiryTimer = undefined
      if (session.pendingWill !== undefined) clearTimeout(session.pendingWill.timer)
      session.pendingWill = undefined
    }
  }

  /** [MQTT-3.1.4-2] a second connection with the same client id closes the first. */
  private takeOver (conn: SessionConnection): void {
    const existing = this.clients.get(conn.clientId)
    if (existing === undefined || existing === conn) return
    this.host.logger.notice(`Client ${conn.clientId} already connected, closing old connection.`)
    existing.closeWithReason(ReasonCode.SessionTakenOver, 'takenOver')
  }

  private armExpiry (session: Session, remainingMs: number): void {
    session.expiryTimer = setTimeout(() => {
      session.expiryTimer = undefined
      if (session.online) return
      if (remainingMs > MAX_TIMER_MS) {
        this.armExpiry(session, remainingMs - MAX_TIMER_MS)
        return
      }
      this.host.stats.clientsExpired++
      this.host.logger.notice(`Expiring client ${session.clientId}: session expiry interval passed.`)
      this.end(session)
    }, Math.min(remainingMs, MAX_TIMER_MS))
    session.expiryTimer.unref()
  }

  /** Records an offline session's state (deadlines, pending will); bound once for timers to call. */
  private readonly saveSession = (session: Session): void => {
    if (this.sessions.get(session.clientId) !== session) return
    const pending = session.pendingWill
    this.save(session, pending === undefined
      ? undefined
      : { message: pending.message, client: pending.client, delaySec: pending.delaySec, publishAtMs: pending.publishAtMs })
  }

  private save (session: Session, will: StoredWill | undefined, client = session.client): void {
    const offlineSinceMs = session.offlineSince
    const expiry = session.expiryIntervalSec
    const record: SessionRecord = {
      clientId: session.clientId,
      expiryIntervalSec: expiry,
      offlineSinceMs,
      expiresAtMs: offlineSinceMs === 0 || expiry === SESSION_NEVER_EXPIRES ? undefined : offlineSinceMs + expiry * 1000,
      client,
      will
    }
    this.host.store.sessionSaved(record)
  }

  private logDisconnect (id: string, reason: DisconnectReason): void {
    const logger = this.host.logger
    switch (reason) {
      case 'disconnect': logger.notice(`Client ${id} disconnected.`); break
      case 'socketClosed': logger.notice(`Client ${id} closed its connection.`); break
      case 'socketError': logger.notice(`Socket error on client ${id}, disconnecting.`); break
      case 'takenOver': logger.notice(`Client ${id} taken over by a new connection.`); break
      case 'serverShutdown': logger.notice(`Client ${id} disconnected: broker shutting down.`); break
      // Keepalive, protocol and slow-consumer closes were logged where they were decided.
      default: break
    }
  }
}

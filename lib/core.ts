// The broker's shared state and the few operations connections need from it (BrokerContext).
// The public Broker class wraps this; users never see it.
import type { Auth } from './auth/auth'
import { takeBridgeQueues, takeHeldQueues } from './bridge/outbound'
import { CLUSTER_BACKLOG_NAME, CLUSTER_BACKLOG_PREFIX } from './cluster/backlog'
import { defaultAuthentication, usersTableAuth } from './auth/builtin'
import { AuthChain } from './auth/chain'
import { FileSecurity } from './auth/file-security'
import { LoginThrottle } from './auth/login-throttle'
import type { Connection } from './connection/connection'
import { PacketDecoder } from './codec/decoder'
import { PublishEncoder } from './codec/publish-codec'
import type { BrokerContext, SessionLookup } from './context'
import type { BrokerEvents, DisconnectReason, TypedEmitter } from './events'
import type { Logger } from './logger'
import { MQTT_MAX_PACKET_BYTES, type BrokerOptions } from './options'
import { MemoryRetainedStore, type RetainedStore } from './retained/retained'
import { Router, routeShared } from './router'
import { SessionRegistry } from './session/registry'
import { MemoryStore } from './store/memory'
import type { QueuedEntry } from './store/records'
import type { Store } from './store/store'
import type { BrokerHoldings, SysSource } from './sys/source'
import { BrokerStats } from './sys/stats'
import type { Message } from './types'

/** Sends messages that entered the broker here on to other brokers (the cluster). */
export interface MessageForwarder {
  /**
   * False when the message stays on this node (no connection, or a topic no NATS subject can carry);
   * true when it went out on a plain subject; for a QoS 1/2 message sent to the cluster's stream, the
   * promise of its storing: this node's own subscribers get it from the stream too, and its
   * publisher's acknowledgement waits for the promise.
   */
  forward (message: Message): boolean | Promise<void>
}

/**
 * Sees every message the router took, after its delivery. It must neither change the message nor
 * keep its payload Buffer beyond the call (copy what it needs): the payload may share a socket's buffer.
 */
export type MessageObserver = (message: Readonly<Message>) => void

/** Room for a topic and properties on top of message_size_limit when sizing the framer. */
const PACKET_OVERHEAD_BYTES = 65_535 + 4 + 65_536

export class BrokerCore implements BrokerContext, SysSource {
  readonly stats = new BrokerStats()
  /** The built-in authorizers first, then the embedder's (BrokerHooks.auth). */
  readonly auth: AuthChain
  /** password_file and acl_file (broker-wide or per listener), and their reload. */
  readonly security: FileSecurity
  /** Slows down repeated failed logins from one address. */
  readonly loginThrottle = new LoginThrottle()
  readonly router: Router
  readonly store: Store
  /** The $SYS tree's own retained messages, apart from the users' so counts and listings show theirs. */
  readonly sysRetained = new MemoryRetainedStore()
  readonly decoder = new PacketDecoder()
  readonly encoder = new PublishEncoder()
  readonly sessions: SessionRegistry
  /** Every open socket, connected or not, so close() can end them all. */
  readonly connections = new Set<Connection>()
  readonly maxInboundPacketBytes: number
  authenticating = 0
  /** Set while the broker runs in a cluster. */
  forwarder: MessageForwarder | undefined
  /** Set while the broker runs in a cluster: a persistent session may be kept there, not here. */
  sessionLookup: SessionLookup | undefined
  /** What the store held for each bridge at open, by bridge name, until the bridge takes it. */
  readonly storedBridgeQueues = new Map<string, QueuedEntry[]>()
  /** What the store held in the cluster's backlog at open (lib/cluster/backlog.ts), until the link takes it. */
  storedClusterBacklog: QueuedEntry[] | undefined
  /** Connected clients per listener (its ListenerOptions object), for each listener's max_connections. */
  readonly listenerClients = new Map<object, number>()
  /** The id of the last message admitted; ids are never reused while the store holds one. */
  private lastMessageId = 0
  /** In-process observers of every routed message (broker.observeMessages); empty costs one length check. */
  messageObservers: readonly MessageObserver[] = []
  private uncorkPending: Connection[] = []
  private uncorkScheduled = false

  constructor (readonly options: BrokerOptions, readonly logger: Logger, authorizers: readonly Auth[], readonly events: TypedEmitter<BrokerEvents>, store?: Store) {
    this.security = new FileSecurity(options, logger)
    const security = this.security
    this.auth = new AuthChain([usersTableAuth(options.users), ...security.authorizers(), ...authorizers],
      (request) => defaultAuthentication({ allowAnonymous: security.scopeFor(request.listenerIndex).allowAnonymous, users: options.users }, request),
      (error, clientId) => { this.hookFailed(error, clientId) })
    this.router = new Router(this.auth.deliveryGate)
    let maxInbound = options.messageSizeLimit > 0
      ? Math.min(MQTT_MAX_PACKET_BYTES, options.messageSizeLimit + PACKET_OVERHEAD_BYTES)
      : MQTT_MAX_PACKET_BYTES
    if (options.maxPacketSize > 0) maxInbound = Math.min(maxInbound, options.maxPacketSize)
    this.maxInboundPacketBytes = maxInbound
    this.router.upgradeOutgoingQos = options.upgradeOutgoingQos
    this.router.bridgeSplitHorizon = options.bridgeSplitHorizon
    this.store = store ?? new MemoryStore()
    this.sessions = new SessionRegistry(this)
  }

  /** A fresh message id: for a message the broker takes in (see Message.id), or a retained message another node wrote. */
  nextMessageId (): number {
    return ++this.lastMessageId
  }

  /**
   * Stores (when retained) and routes a message the broker took in. Resolves the message's storing
   * when it went to the cluster's stream, whose acknowledgement waits for that; undefined otherwise.
   */
  dispatchMessage (message: Message): Promise<void> | undefined {
    message.id = this.nextMessageId()
    const expiry = message.properties?.messageExpiryInterval
    // [MQTT-3.3.2-5] the expiry clock starts when the broker takes the message
    if (expiry !== undefined && message.expiresAt === undefined) message.expiresAt = Date.now() + expiry * 1000
    const origin = message.origin
    // A peer's retained message reaches this node's store through the cluster's bucket
    // (lib/cluster/retained-bucket.ts), never through routing, which carries it only to live subscriptions.
    if (message.retain && this.options.retainAvailable && origin?.kind !== 'cluster') this.retainedFor(message.topic).set(message)
    // The broker's own messages ($SYS, no origin) stay on this node, as does what came from the cluster.
    // What went to the cluster reaches shared groups through NATS queue groups, so once in all.
    let sharedHere = true
    let stored: Promise<void> | undefined
    if (this.forwarder !== undefined && origin !== undefined) {
      const forwarded = origin.kind === 'cluster' || this.forwarder.forward(message)
      sharedHere = forwarded === false
      if (typeof forwarded === 'object') stored = forwarded
    }
    // A message on the cluster's stream comes back to this node's subscribers from the stream.
    if (stored === undefined) this.router.route(message, sharedHere)
    // The broker's own messages ($SYS) are not reported: listeners want their clients' traffic.
    if (message.origin !== undefined && this.events.listenerCount('publish') > 0) {
      const clientId = message.origin.kind === 'local' ? undefined : message.origin.clientId
      this.events.emit('publish', { clientId, topic: message.topic, qos: message.qos, retain: message.retain, payloadBytes: message.payload.length })
    }
    // Observers see what the router routes here: a message sent to the cluster's stream is seen when it comes back.
    if (this.messageObservers.length !== 0 && stored === undefined) this.notifyObservers(message)
    return stored
  }

  /** An observer that throws is reported and the others still see the message: routing is already done. */
  private notifyObservers (message: Message): void {
    for (const observer of this.messageObservers) {
      try {
        observer(message)
      } catch (error) {
        this.reportError(error instanceof Error ? error : new Error(String(error)))
      }
    }
  }

  /** A message a cluster queue group gave to the shared subscription `$share/<group>/<levelsFilter>` here. */
  dispatchShared (message: Message, levelsFilter: string, group: string): number {
    message.id = this.nextMessageId()
    return routeShared(this.router, message, levelsFilter, group)
  }

  retainedFor (topicOrFilter: string): RetainedStore {
    // Only a filter that names '$SYS' can match the tree: wildcards never reach '$' topics [MQTT-4.7.2-1].
    return topicOrFilter.startsWith('$SYS') ? this.sysRetained : this.store.retained
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
    const listener = conn.arrival.listener
    if (conn.countedOnListener && listener !== undefined) this.listenerClients.set(listener, (this.listenerClients.get(listener) ?? 1) - 1)
    this.sessions.connectionClosed(conn, reason)
  }

  /** Opens the store and takes back what it held: retained messages, sessions, message ids. */
  async open (): Promise<void> {
    const state = await this.store.open()
    if (state.lastMessageId > this.lastMessageId) this.lastMessageId = state.lastMessageId
    for (const [name, queued] of takeBridgeQueues(state)) this.storedBridgeQueues.set(name, queued)
    this.storedClusterBacklog = takeHeldQueues(state, CLUSTER_BACKLOG_PREFIX).get(CLUSTER_BACKLOG_NAME)
    this.sessions.recover(state, Date.now())
  }

  holdings (): BrokerHoldings {
    const held = this.sessions.heldMessages()
    const retained = this.store.retained
    return {
      connected: this.sessions.connectedCount,
      sessions: this.sessions.sessionCount,
      subscriptions: this.router.trie.size,
      sharedSubscriptions: this.router.trie.sharedSize,
      retained: retained.size,
      storedMessages: retained.size + held.messages,
      storedBytes: retained.bytes + held.bytes,
      disk: this.store.health?.()
    }
  }
}

// The broker: createBroker(options) → listen() → close(). Also the in-process API the Node-RED
// nodes use: publish() and subscribe() with the same routing, retained and QoS rules as a socket
// client, without a socket or any encoding.
import type { Auth } from './auth/auth'
import { BridgeSet } from './bridge/bridges'
import { brokerBridgeHost } from './bridge/host'
import type { BridgeOptions } from './bridge/options'
import { brokerClusterHost } from './cluster/host'
import { ClusterLink } from './cluster/link'
import type { ClusterState } from './cluster/options'
import { ClusterServices } from './cluster/services'
import { brokerServicesHost } from './cluster/services-host'
import { type ClientStream, Connection } from './connection/connection'
import { BrokerCore, type MessageObserver } from './core'
import { ConfigError, ReasonCode } from './errors'
import { type BridgeStatus, type BrokerEvents, TypedEmitter } from './events'
import { LocalSubscriber, type MessageHandler } from './local'
import { silentLogger } from './logger'
import { storeFromOptions } from './store/from-options'
import { MemoryStore } from './store/memory'
import { type BrokerHooks, type BrokerOptions, resolveOptions } from './options'
import { admit } from './routing/admit'
import { isSubscriptionIdentifier, sendRetainedOnSubscribe, subscribe } from './routing/subscribe'
import { removeSubscription } from './session/subscriptions'
import type { BrokerStatsSnapshot } from './sys/snapshot'
import type { BrokerStats } from './sys/stats'
import { SysTree } from './sys/tree'
import { topicNameProblem } from './topics/validate'
import { type Arrival, CODE_ARRIVAL } from './transport/arrival'
import { openListener } from './transport/listeners'
import type { BoundListener } from './transport/tcp'
import { type ClientDetails, type ClientInfo, LOCAL_ORIGIN, type Message, type PublishRequest, type QoS, type SubscriptionOptions } from './types'

/** How long listen() waits, at most, for a node joining a cluster to read the cluster's buckets. */
const CLUSTER_SYNC_WAIT_MS = 5000

export class Broker extends TypedEmitter<BrokerEvents> {
  readonly options: Readonly<BrokerOptions>
  private readonly core: BrokerCore
  private readonly sys: SysTree
  private readonly bridgeSet: BridgeSet
  private readonly cluster: ClusterLink | undefined
  private readonly clusterServices: ClusterServices | undefined
  private bound: BoundListener[] = []
  private state: 'new' | 'listening' | 'closing' | 'closed' = 'new'
  private closing: Promise<void> | undefined
  private storeOpened = false
  private localCount = 0

  constructor (options: Partial<BrokerOptions> = {}, hooks: BrokerHooks = {}) {
    super()
    this.options = resolveOptions(options)
    const authorizers: readonly Auth[] = hooks.auth === undefined ? [] : Array.isArray(hooks.auth) ? hooks.auth : [hooks.auth as Auth]
    const logger = hooks.logger ?? silentLogger
    let store = hooks.store ?? storeFromOptions(this.options, logger)
    if (this.options.cluster !== undefined) {
      // Retained messages and the session journal go through the cluster's buckets as well.
      this.clusterServices = new ClusterServices(this.options.cluster, logger)
      store = this.clusterServices.wrapStore(store ?? new MemoryStore())
    }
    this.core = new BrokerCore(this.options, logger, authorizers, this, store)
    this.sys = new SysTree(this.core)
    this.bridgeSet = new BridgeSet(brokerBridgeHost(this.core))
    void this.bridgeSet.replace(this.options.bridges)
    if (this.options.cluster !== undefined && this.clusterServices !== undefined) {
      // Attached before the store opens, so the subscriptions of restored sessions count as interest too.
      this.cluster = new ClusterLink(this.options.cluster, brokerClusterHost(this.core))
      this.core.router.interest = this.cluster.interest
      this.core.forwarder = this.cluster
      this.core.sessionLookup = this.cluster
      this.clusterServices.attach(brokerServicesHost(this.core, this.cluster))
      this.cluster.addListener(this.clusterServices)
    }
  }

  /**
   * Opens the store (taking back what it held), then binds every configured listener. Rejects
   * (and binds nothing) when one cannot be bound.
   */
  async listen (): Promise<Array<{ host: string, port: number }>> {
    if (this.state !== 'new') throw new Error(`listen() called on a broker that is ${this.state}`)
    this.state = 'listening'
    if (!this.storeOpened) {
      try {
        await this.core.open()
      } catch (error) {
        // A store that cannot open (another broker holds it, a directory that cannot be made).
        this.state = 'new'
        throw error
      }
      this.storeOpened = true
    }
    this.sys.start()
    try {
      for (const listener of this.options.listeners) {
        const bound = await openListener(listener, (stream, arrival) => { this.accept(stream, arrival) }, {
          handshakeTimeoutMs: this.options.connectTimeoutSec * 1000,
          logger: this.core.logger,
          maxPacketBytes: this.maxPacketBytes
        })
        this.bound.push(bound)
        // Mosquitto's wording: the address family for MQTT listeners, the protocol for WebSockets.
        const kind = listener.protocol === 'websockets' ? 'websockets' : `ipv${bound.host.includes(':') ? 6 : 4}`
        this.core.logger.notice(`Opening ${kind} listen socket on port ${bound.port}.`)
        this.emit('listening', { host: bound.host, port: bound.port })
      }
    } catch (error) {
      await Promise.all(this.bound.map((bound) => bound.close()))
      this.bound = []
      this.sys.stop()
      this.state = 'new'
      throw error
    }
    // Resolves after the first attempt to reach NATS: unreachable, the node serves its own clients meanwhile.
    await this.cluster?.start()
    // Retained messages, client ids and members read from the buckets before the first client is served, within bounds.
    if (this.cluster?.state === 'connected') await this.clusterServices?.synced(CLUSTER_SYNC_WAIT_MS)
    await this.bridgeSet.start()
    return this.addresses
  }

  /** The bound addresses, with the real port where port 0 was asked for. */
  get addresses (): Array<{ host: string, port: number }> {
    return this.bound.map(({ host, port }) => ({ host, port }))
  }

  /**
   * Serves MQTT on an already connected stream (a socket from elsewhere, a WebSocket, a test
   * pair). `arrival` says which listener's settings apply and what the transport established.
   */
  accept (stream: ClientStream, arrival: Arrival = CODE_ARRIVAL): void {
    if (this.state === 'closing' || this.state === 'closed') {
      stream.destroy()
      return
    }
    this.core.stats.socketsAccepted++
    this.core.connections.add(new Connection(this.core, stream, arrival))
  }

  /**
   * Publishes from inside the process, through the same admission step as a client's PUBLISH
   * (max_qos, message_size_limit, `$SYS` read-only, retain_available, payload format); the
   * authorizers are not asked: the caller is the embedding program. Throws on an invalid topic
   * or QoS, and on a refused message.
   */
  publish (request: PublishRequest): void {
    const problem = topicNameProblem(request.topic, this.options.maxTopicLevels)
    if (problem !== undefined) throw new Error(`Invalid topic "${request.topic}": ${problem}`)
    const qos = request.qos ?? 0
    if (qos !== 0 && qos !== 1 && qos !== 2) throw new Error(`Invalid QoS ${String(qos)}: must be 0, 1 or 2`)
    const message: Message = { id: 0, topic: request.topic, payload: toBuffer(request.payload), qos, retain: request.retain === true, origin: LOCAL_ORIGIN }
    if (request.properties !== undefined) message.properties = request.properties
    const refused = admit(this.core, message, undefined)
    if (refused !== undefined) throw new Error(`Publish to "${request.topic}" refused: ${refused.reason}`)
    this.core.dispatchMessage(message)
  }

  /**
   * Calls `observer` with every message the broker routes (clients', wills, in-process, bridges,
   * cluster peers, and its own `$SYS` ones, which have no origin), without a subscription, so
   * nothing is refused, queued or dropped for it. The observer must not keep the payload Buffer (it
   * may share a socket's buffer): copy what it needs. Returns the function that stops observing.
   */
  observeMessages (observer: MessageObserver): () => void {
    // A new array each time: the routing loop never sees the list change under it.
    this.core.messageObservers = [...this.core.messageObservers, observer]
    return () => { this.core.messageObservers = this.core.messageObservers.filter((each) => each !== observer) }
  }

  /** Calls `visit` with every retained message held now: the users' ones, then `$SYS`'s. */
  forEachRetained (visit: (message: Readonly<Message>) => void): void {
    this.core.store.retained.match('#', visit)
    this.core.sysRetained.match('$SYS/#', visit)
  }

  /**
   * Subscribes from inside the process, through the same subscribe step as a client's SUBSCRIBE:
   * the QoS is capped at max_qos, and matching retained messages are delivered at once (as
   * `options.retainHandling` says). MQTT 5 options apply as for a socket client; No Local skips
   * messages published through this API. Returns the function that unsubscribes. Throws on an
   * invalid filter, QoS or option.
   */
  subscribe (filter: string, qos: QoS, handler: MessageHandler, options: SubscriptionOptions = {}): () => void {
    if (qos !== 0 && qos !== 1 && qos !== 2) throw new Error(`Invalid QoS ${String(qos)}: must be 0, 1 or 2`)
    const id = options.subscriptionIdentifier
    if (id !== undefined && !isSubscriptionIdentifier(id)) throw new Error(`Invalid subscription identifier ${id}: must be 1 to 268435455`)
    const subscriber = new LocalSubscriber(`$local/${++this.localCount}`, handler, (error) => this.core.reportError(error))
    const grant = subscribe(this.core, subscriber, undefined, { filter, qos, options, mqtt5: true })
    if (grant.code === ReasonCode.ProtocolError) throw new Error(`No Local cannot be used on shared subscription "${filter}"`)
    if (grant.reason !== undefined) throw new Error(`Invalid topic filter "${filter}": ${grant.reason}`)
    if (grant.retainedDue) sendRetainedOnSubscribe(this.core, subscriber, filter, grant.code as QoS, id)
    return () => { removeSubscription(this.core.router, subscriber, filter) }
  }

  /**
   * Reads again what the broker took from files (Mosquitto's SIGHUP): password_file and acl_file,
   * broker-wide and per listener, and the certificates, keys, CRLs and PSK keys of TLS listeners.
   * Connected clients stay connected; new rules apply to new logins and to every delivery from
   * now on. Each part is reloaded on its own: a part whose files cannot be read or parsed keeps
   * what it had, and once every part was tried the call rejects with a ConfigError naming each
   * failure. Resolves with a description of each part reloaded.
   */
  async reload (): Promise<string[]> {
    const reloaded: string[] = []
    const failures: string[] = []
    this.reloadSecurity(reloaded, failures)
    this.reloadCertificates(reloaded, failures)
    if (failures.length > 0) throw new ConfigError(`reload failed, kept the previous settings: ${failures.join('; ')}`)
    return reloaded
  }

  private reloadSecurity (reloaded: string[], failures: string[]): void {
    if (!this.core.security.readsFiles) return
    const problem = this.core.security.reload()
    if (problem !== undefined) {
      failures.push(`password_file/acl_file: ${problem}`)
      return
    }
    reloaded.push('password_file and acl_file')
    this.authorizationChanged()
  }

  /** TLS listeners take their certificates, keys, CRL and PSK keys from the files again. */
  private reloadCertificates (reloaded: string[], failures: string[]): void {
    for (const bound of this.bound) {
      if (bound.reload === undefined) continue
      try {
        bound.reload()
        reloaded.push(`certificates of the listener on port ${bound.port}`)
      } catch (error) {
        failures.push(error instanceof Error ? error.message : String(error))
      }
    }
  }

  /**
   * Tells the broker its authorization rules changed (an ACL reloaded, a hook's table edited):
   * every remembered read-access answer is asked again at the next delivery.
   */
  authorizationChanged (): void {
    this.core.auth.rulesChanged()
  }

  /**
   * Replaces the bridges: new ones start, removed ones stop, changed ones reconnect; the others
   * keep their link and what they hold. Checked as the `bridges` option is; throws ConfigError.
   */
  async setBridges (bridges: BridgeOptions[]): Promise<void> {
    const checked = resolveOptions({ bridges }).bridges
    ;(this.options as BrokerOptions).bridges = checked
    await this.bridgeSet.replace(checked)
  }

  /** Each bridge's link state, remote address, last error and held messages. */
  bridgeStates (): BridgeStatus[] {
    return this.bridgeSet.statuses
  }

  /** The link to the cluster: 'stopped' when the broker runs alone or is not listening. */
  get clusterState (): ClusterState { return this.cluster?.state ?? 'stopped' }

  /** This node's name in the cluster (`cluster_node_id`, or host name and process id); undefined when it runs alone. */
  get clusterNodeId (): string | undefined { return this.cluster?.nodeId }

  /**
   * Resolves once NATS has taken every subscription and message this node sent it so far (one
   * round trip), so what another node publishes next reaches this node's subscribers; at once
   * without a cluster or a connection.
   */
  async clusterSync (): Promise<void> {
    await this.cluster?.sync()
  }

  /** Connected clients, as plain objects. */
  clients (): ClientInfo[] {
    return [...this.core.sessions.connections()].map((conn) => conn.info)
  }

  /** Connected clients with their subscription count and connect time (read-only copies). */
  clientDetails (): ClientDetails[] {
    return [...this.core.sessions.connections()].map((conn) => ({
      ...conn.info,
      subscriptions: conn.session?.subscriptions.size ?? 0,
      connectedAtMs: conn.connectedAtMs
    }))
  }

  /**
   * Disconnects a connected client, as an administrator would: MQTT 5 clients are told with
   * DISCONNECT 0x98 (Administrative action). The will is published, as for any close that is
   * not the client's own DISCONNECT. Returns false when no client has that id.
   */
  disconnectClient (clientId: string): boolean {
    const conn = this.core.sessions.connection(clientId)
    if (conn === undefined) return false
    this.core.logger.notice(`Client ${clientId} disconnected by the administrator.`)
    conn.closeWithReason(ReasonCode.AdministrativeAction, 'administrative')
    return true
  }

  /** Largest packet accepted from a client, in bytes (max_packet_size, or what message_size_limit implies). */
  get maxPacketBytes (): number { return this.core.maxInboundPacketBytes }
  get clientCount (): number { return this.core.sessions.connectedCount }
  get sessionCount (): number { return this.core.sessions.sessionCount }
  get subscriptionCount (): number { return this.core.router.trie.size + this.core.router.trie.sharedSize }
  get retainedCount (): number { return this.core.store.retained.size }
  get stats (): Readonly<BrokerStats> { return this.core.stats }

  /** Everything $SYS publishes, as one object: counts, counters, rates, load averages, heap. */
  statsSnapshot (): BrokerStatsSnapshot { return this.sys.snapshot() }

  /** Ends every connection, frees every port and timer. Safe to call more than once. */
  close (): Promise<void> {
    this.closing ??= this.shutdown()
    return this.closing
  }

  private async shutdown (): Promise<void> {
    this.state = 'closing'
    this.sys.stop()
    await this.bridgeSet.stop()
    const listeners = this.bound
    this.bound = []
    // Servers stop accepting now; their close completes when the last socket is gone.
    const closed = Promise.all(listeners.map((listener) => listener.close()))
    for (const conn of [...this.core.connections]) conn.closeWithReason(ReasonCode.ServerShuttingDown, 'serverShutdown')
    this.core.sessions.shutdown()
    await closed
    // After the connections: wills published as they close still reach the cluster, and the
    // buckets learn that this node's clients left and that the node itself did.
    await this.clusterServices?.stop()
    await this.cluster?.stop()
    await this.core.store.close()
    this.state = 'closed'
    this.core.logger.notice('Broker closed.')
    this.emit('closed')
  }
}

export function createBroker (options: Partial<BrokerOptions> = {}, hooks: BrokerHooks = {}): Broker {
  return new Broker(options, hooks)
}

function toBuffer (payload: PublishRequest['payload']): Buffer {
  if (payload === undefined) return Buffer.alloc(0)
  if (typeof payload === 'string') return Buffer.from(payload, 'utf8')
  if (Buffer.isBuffer(payload)) return payload
  return Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength)
}

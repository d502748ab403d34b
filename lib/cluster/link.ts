// One node's link to the cluster over NATS: routing by interest. The node subscribes on NATS to the
// subjects of its subscribers' filters (SubjectInterest counts them), publishes every message that
// entered the broker here, and hands what other nodes publish to admission and the router. NATS's
// noEcho keeps a node's own messages from coming back to it, and what came from NATS carries the
// cluster origin, which is never forwarded again: no message crosses twice.
//
// Shared subscriptions are NATS queue subscriptions (see interest.ts) on a second connection,
// without noEcho: NATS may well choose this very node for a message published here, and noEcho
// would pass it over, leaving a group with members only here without the message.
//
// NATS unreachable: the node goes on serving its own clients, tries again every reconnectWaitMs,
// and subscribes again to everything its subscribers need once it is back. QoS 0 messages published
// meanwhile reach this node's subscribers only; QoS 1/2 ones reach them at once and are kept in the
// backlog (backlog.ts), which goes to the stream first when NATS is back, so the rest of the
// cluster gets them too and nothing this node acknowledged is lost.
import type { KV } from '@nats-io/kv'
import type { Msg, MsgHdrs, NatsConnection, Subscription as NatsSubscription } from '@nats-io/transport-node'
import type { SessionLookup } from '../context'
import type { Logger } from '../logger'
import type { QueuedEntry } from '../store/records'
import type { SessionJournal } from '../store/store'
import type { Message, Origin } from '../types'
import { ClusterBacklog, DEFAULT_BACKLOG_BYTES, DEFAULT_BACKLOG_MESSAGES } from './backlog'
import { ensureBuckets } from './buckets'
import { StreamConsumers } from './consumers'
import { SESSION_BUCKET, type SessionAccess, SessionConsumers, type SessionEvents } from './session-consumers'
import { type SubjectEntry, SubjectInterest, type SubjectSink } from './interest'
import { describeConnectFailure, natsSecurityOptions } from './nats-auth'
import { type ClusterOptions, type ClusterState, clusterNodeId, DEFAULT_REPLICAS } from './options'
import { ensureStream, isInternalSubject, loadJetStream, RESERVED_PREFIX, STREAM_INBOX_PREFIX } from './stream'
import { StreamPublisher } from './stream-publisher'
import { topicToSubject } from './subjects'
import { DELIVERED_HEADER, incomingMessage, outgoingHeaders } from './wire'

const DEFAULT_RECONNECT_WAIT_MS = 1000
/** How long stop() waits for JetStream to answer the last QoS 1/2 publishes. */
const STOP_SETTLE_MS = 2000
/** How long one attempt to reach NATS may take: listen() waits for the first one. */
const CONNECT_TIMEOUT_MS = 2000
/** How long a CONNACK waits, at most, for the cluster to say whether it keeps the client's session. */
const SESSION_LOOKUP_MS = 1000

type Nats = typeof import('@nats-io/transport-node')
let natsModule: Promise<Nats> | undefined

/** nats.js, loaded when a node first joins a cluster: a broker that runs alone never pays for it. */
async function loadNats (): Promise<Nats> {
  natsModule ??= import('@nats-io/transport-node')
  return await natsModule
}

/** The origin of every message another node (or a NATS client) published. */
export const CLUSTER_ORIGIN: Origin = Object.freeze({ kind: 'cluster', clientId: '$cluster' })


/** What a link uses of the broker it runs in. */
export interface ClusterHost extends SessionAccess {
  readonly logger: Logger
  readonly maxTopicLevels: number
  /** A message from another node enters through admission, then the router. */
  publishInbound (message: Message): void
  /** The same for a message a queue group gave to one shared subscription here. */
  publishShared (message: Message, levelsFilter: string, group: string): void
  /** A message of this node that the stream could not take: to this node's subscribers, shared groups included, as while NATS is away. */
  deliverHere (message: Message): void
  /** Tells `events` of every client's connection, disconnection, subscriptions and unsubscriptions. */
  watchSessions (events: SessionEvents): void
  /** Where the backlog is journaled: the broker's store. */
  readonly journal: SessionJournal
  /** What the store held in the backlog at open, given once (after the store opened); undefined when nothing. */
  takeStoredBacklog (): QueuedEntry[] | undefined
}

/** Told when the link's connection comes up (first join, and return after an outage) and when it is lost. */
export interface LinkListener {
  linkUp (nc: NatsConnection): void
  linkDown (): void
  /** The backlog's counts changed (at most once a second). */
  backlogChanged (): void
}

export class ClusterLink implements SubjectSink, SessionLookup {
  readonly nodeId: string
  readonly interest = new SubjectInterest(this)
  private readonly subscriptions = new Map<SubjectEntry, NatsSubscription>()
  private nc: NatsConnection | undefined
  /** The connection of the queue subscriptions (shared subscriptions), with echo. */
  private shares: NatsConnection | undefined
  /**
   * The connection of the QoS 1/2 stream (publishes and consumers). Its own, with inboxes under
   * `$ROOST.`, so JetStream's replies and deliveries reach neither the routing connection's
   * subscription list nor MQTT '#' subscribers anywhere (a '$' topic [MQTT-4.7.2-1]).
   */
  private streamNc: NatsConnection | undefined
  private nats: Nats | undefined
  private retryTimer: NodeJS.Timeout | undefined
  /** The attempt to connect under way, so stop() can wait for it to end. */
  private attempting: Promise<void> | undefined
  private stopped = true
  private linkState: ClusterState = 'stopped'
  /** Messages that could not leave this node (no connection, or no subject for their topic). */
  notForwarded = 0
  /** QoS 1/2 onto the stream; undefined while there is no JetStream (then they go on plain subjects). */
  private publisher: StreamPublisher | undefined
  private readonly consumers: StreamConsumers
  /** The consumers of persistent sessions, their queues across the cluster. */
  private readonly sessions: SessionConsumers
  /** QoS 1/2 messages acknowledged here that the stream does not hold yet; made at the first start, after the store opened. */
  private backlogQueue: ClusterBacklog | undefined
  /** QoS 1/2 publishes to the stream not answered yet (stored, or given up and kept). */
  private streamPublishes = 0
  /** Ends the wait of messages that came after NATS went away while publishes were still under way. */
  private streamPublishesSettled: (() => void) | undefined

  private readonly listeners: LinkListener[] = []

  constructor (private readonly options: ClusterOptions, private readonly host: ClusterHost) {
    this.nodeId = clusterNodeId(options)
    this.consumers = new StreamConsumers({
      nodeId: this.nodeId,
      logger: host.logger,
      get maxTopicLevels () { return host.maxTopicLevels },
      deliverHere: (message) => { host.publishInbound(message) },
      deliverShared: (message, levelsFilter, group) => { host.publishShared(message, levelsFilter, group) }
    })
    this.sessions = new SessionConsumers(host)
    host.watchSessions(this.sessions)
  }

  get state (): ClusterState { return this.linkState }

  /** The backlog's counts: messages and bytes kept for the stream, and those not kept because it was full. */
  get backlog (): { messages: number, bytes: number, dropped: number } {
    const backlog = this.backlogQueue
    return { messages: backlog?.messages ?? 0, bytes: backlog?.bytes ?? 0, dropped: backlog?.dropped ?? 0 }
  }

  addListener (listener: LinkListener): void {
    this.listeners.push(listener)
  }

  /** Connects (resolves after the first attempt, whatever its outcome; later ones run on their own). */
  async start (): Promise<void> {
    if (!this.stopped) return
    this.stopped = false
    this.linkState = 'connecting'
    this.backlogQueue ??= new ClusterBacklog({
      logger: this.host.logger,
      journal: this.host.journal,
      stored: this.host.takeStoredBacklog(),
      maxMessages: this.options.backlogMessages ?? DEFAULT_BACKLOG_MESSAGES,
      maxBytes: this.options.backlogBytes ?? DEFAULT_BACKLOG_BYTES,
      changed: () => { for (const listener of this.listeners) listener.backlogChanged() },
      stream: () => {
        const publisher = this.publisher
        if (publisher === undefined || this.linkState !== 'connected') return undefined
        return async (message) => await this.publishKept(publisher, message)
      },
      retryWaitMs: this.retryWaitMs
    })
    await this.tryNow()
  }

  /** Sends what is pending, closes the connection and every timer. */
  async stop (): Promise<void> {
    this.stopped = true
    this.linkState = 'stopped'
    clearTimeout(this.retryTimer)
    this.retryTimer = undefined
    this.backlogQueue?.stop()
    await this.attempting
    await this.consumers.stop()
    await this.sessions.stop()
    // Wills published as the connections closed are on their way to the stream: given time to land.
    await this.publisher?.settled(STOP_SETTLE_MS)
    this.publisher?.close()
    this.publisher = undefined
    const connections = [this.nc, this.shares, this.streamNc]
    this.nc = undefined
    this.shares = undefined
    this.streamNc = undefined
    this.subscriptions.clear()
    for (const nc of connections) if (nc !== undefined) await nc.close()
  }

  /** Resolves once NATS has every subscription and message sent so far (one round trip); at once when not connected. */
  async sync (): Promise<void> {
    if (this.nc === undefined || this.shares === undefined || this.streamNc === undefined || this.linkState !== 'connected') return
    await Promise.all([flushed(this.nc), flushed(this.shares), flushed(this.streamNc), this.consumers.sync(), this.sessions.sync()])
  }

  /**
   * Sends a message that entered the broker on this node to the nodes interested in it; false
   * when it stays here (no connection, no subject for its topic), the promise of its storing for
   * a QoS 1/2 message on the stream (see MessageForwarder). While NATS is away nothing is
   * handed to nats.js's reconnect buffer: the node's own subscribers, shared groups included, get
   * it, and a QoS 1/2 message is kept in the backlog for the stream (backlog.ts); while the backlog
   * is being sent, a QoS 1/2 message waits behind it.
   */
  forward (message: Message): boolean | Promise<void> {
    const subject = topicToSubject(message.topic)
    if (subject === undefined || isInternalSubject(subject)) {
      this.notForwarded++
      return false
    }
    const nc = this.linkState === 'connected' ? this.nc : undefined
    const publisher = nc === undefined ? undefined : this.publisher
    // A connected node without JetStream sends QoS 1/2 on plain subjects: no backlog then.
    if (message.qos !== 0 && (nc === undefined || publisher !== undefined)) {
      // NATS went away under publishes still waiting for JetStream: they may yet be kept, so the
      // message waits for them, to be kept after them, in order [MQTT-4.6.0-2].
      if (nc === undefined && this.streamPublishes > 0) this.backlogQueue?.holdUntil(this.publishesSettled)
      const place = this.backlogQueue?.place(message, publisher !== undefined) ?? 'kept'
      if (place === 'wait') return this.behindBacklog(message)
      if (place === 'kept' || publisher === undefined) {
        this.notForwarded++
        return false
      }
      return this.toStream(message, subject, publisher)
    }
    if (nc === undefined) {
      this.notForwarded++
      return false
    }
    const headers = outgoingHeaders(message, (this.nats as Nats).headers)
    try {
      if (headers === undefined) nc.publish(subject, message.payload)
      else nc.publish(subject, message.payload, { headers })
      return true
    } catch (error) {
      // A connection closing under us: the message stays on this node.
      this.notForwarded++
      this.host.logger.debug(`Cluster: could not forward '${message.topic}': ${(error as Error).message}.`)
      return false
    }
  }

  /** Whether the cluster keeps a session for `clientId`, asked before its CONNACK; undefined (logged) while NATS is away or slow. */
  async heldInCluster (clientId: string): Promise<boolean | undefined> {
    if (this.linkState !== 'connected') {
      this.host.logger.notice(`Cluster: NATS is out of reach; the CONNACK of ${clientId} says only what this node knows of its session.`)
      return undefined
    }
    return await this.sessions.held(clientId, SESSION_LOOKUP_MS)
  }

  /** A QoS 1/2 message onto the stream; one the stream did not take goes to this node's subscribers and the backlog. */
  private async toStream (message: Message, subject: string, publisher: StreamPublisher): Promise<void> {
    const headers = outgoingHeaders(message, (this.nats as Nats).headers, true) as MsgHdrs
    this.streamPublishes++
    if (!await publisher.publish(subject, message.payload, headers)) {
      this.host.deliverHere(message)
      this.backlogQueue?.keep(message)
      this.backlogQueue?.sendLater()
    }
    if (--this.streamPublishes === 0) this.streamPublishesSettled?.()
  }

  /** Resolves once no publish to the stream is under way (see forward()). */
  private readonly publishesSettled = async (): Promise<void> => {
    await new Promise<void>((resolve) => {
      this.streamPublishesSettled = () => {
        this.streamPublishesSettled = undefined
        resolve()
      }
    })
  }

  /** A QoS 1/2 message that came while the backlog was being sent: forwarded after it, in arrival order. */
  private async behindBacklog (message: Message): Promise<void> {
    await this.backlogQueue?.idle()
    const forwarded = this.forward(message)
    if (typeof forwarded === 'object') await forwarded
    // Kept again (the backlog did not go in full, or NATS went away): this node's subscribers get it now.
    else if (!forwarded) this.host.deliverHere(message)
  }

  /** A kept message onto the stream, marked as delivered on this node already. */
  private async publishKept (publisher: StreamPublisher, message: Message): Promise<boolean> {
    const subject = topicToSubject(message.topic)
    // Never kept without a subject (forward()); a store edited by hand might hold one: it stays here.
    if (subject === undefined) return true
    const headers = outgoingHeaders(message, (this.nats as Nats).headers, true) as MsgHdrs
    headers.set(DELIVERED_HEADER, this.nodeId)
    return await publisher.publish(subject, message.payload, headers)
  }

  open (entry: SubjectEntry): void {
    this.subscribeOnNats(entry)
    this.consumers.open(entry)
  }

  close (entry: SubjectEntry): void {
    this.consumers.close(entry)
    const subscription = this.subscriptions.get(entry)
    if (subscription === undefined) return
    this.subscriptions.delete(entry)
    subscription.unsubscribe()
  }

  private readonly receive = (error: Error | null, msg: Msg): void => {
    if (error !== null) {
      this.host.logger.warning(`Cluster: NATS subscription failed: ${error.message}.`)
      return
    }
    // A '#' subscription ('>' on NATS) sees the stream's traffic too: that comes through the consumers.
    if (msg.subject.startsWith(RESERVED_PREFIX)) return
    const message = this.incoming(msg)
    if (message !== undefined) this.host.publishInbound(message)
  }

  private incoming (msg: Msg): Message | undefined {
    // NATS request replies and JetStream's and the key-value buckets' own subjects are plumbing,
    // not MQTT messages, though a subscription to '>' (an MQTT '#') sees them.
    if (isInternalSubject(msg.subject)) return undefined
    const message = incomingMessage(msg, CLUSTER_ORIGIN, this.host.maxTopicLevels)
    if (typeof message !== 'string') return message
    this.host.logger.warning(`Cluster: dropped a message from NATS: ${message}.`)
    return undefined
  }

  /** Subscribes on the connection the entry belongs to, once that connection is up. */
  private subscribeOnNats (entry: SubjectEntry): void {
    const share = entry.share
    const nc = share === undefined ? this.nc : this.shares
    if (nc === undefined || this.subscriptions.has(entry)) return
    try {
      const subscription = share === undefined
        ? nc.subscribe(entry.subject, { callback: this.receive })
        : nc.subscribe(entry.subject, {
          queue: share.queue,
          callback: (error, msg) => {
            if (error !== null) return
            const message = this.incoming(msg)
            if (message !== undefined) this.host.publishShared(message, share.levelsFilter, share.group)
          }
        })
      this.subscriptions.set(entry, subscription)
    } catch (error) {
      this.host.logger.warning(`Cluster: cannot subscribe to NATS subject '${entry.subject}': ${(error as Error).message}.`)
    }
  }

  private async tryNow (): Promise<void> {
    this.attempting = this.attempt()
    await this.attempting
    this.attempting = undefined
  }

  private async attempt (): Promise<void> {
    const servers = this.options.servers
    let connections: NatsConnection[]
    try {
      const nats = this.nats ??= await loadNats()
      // After the first connection nats.js itself reconnects, without end, and keeps the subscriptions.
      const settings = { servers, timeout: CONNECT_TIMEOUT_MS, maxReconnectAttempts: -1, reconnectTimeWait: this.retryWaitMs, ...natsSecurityOptions(this.options, nats) }
      connections = await connectAll([
        async () => await nats.connect({ ...settings, name: `roost ${this.nodeId}`, noEcho: true }),
        async () => await nats.connect({ ...settings, name: `roost ${this.nodeId} shares` }),
        async () => await nats.connect({ ...settings, name: `roost ${this.nodeId} stream`, noEcho: true, inboxPrefix: STREAM_INBOX_PREFIX })
      ])
    } catch (error) {
      if (this.stopped) return
      if (this.linkState !== 'disconnected') this.host.logger.warning(`Cluster: cannot reach NATS at ${servers.join(', ')}: ${describeConnectFailure(error)}; serving this node's clients alone meanwhile.`)
      this.linkState = 'disconnected'
      this.retryTimer = setTimeout(() => { void this.tryNow() }, this.retryWaitMs)
      return
    }
    if (this.stopped) {
      await Promise.all(connections.map(async (connection) => { await connection.close() }))
      return
    }
    const [nc, shares, streamNc] = connections as [NatsConnection, NatsConnection, NatsConnection]
    this.nc = nc
    this.shares = shares
    this.streamNc = streamNc
    this.linkState = 'connected'
    for (const entry of this.interest.entries()) this.subscribeOnNats(entry)
    for (const listener of this.listeners) listener.linkUp(nc)
    void this.watch(nc)
    await this.attachStream(streamNc)
    // Said once QoS 1/2 go through the stream too: what a node acknowledges from then on is stored.
    this.host.logger.notice(`Cluster: node ${this.nodeId} connected to NATS at ${nc.getServer()}.`)
  }

  /** QoS 1/2 through JetStream; without it (a nats-server without -js) they go on plain subjects, at most once. */
  private async attachStream (nc: NatsConnection): Promise<void> {
    try {
      const { jetstream, jetstreamManager } = await loadJetStream()
      const jsm = await jetstreamManager(nc)
      await ensureStream(jsm, this.replicas, this.host.logger)
      if (this.streamNc !== nc) return
      const js = jetstream(nc)
      const [kv] = await ensureBuckets(nc, [SESSION_BUCKET], this.replicas, this.host.logger) as [KV]
      if (this.streamNc !== nc) return
      this.publisher = new StreamPublisher(nc, this.nodeId, this.host.logger)
      this.consumers.attach(js, jsm, this.interest.entries())
      this.sessions.attach(js, jsm, kv)
      this.backlogQueue?.send()
    } catch (error) {
      this.host.logger.warning(`Cluster: no JetStream at ${nc.getServer()} (${(error as Error).message}); QoS 1 and 2 messages cross the cluster at most once.`)
    }
  }

  /** Follows the connection's state for the log until it closes. */
  private async watch (nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (this.nc !== nc) break
      if (status.type === 'disconnect') {
        this.linkState = 'disconnected'
        this.host.logger.warning(`Cluster: lost NATS at ${status.server}; serving this node's clients alone until it is back.`)
        for (const listener of this.listeners) listener.linkDown()
      } else if (status.type === 'reconnect') {
        this.linkState = 'connected'
        this.host.logger.notice(`Cluster: node ${this.nodeId} reconnected to NATS at ${status.server}.`)
        for (const listener of this.listeners) listener.linkUp(nc)
        this.backlogQueue?.send()
      }
    }
  }

  private get retryWaitMs (): number { return this.options.reconnectWaitMs ?? DEFAULT_RECONNECT_WAIT_MS }

  private get replicas (): number { return this.options.replicas ?? DEFAULT_REPLICAS }
}

/**
 * One round trip on `nc`. The three connections come back from an outage one after the other: a
 * flush asked of one still reconnecting is refused when its handshake resets it, and asked again.
 */
async function flushed (nc: NatsConnection): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await nc.flush()
      return
    } catch (error) {
      if (attempt === 5 || nc.isClosed()) throw error
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
}

/** Opens every connection or none: those made before one that fails are closed again. */
async function connectAll (openers: Array<() => Promise<NatsConnection>>): Promise<NatsConnection[]> {
  const opened: NatsConnection[] = []
  try {
    for (const open of openers) opened.push(await open())
    return opened
  } catch (error) {
    await Promise.all(opened.map(async (connection) => { await connection.close() }))
    throw error
  }
}

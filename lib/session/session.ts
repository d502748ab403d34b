// A client's session: its subscriptions, the QoS 1/2 messages in flight to it, the queue behind
// that window, and the QoS 2 packet ids it has sent us and not yet released. A session outlives
// its connection when the client asked for a persistent one (clean session 0); then each change
// is also told to the store's journal, so a durable store can give the session back.
import { firstFreePacketId, followingPacketId } from '../codec/packet-id'
import type { DeliveryGate } from '../auth/delivery'
import type { InflightEntry, QueuedEntry, StoredSession, StoredWill } from '../store/records'
import type { SessionJournal } from '../store/store'
import type { ClientInfo, Message, QoS } from '../types'
import type { Subscriber, Subscription } from '../topics/trie'
import { Fifo } from './queue'

/** What a session needs from the connection it is attached to. */
export interface DeliveryChannel {
  /** Sends a PUBLISH; false when this client cannot take it (over its Maximum Packet Size). */
  sendPublish (message: Message, qos: QoS, retain: boolean, dup: boolean, packetId: number, subscriptionIds?: number[]): boolean
  sendPubrel (packetId: number): void
  /** False while the socket holds more unsent bytes than the slow-consumer limit. */
  readonly writable: boolean
  /** The client's Receive Maximum: QoS 1/2 messages it accepts unacknowledged (MQTT 5.0, 3.1.2.11.3). */
  readonly receiveMaximum: number
  /** Who the client is: read access is asked for this identity, online and offline. */
  readonly info?: ClientInfo
}

/** Limits and counters a session reports into; one object shared by every session. */
export interface SessionLimits {
  maxInflightMessages: number
  /** Payload bytes in flight after which the next QoS 1/2 message waits (0: no limit). */
  maxInflightBytes: number
  maxQueuedMessages: number
  maxQueuedBytes: number
  queueQos0Messages: boolean
  /** A message not delivered; `why` is set on the first drop of a run and empty for the rest. */
  onDrop (session: Session, message: Message, why: string): void
  /** A run of drops is over (the client reads again, its queue emptied, it went away): how many there were. */
  onDropsEnded (session: Session, why: string, count: number): void
  /** A queued message whose Message Expiry Interval ran out before it could be sent. */
  onExpired (session: Session, message: Message): void
  /** Read access (authorizeDelivery), remembered per topic; undefined when no authorizer has read rules. */
  deliveryGate?: DeliveryGate
}

/** A will waiting out its delay, with the timer that publishes it. */
export interface PendingWill extends StoredWill {
  timer: NodeJS.Timeout
}

/** Why messages are dropped, as the log says it. */
const SLOW_CONSUMER = 'slow consumer'
const QUEUE_FULL = 'queue full'

/** Session Expiry Interval meaning "never" (MQTT 5.0, 3.1.2.11.2). */
export const SESSION_NEVER_EXPIRES = 0xffffffff

export class Session implements Subscriber {
  matchGeneration = 0
  matchQos: QoS = 0
  matchRetain = false
  matchIds: number[] | undefined = undefined
  /** The identity it last connected with (set on attach); read access is asked for it, online and offline. */
  client: ClientInfo | undefined = undefined
  deliveryGeneration = 0
  deliveryAnswers: Map<string, boolean> | undefined = undefined
  /** Filter (as sent, `$share/...` included) → subscription. */
  readonly subscriptions = new Map<string, Subscription>()
  // The structures below are made when first needed: most clients never have a QoS 1/2 message
  // in flight or queued, and a broker with many idle clients pays for every empty Map and Set.
  /** QoS 1/2 messages sent and not yet acknowledged, by packet id. */
  private inflight: Map<number, InflightEntry> | undefined
  private receivedQos2: Set<number> | undefined
  /** Messages waiting behind the inflight window. */
  private queue: Fifo<QueuedEntry> | undefined
  private queuedBytes = 0
  /** Payload bytes of the QoS 1/2 messages in `inflight`, for max_inflight_bytes. */
  private inflightBytes = 0
  private nextPacketId = 1
  /** QoS 0 messages dropped since this client's socket last had room. */
  private slowDrops = 0
  /** Messages dropped since the queue was last found full. */
  private queueFullDrops = 0
  channel: DeliveryChannel | null = null
  /** Where changes are recorded while the session outlives its connection; undefined for a clean session. */
  journal: SessionJournal | undefined
  /** When the session went offline (ms since epoch), for persistent_client_expiration. */
  offlineSince = 0
  /**
   * Seconds the session outlives its connection: 0 ends it with the connection (clean session,
   * MQTT 3.1.1 [MQTT-3.1.2-6]); SESSION_NEVER_EXPIRES keeps it (clean session 0).
   */
  expiryIntervalSec: number
  /** Ends the session when its expiry interval runs out while offline. */
  expiryTimer: NodeJS.Timeout | undefined
  /** A Last Will waiting for its Will Delay Interval (MQTT 5.0, 3.1.3.2.2). */
  pendingWill: PendingWill | undefined
  /**
   * In a cluster, a persistent session whose QoS 1/2 messages come from durable consumers of its
   * own, which hold them while it is offline wherever it reconnects (lib/cluster/session-consumers.ts).
   */
  servedByCluster = false

  constructor (readonly key: string, expiryIntervalSec: number, private readonly limits: SessionLimits) {
    this.expiryIntervalSec = expiryIntervalSec
  }

  get clientId (): string { return this.key }
  /** No Local compares a message's origin with this. */
  get originKey (): string { return this.key }
  get online (): boolean { return this.channel !== null }
  get queuedCount (): number { return this.queue?.length ?? 0 }
  get inflightCount (): number { return this.inflight?.size ?? 0 }

  get queuedPayloadBytes (): number { return this.queuedBytes }

  /** QoS 2 packet ids received and not yet released by PUBREL [MQTT-4.3.3-2]. */
  get inboundQos2Count (): number { return this.receivedQos2?.size ?? 0 }

  /** Was a QoS 2 PUBLISH with this packet id received and not yet released? */
  hasInboundQos2 (packetId: number): boolean {
    return this.receivedQos2 !== undefined && this.receivedQos2.has(packetId)
  }

  /** A QoS 2 PUBLISH was received and answered with PUBREC: its id is held until PUBREL. */
  addInboundQos2 (packetId: number): void {
    this.receivedQos2 ??= new Set<number>()
    this.receivedQos2.add(packetId)
    this.journal?.inboundQos2Added(this.key, packetId)
  }

  /** PUBREL: forgets the id; false when it was not held. */
  releaseInboundQos2 (packetId: number): boolean {
    if (this.receivedQos2 === undefined || !this.receivedQos2.delete(packetId)) return false
    this.journal?.inboundQos2Removed(this.key, packetId)
    return true
  }

  /** Called by the router for every message this session's subscriptions match. */
  deliver (message: Message, qos: QoS, retain: boolean, subscriptionIds?: number[]): void {
    if (this.servedByCluster && message.origin?.nodeStream === true) return
    const channel = this.channel
    if (channel !== null) {
      if (qos === 0) {
        // One log line per run of drops, not one per message: a flood would follow the flood.
        if (!channel.writable) this.limits.onDrop(this, message, this.slowDrops++ === 0 ? SLOW_CONSUMER : '')
        else if (!channel.sendPublish(message, 0, retain, false, 0, subscriptionIds)) this.limits.onDrop(this, message, '')
        // QoS 0 has no acknowledgement: sent (or dropped) is done.
        settle(message)
        return
      }
      if (this.queuedCount === 0 && this.hasInflightRoom(channel)) {
        this.sendInflight(channel, message, qos, retain, subscriptionIds)
        return
      }
    } else if (qos === 0 && !this.limits.queueQos0Messages) {
      settle(message)
      return
    }
    this.enqueue(message, qos, retain, subscriptionIds)
  }

  /**
   * PUBACK or PUBCOMP (or a failed MQTT 5 PUBREC): the message is done and the window has room
   * for the next queued one. An acknowledgement of the wrong kind for the id changes nothing.
   */
  complete (packetId: number, by?: 'puback' | 'pubcomp'): boolean {
    const entry = this.inflight?.get(packetId)
    if (entry === undefined) return false
    // PUBACK ends only a QoS 1 delivery, PUBCOMP only a released QoS 2 one (MQTT 3.1.1, 4.3).
    if (by === 'puback' && entry.qos !== 1) return false
    if (by === 'pubcomp' && (entry.qos !== 2 || !entry.released)) return false
    settle(entry.message)
    this.forgetInflight(entry)
    this.journal?.inflightRemoved(this.key, packetId)
    this.drain()
    return true
  }

  /** PUBREC: the receiver has the QoS 2 message; release it [MQTT-4.3.3-1]. */
  released (packetId: number): boolean {
    const entry = this.inflight?.get(packetId)
    if (entry === undefined || entry.qos !== 2) return false
    entry.released = true
    this.journal?.inflightSaved(this.key, entry)
    return true
  }

  /** Attaches a connection and re-sends what was in flight, with DUP set [MQTT-4.4.0-1]. */
  attach (channel: DeliveryChannel): void {
    this.channel = channel
    this.offlineSince = 0
    // The client may come back under another username: its read access is asked again.
    this.client = channel.info
    this.deliveryAnswers = undefined
    for (const entry of this.inflight?.values() ?? []) {
      if (entry.released) channel.sendPubrel(entry.packetId)
      else channel.sendPublish(entry.message, entry.qos, entry.retain, true, entry.packetId, entry.subscriptionIds)
    }
    this.drain()
  }

  /**
   * The connection ended. What came from a holder goes back to it, in flight or queued, so that the
   * holder alone keeps it and the client's next connection, here or on another node, takes it from
   * there at once (see returnHeld()).
   */
  detach (): void {
    this.returnHeld()
    this.channel = null
    this.offlineSince = Date.now()
    this.channelDrained()
    this.endQueueFullDrops()
  }

  /** The connection has sent everything it held: a run of slow-consumer drops is over. */
  channelDrained (): void {
    if (this.slowDrops === 0) return
    this.limits.onDropsEnded(this, SLOW_CONSUMER, this.slowDrops)
    this.slowDrops = 0
  }

  private endQueueFullDrops (): void {
    if (this.queueFullDrops === 0) return
    this.limits.onDropsEnded(this, QUEUE_FULL, this.queueFullDrops)
    this.queueFullDrops = 0
  }

  /**
   * Takes back what a store kept of this session (at open): its inflight messages, re-sent with
   * DUP when its client returns [MQTT-4.4.0-1], its queue and its inbound QoS 2 ids.
   */
  restoreMessages (stored: StoredSession): void {
    for (const entry of stored.inflight) {
      this.inflight ??= new Map<number, InflightEntry>()
      this.inflight.set(entry.packetId, entry)
      this.inflightBytes += entry.message.payload.length
      this.nextPacketId = followingPacketId(entry.packetId)
    }
    for (const entry of stored.queued) {
      this.queue ??= new Fifo<QueuedEntry>()
      this.queue.push(entry)
      this.queuedBytes += entry.message.payload.length
    }
    for (const packetId of stored.inboundQos2) {
      this.receivedQos2 ??= new Set<number>()
      this.receivedQos2.add(packetId)
    }
  }

  /**
   * Gives every message that came from a holder back to it, in flight (a QoS 2 one after PUBREC
   * included) or queued: the session's next connection gets it again from the holder, under a new
   * packet id, and this copy is never re-sent from here. A client that hands a QoS 2 message to its
   * application at PUBREL (MQTT.js, paho, libmosquitto) gets it once; one that hands it over at
   * PUBLISH may see it twice (lib/cluster/session-consumers.ts).
   */
  returnHeld (): void {
    for (const entry of this.inflight?.values() ?? []) if (isHeld(entry)) this.returnInflight(entry)
    const queue = this.queue
    if (queue !== undefined) for (const entry of queue.takeWhere(isHeld)) this.returnQueued(entry)
  }

  private returnInflight (entry: InflightEntry): void {
    this.forgetInflight(entry)
    this.journal?.inflightRemoved(this.key, entry.packetId)
    entry.message.heldBy?.returned()
  }

  private returnQueued (entry: QueuedEntry): void {
    this.queuedBytes -= entry.message.payload.length
    this.journal?.dequeued(this.key, entry)
    entry.message.heldBy?.returned()
  }

  /** Forgets everything (clean session, or expiry). */
  reset (): void {
    this.returnHeld()
    this.endQueueFullDrops()
    this.inflight = undefined
    this.inflightBytes = 0
    this.receivedQos2 = undefined
    this.queue = undefined
    this.queuedBytes = 0
    this.subscriptions.clear()
  }

  /** Sends queued messages while the window has room; drops those that expired while waiting. */
  drain (): void {
    const channel = this.channel
    if (channel === null) return
    const queue = this.queue
    if (queue === undefined) return
    const now = Date.now()
    const gate = this.limits.deliveryGate
    while (queue.length > 0) {
      const next = queue.peek() as QueuedEntry
      const expired = next.message.expiresAt !== undefined && next.message.expiresAt <= now
      // Read access was granted when the message was queued; the rules may have changed since.
      const denied = !expired && gate !== undefined && !gate.allows(this, next.message.topic)
      if (!expired && !denied && next.qos > 0 && !this.hasInflightRoom(channel)) break
      queue.shift()
      this.queuedBytes -= next.message.payload.length
      this.journal?.dequeued(this.key, next)
      // [MQTT-3.3.2-5] a message whose expiry interval has passed is not delivered
      if (expired) {
        this.limits.onExpired(this, next.message)
        settle(next.message)
      } else if (denied) {
        settle(next.message)
      } else if (next.qos === 0) {
        channel.sendPublish(next.message, 0, next.retain, false, 0, next.subscriptionIds)
        settle(next.message)
      } else {
        this.sendInflight(channel, next.message, next.qos, next.retain, next.subscriptionIds)
      }
    }
    if (queue.length === 0) this.endQueueFullDrops()
  }

  private hasInflightRoom (channel: DeliveryChannel): boolean {
    // Only 65535 packet ids exist [MQTT-2.3.1-2]: with no configured limit that is the window.
    const size = this.inflightCount
    if (size >= 65535) return false
    const { maxInflightMessages, maxInflightBytes } = this.limits
    // As Mosquitto counts max_inflight_bytes: payload bytes, and a message may go while fewer
    // than the limit are in flight, so one larger than the limit still goes on its own.
    if (maxInflightBytes > 0 && this.inflightBytes >= maxInflightBytes) return false
    // [MQTT-3.3.4-7] never more unacknowledged QoS 1/2 messages than the client's Receive Maximum
    return size < channel.receiveMaximum && (maxInflightMessages === 0 || size < maxInflightMessages)
  }

  private sendInflight (channel: DeliveryChannel, message: Message, qos: QoS, retain: boolean, subscriptionIds: number[] | undefined): void {
    const packetId = this.allocatePacketId()
    if (packetId === 0) {
      this.enqueue(message, qos, retain, subscriptionIds)
      return
    }
    const entry: InflightEntry = { message, qos, retain, packetId, released: false, subscriptionIds }
    this.inflight ??= new Map<number, InflightEntry>()
    this.inflight.set(packetId, entry)
    this.inflightBytes += message.payload.length
    if (!channel.sendPublish(message, qos, retain, false, packetId, subscriptionIds)) {
      // Too large for this client [MQTT-3.1.2-25]: discarded as if delivered.
      this.forgetInflight(entry)
      this.limits.onDrop(this, message, '')
      settle(message)
      return
    }
    this.journal?.inflightSaved(this.key, entry)
  }

  private forgetInflight (entry: InflightEntry): void {
    this.inflight?.delete(entry.packetId)
    this.inflightBytes -= entry.message.payload.length
  }

  private enqueue (message: Message, qos: QoS, retain: boolean, subscriptionIds: number[] | undefined): void {
    const { maxQueuedMessages, maxQueuedBytes } = this.limits
    const size = message.payload.length
    const queue = this.queue ??= new Fifo<QueuedEntry>()
    if ((maxQueuedMessages > 0 && queue.length >= maxQueuedMessages) ||
      (maxQueuedBytes > 0 && this.queuedBytes + size > maxQueuedBytes)) {
      this.limits.onDrop(this, message, this.queueFullDrops++ === 0 ? QUEUE_FULL : '')
      // Dropped as on a broker alone (Mosquitto drops it too): the holder is not asked to keep it.
      settle(message)
      return
    }
    const entry: QueuedEntry = { message, qos, retain, subscriptionIds }
    queue.push(entry)
    this.queuedBytes += size
    this.journal?.queued(this.key, entry)
  }

  /** A packet id not in use by this session's outgoing messages [MQTT-2.3.1-2], or 0 if all are. */
  private allocatePacketId (): number {
    const inflight = this.inflight
    const id = inflight === undefined ? this.nextPacketId : firstFreePacketId(this.nextPacketId, inflight)
    if (id !== 0) this.nextPacketId = followingPacketId(id)
    return id
  }

}

/** A message the session is done with: delivered and completed, or dropped. Its holder, if any, lets it go. */
function settle (message: Message): void {
  message.heldBy?.settled()
}

function isHeld (entry: QueuedEntry | InflightEntry): boolean {
  return entry.message.heldBy !== undefined
}

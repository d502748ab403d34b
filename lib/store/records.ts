// What a store keeps, as plain records. The entry types are the very objects a session holds in
// its queue and inflight window, so writing them to a store allocates nothing; their messages are
// shared by reference, and a store that serializes them writes each message body once, under its id.
import type { ClientInfo, Message, QoS, SubscriptionOptions } from '../types'

/** A message waiting in a session's queue, behind the inflight window. */
export interface QueuedEntry {
  message: Message
  /** The QoS it is delivered with: the lesser of the published and the subscribed one. */
  qos: QoS
  retain: boolean
  subscriptionIds: number[] | undefined
}

/** A QoS 1/2 message sent to a client and not yet acknowledged. */
export interface InflightEntry extends QueuedEntry {
  packetId: number
  /** false: awaiting PUBACK (QoS 1) or PUBREC (QoS 2); true: PUBREL sent, awaiting PUBCOMP. */
  released: boolean
}

/** One subscription of a session; `$share/<group>/` filters included as the client sent them. */
export interface StoredSubscription {
  filter: string
  qos: QoS
  /** MQTT 5 subscription options; absent for MQTT 3.1.1 subscriptions. */
  options?: SubscriptionOptions
}

/** A Last Will: the open connection's, or one waiting out its Will Delay Interval. */
export interface StoredWill {
  /** Not admitted yet (id 0): it gets an id when published, so a store keeps it with the record. */
  message: Message
  /** The client that left it, as authorization sees it when the will is published. */
  client: ClientInfo
  /** Will Delay Interval in seconds (MQTT 5.0, 3.1.3.2.2); 0 publishes when the connection ends. */
  delaySec: number
  /** Wall-clock ms when a delayed will is due; undefined while its connection is open. */
  publishAtMs: number | undefined
}

/** A session's own fields. Times are wall-clock ms since the epoch, so they hold across restarts. */
export interface SessionRecord {
  clientId: string
  /** Session Expiry Interval in seconds; 0 ends it with its connection, 0xFFFFFFFF never. */
  expiryIntervalSec: number
  /** When its client went offline; 0 while connected. */
  offlineSinceMs: number
  /** When the session ends unless its client returns; undefined while connected or when it never expires. */
  expiresAtMs: number | undefined
  /** The identity it last connected with: read access (authorizeDelivery) is asked for it while offline. */
  client: ClientInfo | undefined
  will: StoredWill | undefined
}

/** A session as a store gives it back at open(). */
export interface StoredSession extends SessionRecord {
  subscriptions: StoredSubscription[]
  /** In queue order. */
  queued: QueuedEntry[]
  /** In the order they were sent, so a resumed session re-sends them in that order [MQTT-4.6.0-1]. */
  inflight: InflightEntry[]
  /** QoS 2 packet ids received from the client and not yet released by PUBREL [MQTT-4.3.3-2]. */
  inboundQos2: number[]
}

/** Everything a store held when it was opened. */
export interface StoredState {
  sessions: StoredSession[]
  /** The highest message id among what the store holds, so new ids never reuse one. */
  lastMessageId: number
}

// The Store seam: what the broker keeps beyond one connection — retained messages and the
// sessions that outlive their connection, with their subscriptions, queued and inflight messages,
// inbound QoS 2 packet ids, wills and deadlines — so that the memory store, an append-only disk
// store and a NATS JetStream store slot in behind one interface without the hot path changing shape.
//
// The contract between the broker and a store:
//
// - No promise on the hot path. Every call the broker makes while it serves traffic is synchronous
//   and returns nothing to wait for. The memory store does nothing with session records; a durable
//   store turns each call into a record and writes records in batches. Only open() and close()
//   are asynchronous.
// - Reads are synchronous as well: a store keeps in memory what the broker reads (the retained trie
//   behind `retained`), and the live sessions are the broker's own objects. A durable store
//   rebuilds that memory in open(); a cluster store keeps it fresh from its watches.
// - Session records are changes, made in the order they happened, keyed by client id; replaying
//   them from an empty store gives what open() returns. A session whose Session Expiry Interval is
//   0 ends with its connection [MQTT-3.1.2-6]: it is saved (its will is all a cluster peer needs)
//   and removed, and nothing else of it is ever recorded. Saving a record with interval 0 for a
//   client that had a persistent session tells the store to forget that session's other state.
// - Message ids: every message the broker admits has an id, unique among what this store holds
//   (ids continue after StoredState.lastMessageId). A message queued for many sessions is one
//   object, referenced from each session's entries: a durable store writes its body once, under
//   its id, and each entry as a reference to that id.
// - Acknowledgements: with no `commit` (the memory store) every record is as safe as this store
//   makes it when the call returns, and PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK and UNSUBACK leave
//   at once. A store that must hold them until its records are durable (persistence_sync always)
//   has `commit`: a connection holding acknowledgements asks for one at the end of the tick and
//   sends them when `done` runs (Connection.acknowledge). A store answers every commit asked for
//   while it writes with that one write and sync (group commit).
import type { RetainedStore } from '../retained/retained'
import type { InflightEntry, QueuedEntry, SessionRecord, StoredState, StoredSubscription } from './records'

/**
 * The per-session changes a store records, keyed by client id. Only sessions that outlive their
 * connection are journaled; a clean session is saved and removed, nothing more.
 */
export interface SessionJournal {
  /** A session was created, connected, disconnected, or its will or expiry changed. */
  sessionSaved (record: SessionRecord): void
  /** The session ended (clean start, expiry, Session Expiry 0): everything kept for it goes. */
  sessionRemoved (clientId: string): void
  /** A subscription was added or replaced [MQTT-3.8.4-3]. */
  subscriptionSaved (clientId: string, subscription: StoredSubscription): void
  subscriptionRemoved (clientId: string, filter: string): void
  /** A message joined the tail of the client's queue (QoS 0 too, with queue_qos0_messages: a store may leave those out). */
  queued (clientId: string, entry: QueuedEntry): void
  /** The message at the head of the client's queue left it: sent, gone in flight, or expired. */
  dequeued (clientId: string, entry: QueuedEntry): void
  /** A message went in flight under `entry.packetId`, or its state changed (PUBREC: released). */
  inflightSaved (clientId: string, entry: InflightEntry): void
  /** The delivery under this packet id is complete (PUBACK, PUBCOMP, or a failed PUBREC). */
  inflightRemoved (clientId: string, packetId: number): void
  /** A QoS 2 PUBLISH from the client was received under this packet id [MQTT-4.3.3-2]. */
  inboundQos2Added (clientId: string, packetId: number): void
  /** PUBREL released that packet id. */
  inboundQos2Removed (clientId: string, packetId: number): void
}

/** How a durable store is doing, for `$SYS/broker/store/...` and the Node-RED status. */
export interface StoreHealth {
  /** persistence_sync: always, batch or never. */
  sync: string
  directory: string
  /** Bytes of its snapshot and log files. */
  diskBytes: number
  /** When compaction last finished (ms since the epoch); 0 before the first. */
  lastCompactionMs: number
  /** The last write error while the store cannot write; undefined while it writes. */
  failure: string | undefined
}

export interface Store extends SessionJournal {
  /** The users' retained messages: `set` records a change, reads come from memory. */
  readonly retained: RetainedStore
  /**
   * Present when acknowledgements must wait for durability: calls `done` once every record made
   * before this call is durable. Absent: acknowledgements leave at once.
   */
  commit? (done: () => void): void
  /** Loads what the store holds; called once, by Broker.listen(), before any listener is bound. */
  open (): Promise<StoredState>
  /** Present on a durable store: what `$SYS/broker/store/...` shows about it. */
  health? (): StoreHealth
  /** Called once by Broker.close() after every connection has ended (also when never opened). */
  close (): Promise<void>
}

// What a bridge holds for the remote: QoS 1 and 2 messages handed to its client and not yet
// acknowledged, in flight or waiting for the link, in the order they came. Bounded by
// max_queued_messages and max_queued_bytes as a client's queue is: past either, new messages are
// dropped and counted, never the held ones.
//
// The queue outlives the bridge's client: a bridge whose options change hands it to the bridge
// that replaces it, and with a durable store it is journaled as a session of its own (keyed so no
// client id can name it), so it outlives the broker too. Entries leave the store from the head
// only, as a session's queue does: one acknowledged out of order (a QoS 2 message still at PUBREL
// before a later QoS 1 one) is marked settled and leaves when everything before it has.
// A cluster node's backlog for NATS (lib/cluster/backlog.ts) is such a queue too, under a key of its own.
import type { SessionJournal } from '../store/store'
import type { QueuedEntry, StoredState } from '../store/records'
import type { Message, QoS } from '../types'

/**
 * A bridge queue's session key in the store, before the bridge's name. U+0000 is allowed in no
 * MQTT string [MQTT-1.5.4-2], so no client id can ever name it; other holders of a queue (the
 * cluster's backlog) use a prefix of their own that starts with it too.
 */
export const BRIDGE_KEY_PREFIX = '\u0000bridge/'

/** Session Expiry of the record: the queue lives until the bridge is removed. */
const NEVER = 0xFFFFFFFF

export interface HeldMessage extends QueuedEntry {
  /** The client's tag for it: its place in the queue. */
  seq: number
  /** Acknowledged (or refused) by the remote while something before it was not yet. */
  settled: boolean
}

export class OutboundQueue {
  /** Messages held and not yet settled (what the bound counts, and the status shows). */
  messages = 0
  bytes = 0
  /** Messages refused because the queue was full, since the queue was made. */
  dropped = 0
  /** Set while dropping, so the log gets one line per overflow rather than one per message. */
  overflowing = false
  /** max_queued_messages and max_queued_bytes (0: no bound), set by the bridge that uses the queue. */
  maxMessages = 0
  maxBytes = 0
  private readonly entries = new Map<number, HeldMessage>()
  private headSeq = 0
  private nextSeq = 0
  private readonly key: string
  /** Whether the store has the session record the entries are journaled under. */
  private recorded: boolean

  /**
   * `stored`: what the store held for this bridge at open (in order), already journaled under
   * its key; undefined when it held nothing. `keyPrefix`: the holder's kind of key (a bridge's unless given).
   */
  constructor (name: string, private readonly journal: SessionJournal, stored: readonly QueuedEntry[] | undefined, keyPrefix = BRIDGE_KEY_PREFIX) {
    this.key = keyPrefix + name
    this.recorded = stored !== undefined
    if (stored === undefined) return
    for (const entry of stored) {
      this.entries.set(this.nextSeq, { message: entry.message, qos: entry.qos, retain: entry.retain, subscriptionIds: undefined, seq: this.nextSeq, settled: false })
      this.nextSeq++
      this.messages++
      this.bytes += entry.message.payload.length
    }
  }

  /** Takes a message; undefined when it does not fit (and it is counted as dropped). */
  take (message: Message, qos: QoS, retain: boolean): HeldMessage | undefined {
    const bytes = message.payload.length
    if ((this.maxMessages > 0 && this.messages >= this.maxMessages) || (this.maxBytes > 0 && this.bytes + bytes > this.maxBytes)) {
      this.dropped++
      return undefined
    }
    if (!this.recorded) {
      this.journal.sessionSaved({ clientId: this.key, expiryIntervalSec: NEVER, offlineSinceMs: 0, expiresAtMs: undefined, client: undefined, will: undefined })
      this.recorded = true
    }
    const held: HeldMessage = { message, qos, retain, subscriptionIds: undefined, seq: this.nextSeq++, settled: false }
    this.entries.set(held.seq, held)
    this.messages++
    this.bytes += bytes
    this.journal.queued(this.key, held)
    return held
  }

  /** The message tagged `seq` left: acknowledged by the remote, refused by it, or undeliverable. */
  settle (seq: number): void {
    const held = this.entries.get(seq)
    if (held === undefined || held.settled) return
    held.settled = true
    this.messages--
    this.bytes -= held.message.payload.length
    for (let head = this.entries.get(this.headSeq); head !== undefined && head.settled; head = this.entries.get(this.headSeq)) {
      this.entries.delete(this.headSeq++)
      this.journal.dequeued(this.key, head)
    }
  }

  /** The messages not settled yet, in order: what a new client of the bridge sends first. */
  pending (): HeldMessage[] {
    const pending: HeldMessage[] = []
    for (let seq = this.headSeq; seq < this.nextSeq; seq++) {
      const held = this.entries.get(seq)
      if (held !== undefined && !held.settled) pending.push(held)
    }
    return pending
  }

  /** The bridge is gone for good: what it held is forgotten, here and in the store. */
  discard (): void {
    this.entries.clear()
    this.headSeq = this.nextSeq
    this.messages = 0
    this.bytes = 0
    if (this.recorded) this.journal.sessionRemoved(this.key)
    this.recorded = false
  }
}

/**
 * Takes the bridge queues out of what a store gave back at open, so only client sessions are
 * restored as sessions; returns each bridge's held messages by bridge name, in order.
 */
export function takeBridgeQueues (state: StoredState): Map<string, QueuedEntry[]> {
  return takeHeldQueues(state, BRIDGE_KEY_PREFIX)
}

/** The same for the queues kept under `keyPrefix`: their messages by name (the key after the prefix). */
export function takeHeldQueues (state: StoredState, keyPrefix: string): Map<string, QueuedEntry[]> {
  const queues = new Map<string, QueuedEntry[]>()
  if (!state.sessions.some((session) => session.clientId.startsWith(keyPrefix))) return queues
  state.sessions = state.sessions.filter((session) => {
    if (!session.clientId.startsWith(keyPrefix)) return true
    queues.set(session.clientId.slice(keyPrefix.length), session.queued)
    return false
  })
  return queues
}


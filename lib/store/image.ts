// What the disk store holds, in memory: retained messages, sessions with their subscriptions,
// queues, inflight windows and inbound QoS 2 ids, and every message body any of them refers to,
// counted. The live store keeps it current from the broker's journal calls (the entries are the
// broker's own objects, shared, not copied); recovery rebuilds it by replaying records; compaction
// writes it out as a snapshot. Replay tolerates records whose predecessors were lost to damage.
import { Fifo } from '../session/queue'
import { MemoryRetainedStore } from '../retained/retained'
import type { Message } from '../types'
import type { RecordSink } from './record-codec'
import type { InflightEntry, QueuedEntry, SessionRecord, StoredSession, StoredState, StoredSubscription } from './records'

export class SessionImage {
  readonly subscriptions = new Map<string, StoredSubscription>()
  readonly queue = new Fifo<QueuedEntry>()
  readonly inflight = new Map<number, InflightEntry>()
  readonly inboundQos2 = new Set<number>()

  constructor (public record: SessionRecord) {}
}

interface MessageSlot {
  message: Message
  refs: number
  /** The log generation its body was last written in (StoreImage.needsBody). */
  generation: number
}

/** How a replay went: records that referred to something damage had taken. */
export interface ReplayCounts {
  orphanRecords: number
}

export class StoreImage implements RecordSink {
  readonly retained = new MemoryRetainedStore()
  readonly sessions = new Map<string, SessionImage>()
  /** Message bodies written since the last snapshot began (or in it), by id, with their references. */
  readonly messages = new Map<number, MessageSlot>()
  readonly counts: ReplayCounts = { orphanRecords: 0 }
  lastMessageId = 0
  /** Counts log switches: a body written before the current log began may not be in its snapshot. */
  private generation = 0
  /**
   * The body replayed last: the record after a body is mostly the one that refers to it (a snapshot
   * writes them so), and a million retained messages then cost one map lookup each, not three.
   */
  private lastSlot: MessageSlot | undefined
  /** Ids whose references reached 0: forgotten at the next sweep unless referred to again. */
  private unreferenced: number[] = []

  /** One more reference to `message`; true when its body is not in the files yet and must be written. */
  ref (message: Message): boolean {
    const last = this.lastSlot
    const slot = last !== undefined && last.message === message ? last : this.messages.get(message.id)
    if (slot !== undefined) {
      slot.refs++
      return false
    }
    this.messages.set(message.id, { message, refs: 1, generation: this.generation })
    if (message.id > this.lastMessageId) this.lastMessageId = message.id
    return true
  }

  unref (id: number): void {
    const slot = this.messages.get(id)
    if (slot !== undefined && --slot.refs <= 0) this.unreferenced.push(id)
  }

  /**
   * Must the store write this message's body before a record that refers to it? Yes the first time,
   * and again the first time in a new log: a snapshot writes only the bodies its own records refer to
   * (lib/store/snapshot.ts), and the logs before it go.
   */
  needsBody (message: Message): boolean {
    const slot = this.messages.get(message.id)
    if (slot === undefined) return true
    if (slot.generation === this.generation) return false
    slot.generation = this.generation
    return true
  }

  /** A new log begins (compaction). */
  nextGeneration (): void {
    this.generation++
  }

  /** Nothing refers to the message with this id any more. */
  unreferencedNow (id: number): boolean {
    const slot = this.messages.get(id)
    return slot !== undefined && slot.refs <= 0
  }

  /** Forgets a body at once, one that was never written: the next reference writes it. */
  forget (id: number): void {
    this.lastSlot = undefined
    this.messages.delete(id)
  }

  /** What a session holds in flight under this packet id. */
  inflightEntry (clientId: string, packetId: number): InflightEntry | undefined {
    return this.sessions.get(clientId)?.inflight.get(packetId)
  }

  /** Forgets bodies nothing refers to any more; the next reference writes them again. */
  sweep (): void {
    const ids = this.unreferenced
    if (ids.length === 0) return
    this.unreferenced = []
    this.lastSlot = undefined
    for (const id of ids) {
      const slot = this.messages.get(id)
      if (slot !== undefined && slot.refs <= 0) this.messages.delete(id)
    }
  }

  /** After a replay: forgets every body nothing refers to, whatever records were lost. */
  sweepAll (): void {
    this.lastSlot = undefined
    this.unreferenced = []
    for (const [id, slot] of this.messages) if (slot.refs <= 0) this.messages.delete(id)
  }

  // RecordSink: the same changes, whether from the broker or from a file.

  messageBody (message: Message): void {
    if (message.id > this.lastMessageId) this.lastMessageId = message.id
    let slot = this.messages.get(message.id)
    if (slot === undefined) this.messages.set(message.id, slot = { message, refs: 0, generation: this.generation })
    this.lastSlot = slot
  }

  messageById (id: number): Message | undefined {
    const last = this.lastSlot
    const message = last !== undefined && last.message.id === id ? last.message : this.messages.get(id)?.message
    if (message === undefined) this.counts.orphanRecords++
    return message
  }

  retainedSet (message: Message): void {
    this.ref(message)
    const previous = this.retained.replace(message)
    if (previous !== undefined) this.unref(previous.id)
  }

  retainedRemoved (topic: string): void {
    const previous = this.retained.replace({ id: 0, topic, payload: EMPTY, qos: 0, retain: true })
    if (previous !== undefined) this.unref(previous.id)
  }

  sessionSaved (record: SessionRecord): void {
    const kept = this.sessions.get(record.clientId)
    // Interval 0 for a session that was persistent: its other state is forgotten (lib/store/store.ts).
    if (kept === undefined || record.expiryIntervalSec === 0) {
      if (kept !== undefined) this.release(kept)
      this.sessions.set(record.clientId, new SessionImage(record))
    } else {
      kept.record = record
    }
  }

  sessionRemoved (clientId: string): void {
    const kept = this.sessions.get(clientId)
    if (kept === undefined) return
    this.release(kept)
    this.sessions.delete(clientId)
  }

  subscriptionSaved (clientId: string, subscription: StoredSubscription): void {
    this.session(clientId)?.subscriptions.set(subscription.filter, subscription)
  }

  subscriptionRemoved (clientId: string, filter: string): void {
    this.session(clientId)?.subscriptions.delete(filter)
  }

  queued (clientId: string, entry: QueuedEntry): void {
    const kept = this.session(clientId)
    if (kept === undefined) return
    this.ref(entry.message)
    kept.queue.push(entry)
  }

  dequeued (clientId: string, messageId: number): void {
    const queue = this.session(clientId)?.queue
    if (queue === undefined) return
    // The broker always takes the head; after damage the head may be a record that was lost.
    if (queue.peek()?.message.id === messageId) {
      queue.shift()
      this.unref(messageId)
      return
    }
    this.counts.orphanRecords++
    const rest: QueuedEntry[] = []
    let found = false
    for (let entry = queue.shift(); entry !== undefined; entry = queue.shift()) {
      if (!found && entry.message.id === messageId) found = true
      else rest.push(entry)
    }
    for (const entry of rest) queue.push(entry)
    if (found) this.unref(messageId)
  }

  inflightSaved (clientId: string, entry: InflightEntry): void {
    const kept = this.session(clientId)
    if (kept === undefined) return
    const previous = kept.inflight.get(entry.packetId)
    if (previous === entry) return
    this.ref(entry.message)
    kept.inflight.set(entry.packetId, entry)
    if (previous !== undefined) this.unref(previous.message.id)
  }

  inflightRemoved (clientId: string, packetId: number): void {
    const kept = this.session(clientId)
    const entry = kept?.inflight.get(packetId)
    if (kept === undefined || entry === undefined) return
    kept.inflight.delete(packetId)
    this.unref(entry.message.id)
  }

  inboundQos2Added (clientId: string, packetId: number): void {
    this.session(clientId)?.inboundQos2.add(packetId)
  }

  inboundQos2Removed (clientId: string, packetId: number): void {
    this.session(clientId)?.inboundQos2.delete(packetId)
  }

  /** What the broker takes back at open(). */
  state (): StoredState {
    const sessions: StoredSession[] = []
    for (const kept of this.sessions.values()) {
      sessions.push({
        ...kept.record,
        subscriptions: [...kept.subscriptions.values()],
        queued: [...kept.queue],
        inflight: [...kept.inflight.values()],
        inboundQos2: [...kept.inboundQos2]
      })
    }
    return { sessions, lastMessageId: this.lastMessageId }
  }

  private session (clientId: string): SessionImage | undefined {
    const kept = this.sessions.get(clientId)
    if (kept === undefined) this.counts.orphanRecords++
    return kept
  }

  private release (kept: SessionImage): void {
    for (const entry of kept.queue) this.unref(entry.message.id)
    for (const entry of kept.inflight.values()) this.unref(entry.message.id)
  }
}

const EMPTY = Buffer.alloc(0)

// A store that keeps its records the way a durable one does: message bodies once, by id (copied,
// as a disk would), session entries as references to those ids, deadlines in wall-clock time.
// open() rebuilds what a restarted broker gets back, one message object per id. Every record is
// checked against the journal contract (lib/store/store.ts); a break is kept in `problems`.
// `snapshot()` is a second store with the records written so far: the disk after a crash.
import { MemoryRetainedStore } from '../../lib/retained/retained'
import type { InflightEntry, QueuedEntry, SessionRecord, StoredSession, StoredState, StoredSubscription } from '../../lib/store/records'
import type { Store } from '../../lib/store/store'
import type { Message } from '../../lib/types'

interface EntryRef { messageId: number, qos: QueuedEntry['qos'], retain: boolean, subscriptionIds: number[] | undefined }
interface InflightRef extends EntryRef { packetId: number, released: boolean }

interface KeptSession {
  record: SessionRecord
  subscriptions: Map<string, StoredSubscription>
  queued: EntryRef[]
  inflight: Map<number, InflightRef>
  inboundQos2: Set<number>
}

function copyMessage (message: Message): Message {
  return { ...message, payload: Buffer.from(message.payload) }
}

export class MirrorStore implements Store {
  retained = new MemoryRetainedStore()
  /** Each call by name ("queued keeper 3"), in order. */
  readonly calls: string[] = []
  /** Breaks of the journal contract: a record for an unknown session, a dequeue that is not the head. */
  readonly problems: string[] = []
  opened = 0
  closed = 0
  private messages = new Map<number, Message>()
  private sessions = new Map<string, KeptSession>()

  sessionSaved (record: SessionRecord): void {
    this.calls.push(`sessionSaved ${record.clientId}`)
    const kept = this.sessions.get(record.clientId)
    const copy = { ...record, will: record.will === undefined ? undefined : { ...record.will, message: copyMessage(record.will.message) } }
    if (kept === undefined || record.expiryIntervalSec === 0) {
      this.sessions.set(record.clientId, { record: copy, subscriptions: new Map(), queued: [], inflight: new Map(), inboundQos2: new Set() })
    } else {
      kept.record = copy
    }
  }

  sessionRemoved (clientId: string): void {
    this.calls.push(`sessionRemoved ${clientId}`)
    this.sessions.delete(clientId)
  }

  subscriptionSaved (clientId: string, subscription: StoredSubscription): void {
    this.calls.push(`subscriptionSaved ${clientId} ${subscription.filter}`)
    const { filter, qos, options } = subscription
    this.kept(clientId)?.subscriptions.set(filter, options === undefined ? { filter, qos } : { filter, qos, options: { ...options } })
  }

  subscriptionRemoved (clientId: string, filter: string): void {
    this.calls.push(`subscriptionRemoved ${clientId} ${filter}`)
    this.kept(clientId)?.subscriptions.delete(filter)
  }

  queued (clientId: string, entry: QueuedEntry): void {
    this.calls.push(`queued ${clientId} ${entry.message.id}`)
    this.kept(clientId)?.queued.push(this.reference(entry))
  }

  dequeued (clientId: string, entry: QueuedEntry): void {
    this.calls.push(`dequeued ${clientId} ${entry.message.id}`)
    const kept = this.kept(clientId)
    const head = kept?.queued.shift()
    if (kept !== undefined && head?.messageId !== entry.message.id) this.problems.push(`dequeued ${entry.message.id} for ${clientId}, head is ${String(head?.messageId)}`)
  }

  inflightSaved (clientId: string, entry: InflightEntry): void {
    this.calls.push(`inflightSaved ${clientId} ${entry.packetId}${entry.released ? ' released' : ''}`)
    this.kept(clientId)?.inflight.set(entry.packetId, { ...this.reference(entry), packetId: entry.packetId, released: entry.released })
  }

  inflightRemoved (clientId: string, packetId: number): void {
    this.calls.push(`inflightRemoved ${clientId} ${packetId}`)
    const kept = this.kept(clientId)
    if (kept !== undefined && !kept.inflight.delete(packetId)) this.problems.push(`inflightRemoved ${packetId} for ${clientId}: not in flight`)
  }

  inboundQos2Added (clientId: string, packetId: number): void {
    this.calls.push(`inboundQos2Added ${clientId} ${packetId}`)
    this.kept(clientId)?.inboundQos2.add(packetId)
  }

  inboundQos2Removed (clientId: string, packetId: number): void {
    this.calls.push(`inboundQos2Removed ${clientId} ${packetId}`)
    this.kept(clientId)?.inboundQos2.delete(packetId)
  }

  async open (): Promise<StoredState> {
    this.opened++
    let lastMessageId = 0
    this.retained.match('#', (message) => { lastMessageId = Math.max(lastMessageId, message.id) })
    // One object per id, as a store reading its records back would make.
    const objects = new Map<number, Message>()
    const message = (id: number): Message => {
      lastMessageId = Math.max(lastMessageId, id)
      let object = objects.get(id)
      if (object === undefined) {
        object = copyMessage(this.messages.get(id) as Message)
        objects.set(id, object)
      }
      return object
    }
    const sessions: StoredSession[] = []
    for (const kept of this.sessions.values()) {
      sessions.push({
        ...kept.record,
        subscriptions: [...kept.subscriptions.values()],
        queued: kept.queued.map((ref) => ({ message: message(ref.messageId), qos: ref.qos, retain: ref.retain, subscriptionIds: ref.subscriptionIds })),
        inflight: [...kept.inflight.values()].map((ref) => ({ message: message(ref.messageId), qos: ref.qos, retain: ref.retain, subscriptionIds: ref.subscriptionIds, packetId: ref.packetId, released: ref.released })),
        inboundQos2: [...kept.inboundQos2]
      })
    }
    return { sessions, lastMessageId }
  }

  async close (): Promise<void> {
    this.closed++
  }

  /** The records as they are now, in a store of their own: what a restart after a crash finds. */
  snapshot (): MirrorStore {
    const copy = new MirrorStore()
    copy.messages = new Map(this.messages)
    for (const [clientId, kept] of this.sessions) {
      copy.sessions.set(clientId, {
        record: { ...kept.record, will: kept.record.will === undefined ? undefined : { ...kept.record.will } },
        subscriptions: new Map(kept.subscriptions),
        queued: [...kept.queued],
        inflight: new Map(kept.inflight),
        inboundQos2: new Set(kept.inboundQos2)
      })
    }
    this.retained.match('#', (message) => { copy.retained.set(message) })
    return copy
  }

  /** Moves a session's wall-clock times back, as if the broker had been down for `ms`. */
  age (clientId: string, ms: number): void {
    const record = this.sessions.get(clientId)?.record
    if (record === undefined) throw new Error(`no session ${clientId} in the store`)
    if (record.offlineSinceMs !== 0) record.offlineSinceMs -= ms
    if (record.expiresAtMs !== undefined) record.expiresAtMs -= ms
    if (record.will?.publishAtMs !== undefined) record.will.publishAtMs -= ms
  }

  /** The message ids a session's queue refers to, in order. */
  queuedIds (clientId: string): number[] {
    return this.sessions.get(clientId)?.queued.map((ref) => ref.messageId) ?? []
  }

  private kept (clientId: string): KeptSession | undefined {
    const kept = this.sessions.get(clientId)
    if (kept === undefined) this.problems.push(`record for ${clientId}, a session never saved`)
    return kept
  }

  private reference (entry: QueuedEntry): EntryRef {
    const id = entry.message.id
    if (id === 0) this.problems.push(`message on '${entry.message.topic}' has no id`)
    // The body is written once, however many sessions refer to it.
    if (!this.messages.has(id)) this.messages.set(id, copyMessage(entry.message))
    return { messageId: id, qos: entry.qos, retain: entry.retain, subscriptionIds: entry.subscriptionIds }
  }
}

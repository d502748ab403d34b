// The disk store's frequent records, held as references until their batch is written, so that a
// delivery that begins and ends within one batch costs no bytes at all: a message queued and taken
// from the queue, or sent and acknowledged (PUBACK, PUBCOMP) before the batch went out, cancels
// out, and so does the body of a message nothing refers to any more. What is written is what the
// records would have replayed to. Nothing of a batch is acknowledged before the whole batch is
// durable (lib/store/disk.ts), so leaving out changes that undo each other inside it gives a peer no
// answer the disk could not back up. Records are kept in parallel arrays: no object per record.
import type { Message } from '../types'
import type { FrameWriter } from './frame'
import { RECORD, encodeEntry, encodeKeyed, encodeKeyedNumber, encodeMessage, encodeRetainedSet } from './record-codec'
import type { InflightEntry, QueuedEntry } from './records'

/** A record left out because a later one undid it. */
const CANCELLED = 0

/** One client's records still held: queued ones in queue order, inflight ones by packet id. */
class ClientRecords {
  /** Indexes of its queued records not yet taken from the queue, oldest first from `head`. */
  queued: number[] = []
  head = 0
  /** Packet id to the index of its inflightSaved record. */
  readonly inflight = new Map<number, number>()

  constructor (readonly clientId: string) {}
}

export class PendingRecords {
  private types: number[] = []
  private keys: string[] = []
  /** The message (body), the entry (queued, inflightSaved), or null. */
  private refs: Array<Message | QueuedEntry | null> = []
  private numbers: number[] = []
  private count = 0
  /** Message ids whose body record is still here, to the record's index. */
  private readonly bodies = new Map<number, number>()
  /** Per client: its queued and inflight records still here. */
  private readonly clients = new Map<string, ClientRecords>()
  /** The client of the last call: most batches are about one or a few. */
  private lastClient: ClientRecords | undefined

  get length (): number { return this.count }

  /** A message body, the first time something in the store refers to it. */
  body (message: Message): void {
    this.bodies.set(message.id, this.add(RECORD.message, '', message, 0))
  }

  /** Refers to the message by id: its body, written or not, stays from now on. */
  retainedSet (message: Message): void {
    this.bodies.delete(message.id)
    this.add(RECORD.retainedSet, '', null, message.id)
  }

  retainedRemoved (topic: string): void { this.add(RECORD.retainedRemoved, topic, null, 0) }

  queued (clientId: string, entry: QueuedEntry): void {
    this.client(clientId).queued.push(this.add(RECORD.queued, clientId, entry, 0))
  }

  /**
   * The head of the client's queue left it. Returns true when the entry's own record was still here
   * and both are left out: the queue's head is the oldest entry queued, so it is the oldest queued
   * record still held, or it was written in an earlier batch.
   */
  dequeued (clientId: string, entry: QueuedEntry): boolean {
    const held = this.client(clientId)
    if (held.head < held.queued.length) {
      const index = held.queued[held.head] as number
      if (this.refs[index] === entry) {
        held.head++
        this.cancel(index)
        return true
      }
    }
    this.add(RECORD.dequeued, clientId, null, entry.message.id)
    return false
  }

  /**
   * `fresh`: the packet id held nothing before this entry, so removing the entry while its record is
   * here leaves nothing to remove on disk either. An entry saved again (PUBREC) keeps its one record,
   * written with the entry's state when the batch goes out.
   */
  inflightSaved (clientId: string, entry: InflightEntry, fresh: boolean): void {
    const inflight = this.client(clientId).inflight
    const index = inflight.get(entry.packetId)
    if (index !== undefined && this.refs[index] === entry) return
    inflight.set(entry.packetId, this.add(RECORD.inflightSaved, clientId, entry, fresh ? 1 : 0))
  }

  /** Returns true when the packet id's inflightSaved record was still here, with nothing before it on disk, and both are left out. */
  inflightRemoved (clientId: string, packetId: number): boolean {
    const inflight = this.client(clientId).inflight
    const index = inflight.get(packetId)
    if (index !== undefined) {
      inflight.delete(packetId)
      const fresh = this.numbers[index] === 1
      this.cancel(index)
      if (fresh) return true
    }
    this.add(RECORD.inflightRemoved, clientId, null, packetId)
    return false
  }

  /**
   * A body whose last reference was a delivery left out: true when it was never written and now never
   * will be. A body a retained record refers to is kept (retainedSet).
   */
  dropBody (message: Message): boolean {
    const index = this.bodies.get(message.id)
    if (index === undefined) return false
    this.bodies.delete(message.id)
    this.cancel(index)
    return true
  }

  keyedNumber (type: number, clientId: string, value: number): void { this.add(type, clientId, null, value) }

  /** Encodes what is held, in order, into `w`, and starts empty. */
  writeTo (w: FrameWriter): void {
    const { types, keys, refs, numbers } = this
    for (let i = 0; i < this.count; i++) {
      const type = types[i] as number
      switch (type) {
        case CANCELLED: break
        case RECORD.message: encodeMessage(w, refs[i] as Message); break
        case RECORD.retainedSet: encodeRetainedSet(w, numbers[i] as number); break
        case RECORD.retainedRemoved: encodeKeyed(w, type, keys[i] as string); break
        case RECORD.queued: encodeEntry(w, type, keys[i] as string, refs[i] as QueuedEntry, 0, false); break
        case RECORD.inflightSaved: {
          const entry = refs[i] as InflightEntry
          encodeEntry(w, type, keys[i] as string, entry, entry.packetId, entry.released)
          break
        }
        default: encodeKeyedNumber(w, type, keys[i] as string, numbers[i] as number)
      }
      // Let go of the broker's objects and strings at once.
      refs[i] = null
      keys[i] = ''
    }
    this.count = 0
    this.forgetIndexes()
    // A burst may have grown the arrays a lot: give the memory back.
    if (types.length > 65536) this.shrink()
  }

  /** Drops everything held (the store cannot write it). */
  clear (): void {
    this.count = 0
    this.forgetIndexes()
    this.shrink()
  }

  private add (type: number, key: string, ref: Message | QueuedEntry | null, value: number): number {
    const i = this.count++
    this.types[i] = type
    this.keys[i] = key
    this.refs[i] = ref
    this.numbers[i] = value
    return i
  }

  private cancel (index: number): void {
    this.types[index] = CANCELLED
    this.refs[index] = null
  }

  private client (clientId: string): ClientRecords {
    const last = this.lastClient
    if (last !== undefined && last.clientId === clientId) return last
    let held = this.clients.get(clientId)
    if (held === undefined) this.clients.set(clientId, held = new ClientRecords(clientId))
    this.lastClient = held
    return held
  }

  /** Once written, nothing held refers to a record index any more. */
  private forgetIndexes (): void {
    if (this.bodies.size > 0) this.bodies.clear()
    if (this.clients.size > 0) this.clients.clear()
    this.lastClient = undefined
  }

  private shrink (): void {
    this.types = []
    this.keys = []
    this.refs = []
    this.numbers = []
  }
}

// The disk store: every journal call becomes a small checksummed record; the frequent ones wait as
// references until their batch is written, so those that undo each other within it cost nothing
// (lib/store/pending.ts). A batch goes to the current log in one write (group commit), synced per
// persistence_sync. With `always`, PUBACK/PUBREC/PUBREL/PUBCOMP/SUBACK wait in commit() for the
// sync that covers their records: one write and one fdatasync serve every acknowledgement that
// arrived while the previous one ran. Once the log outgrows the live state, compaction freezes the
// sessions, starts a new log, and writes a snapshot in the background (lib/store/snapshot.ts).
// Pure node:fs; no promise or closure per message.
import { closeSync, fdatasync, fdatasyncSync, fsyncSync, mkdirSync, openSync, unlinkSync, writeSync } from 'node:fs'
import type { Logger } from '../logger'
import { silentLogger } from '../logger'
import type { RetainedStore } from '../retained/retained'
import type { Message } from '../types'
import { StoreFiles } from './files'
import { FrameWriter } from './frame'
import { StoreImage } from './image'
import { lockStore, StoreOpenError } from './lock'
import { PendingRecords } from './pending'
import { RECORD, encodeKeyed, encodeKeyedString, encodeSessionSaved, encodeSubscriptionSaved } from './record-codec'
import { type Recovery, recoverStore } from './recovery'
import type { InflightEntry, QueuedEntry, SessionRecord, StoredState, StoredSubscription } from './records'
import { freeze, type FrozenState, writeSnapshot } from './snapshot'
import type { Store, StoreHealth } from './store'

/** `persistence_sync`: when records reach the disk (Roost's own word). */
export type PersistenceSync = 'always' | 'batch' | 'never'

export interface DiskStoreOptions {
  /** Directory of the store's files (persistence_location); created when missing. */
  directory: string
  /** Name the files start with (persistence_file); mosquitto.db by default. */
  base?: string
  /** always: acknowledgements wait for fdatasync; batch: sync every autosaveIntervalSec; never: the OS decides. */
  sync?: PersistenceSync
  /** With `batch`: seconds between syncs (0: only at close), or changes between them with autosaveOnChanges. */
  autosaveIntervalSec?: number
  /** `autosave_on_changes`: autosaveIntervalSec counts changed records, not seconds. */
  autosaveOnChanges?: boolean
  /** Log bytes after which compaction starts; it also waits for the log to outgrow twice the last snapshot. */
  compactAfterBytes?: number
  logger?: Logger
}

/** After a write error: how long to wait before writing a fresh snapshot again. */
const RETRY_MS = 10_000
/** How long records that no acknowledgement waits for may gather before they are written. */
const RECORD_DELAY_MS = 5

/**
 * Makes a directory's entries durable: a new log file (or a renamed snapshot) must survive a power
 * cut once records in it are acknowledged, and fdatasync on the file does not cover its name.
 */
function syncDirectory (directory: string): void {
  const fd = openSync(directory, 'r')
  try { fsyncSync(fd) } finally { closeSync(fd) }
}

/** writeSync may write less than asked: goes on until every byte is out. */
function writeFully (fd: number, bytes: Buffer): void {
  let offset = 0
  while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset)
}

export class DiskStore implements Store {
  readonly retained: RetainedStore
  /** Present with persistence_sync always: acknowledgements wait for the sync of their records. */
  commit?: (done: () => void) => void
  private readonly image = new StoreImage()
  private readonly files: StoreFiles
  private readonly logger: Logger
  private readonly syncMode: PersistenceSync
  private readonly compactAfterBytes: number
  /** The frequent records of the batch being gathered, encoded into `active` when it is written. */
  private readonly pending = new PendingRecords()
  private active = new FrameWriter()
  private spare = new FrameWriter()
  private waiters: Array<() => void> = []
  private spareWaiters: Array<() => void> = []
  private fd: number | undefined
  private logSeq = 0
  private logBytes = 0
  private snapshotBytes = 0
  private writing = false
  private flushScheduled = false
  private timerArmed = false
  private compacting = false
  private compactRequested = false
  private notBeforeMs = 0
  private syncRequested = false
  private changesSinceSync = 0
  private failure: string | undefined
  /** After a write error, records are dropped until a fresh snapshot starts a consistent log. */
  private discarding = false
  private closing = false
  private lastCompactionMs = 0
  private timer: NodeJS.Timeout | undefined
  private unlock: (() => void) | undefined

  constructor (private readonly options: DiskStoreOptions) {
    this.files = new StoreFiles(options.directory, options.base ?? 'mosquitto.db')
    this.logger = options.logger ?? silentLogger
    this.syncMode = options.sync ?? 'always'
    this.compactAfterBytes = options.compactAfterBytes ?? 16 * 1024 * 1024
    this.retained = new JournaledRetained(this.image.retained, this)
    if (this.syncMode === 'always') this.commit = this.commitDurable
  }

  async open (): Promise<StoredState> {
    const started = Date.now()
    const directory = this.options.directory
    let recovery: Recovery
    try {
      mkdirSync(directory, { recursive: true })
      this.unlock = lockStore(this.files.lockPath)
      recovery = recoverStore(this.files, this.image, this.logger)
      this.logSeq = recovery.lastSeq + 1
      this.fd = openSync(this.files.logPath(this.logSeq), 'a')
      syncDirectory(directory)
    } catch (error) {
      this.unlock?.()
      this.unlock = undefined
      if (error instanceof StoreOpenError) throw error
      throw new StoreOpenError(`the store in ${directory} cannot be opened: ${(error as Error).message}`)
    }
    this.snapshotBytes = recovery.snapshotBytes
    this.logBytes = recovery.logBytes
    this.compactRequested = recovery.damaged
    const { autosaveIntervalSec = 1800, autosaveOnChanges = false } = this.options
    if (this.syncMode === 'batch' && autosaveIntervalSec > 0 && !autosaveOnChanges) {
      this.timer = setInterval(() => { this.syncRequested = true; this.schedule() }, autosaveIntervalSec * 1000)
      this.timer.unref()
    }
    const state = this.image.state()
    this.logger.notice(`Store ${directory}: ${this.image.retained.size} retained messages and ${state.sessions.length} sessions restored from ${recovery.files} files in ${Date.now() - started} ms (persistence_sync ${this.syncMode}).`)
    this.schedule()
    return state
  }

  async close (): Promise<void> {
    this.closing = true
    if (this.timer !== undefined) clearInterval(this.timer)
    // Bounded by the disk: the batch and snapshot under way finish or fail.
    while (this.writing || this.compacting) await new Promise((resolve) => setTimeout(resolve, 2))
    const fd = this.fd
    this.fd = undefined
    if (fd !== undefined) {
      try {
        this.pending.writeTo(this.active)
        if (!this.discarding && this.active.length > 0) writeSync(fd, this.active.bytes())
        if (this.syncMode !== 'never' || this.active.length > 0) fdatasyncSync(fd)
      } catch (error) {
        this.logger.error(`Store ${this.options.directory}: the last records could not be written at close: ${(error as Error).message}.`)
      }
      closeSync(fd)
    }
    this.active.reset()
    this.pending.clear()
    this.releaseWaiters(this.waiters)
    this.unlock?.()
    this.unlock = undefined
  }

  health (): StoreHealth {
    return {
      sync: this.syncMode,
      directory: this.options.directory,
      diskBytes: this.snapshotBytes + this.logBytes,
      lastCompactionMs: this.lastCompactionMs,
      failure: this.failure
    }
  }

  // The journal: encode, update the image, schedule a batch.

  /** The batch's writer for a record encoded at once: the held records before it go first, in order. */
  private inOrder (): FrameWriter {
    this.pending.writeTo(this.active)
    return this.active
  }

  sessionSaved (record: SessionRecord): void {
    encodeSessionSaved(this.inOrder(), record)
    this.image.sessionSaved(record)
    this.changed()
  }

  sessionRemoved (clientId: string): void {
    encodeKeyed(this.inOrder(), RECORD.sessionRemoved, clientId)
    this.image.sessionRemoved(clientId)
    this.changed()
  }

  subscriptionSaved (clientId: string, subscription: StoredSubscription): void {
    encodeSubscriptionSaved(this.inOrder(), clientId, subscription)
    this.image.subscriptionSaved(clientId, subscription)
    this.changed()
  }

  subscriptionRemoved (clientId: string, filter: string): void {
    encodeKeyedString(this.inOrder(), RECORD.subscriptionRemoved, clientId, filter)
    this.image.subscriptionRemoved(clientId, filter)
    this.changed()
  }

  queued (clientId: string, entry: QueuedEntry): void {
    this.body(entry.message)
    this.pending.queued(clientId, entry)
    this.image.queued(clientId, entry)
    this.changed()
  }

  dequeued (clientId: string, entry: QueuedEntry): void {
    const cancelled = this.pending.dequeued(clientId, entry)
    this.image.dequeued(clientId, entry.message.id)
    if (cancelled) this.dropBodyIfUnreferenced(entry.message)
    this.changed()
  }

  inflightSaved (clientId: string, entry: InflightEntry): void {
    this.body(entry.message)
    this.pending.inflightSaved(clientId, entry, this.image.inflightEntry(clientId, entry.packetId) === undefined)
    this.image.inflightSaved(clientId, entry)
    this.changed()
  }

  inflightRemoved (clientId: string, packetId: number): void {
    const entry = this.image.inflightEntry(clientId, packetId)
    const cancelled = this.pending.inflightRemoved(clientId, packetId)
    this.image.inflightRemoved(clientId, packetId)
    if (cancelled && entry !== undefined) this.dropBodyIfUnreferenced(entry.message)
    this.changed()
  }

  inboundQos2Added (clientId: string, packetId: number): void {
    this.pending.keyedNumber(RECORD.inboundQos2Added, clientId, packetId)
    this.image.inboundQos2Added(clientId, packetId)
    this.changed()
  }

  inboundQos2Removed (clientId: string, packetId: number): void {
    this.pending.keyedNumber(RECORD.inboundQos2Removed, clientId, packetId)
    this.image.inboundQos2Removed(clientId, packetId)
    this.changed()
  }

  /** Called by the retained wrapper: a topic's retained message was set or removed. */
  retainedChanged (message: Message): void {
    if (message.payload.length === 0) {
      if (this.image.retained.get(message.topic) === undefined) return
      this.pending.retainedRemoved(message.topic)
      this.image.retainedRemoved(message.topic)
    } else {
      this.body(message)
      this.pending.retainedSet(message)
      this.image.retainedSet(message)
    }
    this.changed()
  }

  /** Writes a message's body the first time something refers to it. */
  private body (message: Message): void {
    if (this.image.needsBody(message)) this.pending.body(message)
  }

  /** A delivery that began and ended within this batch was the last reference: its unwritten body goes too. */
  private dropBodyIfUnreferenced (message: Message): void {
    if (this.image.unreferencedNow(message.id) && this.pending.dropBody(message)) this.image.forget(message.id)
  }

  private changed (): void {
    this.changesSinceSync++
    if (!this.timerArmed && !this.flushScheduled && !this.writing) this.armTimer()
  }

  /** Records nobody waits for go out within RECORD_DELAY_MS, many to a write. */
  private armTimer (): void {
    this.timerArmed = true
    setTimeout(this.flushFromTimer, RECORD_DELAY_MS)
  }

  private readonly flushFromTimer = (): void => {
    this.timerArmed = false
    if (!this.flushScheduled) this.flushNow()
  }

  private readonly commitDurable = (done: () => void): void => {
    if (this.discarding || this.fd === undefined) {
      done()
      return
    }
    this.waiters.push(done)
    this.schedule()
  }

  private schedule (): void {
    if (this.flushScheduled || this.writing) return
    this.flushScheduled = true
    setImmediate(this.flushNow)
  }

  /** One batch: everything recorded since the last one, one write, one sync when due. */
  private readonly flushNow = (): void => {
    this.flushScheduled = false
    const fd = this.fd
    if (this.writing || fd === undefined) return
    this.pending.writeTo(this.active)
    const data = this.active
    const waiters = this.waiters
    this.active = this.spare
    this.spare = data
    this.waiters = this.spareWaiters
    this.spareWaiters = waiters
    // The snapshot holds the state as of this batch's last record; the next records go to the new log.
    const frozen = this.compactionDue() ? freeze(this.image) : undefined
    if (this.discarding) data.reset()
    const sync = !this.discarding && this.syncDue(data.length)
    if (data.length === 0 && !sync) {
      this.finishBatch(waiters, frozen)
      return
    }
    // Into the page cache at once (a short copy, cheaper than a trip through the thread pool);
    // only the sync, which waits for the disk, runs off the event loop.
    try {
      writeFully(fd, data.bytes())
    } catch (error) {
      this.batchWritten(error as Error, data, waiters, frozen)
      return
    }
    if (!sync) {
      this.batchWritten(null, data, waiters, frozen)
      return
    }
    this.writing = true
    fdatasync(fd, (syncError) => { this.batchWritten(syncError, data, waiters, frozen) })
  }

  private batchWritten (error: Error | null, data: FrameWriter, waiters: Array<() => void>, frozen: FrozenState | undefined): void {
    this.writing = false
    if (error !== null) {
      this.fail(error, false)
      frozen = undefined
    } else {
      this.logBytes += data.length
    }
    data.reset()
    this.finishBatch(waiters, frozen)
  }

  private finishBatch (waiters: Array<() => void>, frozen: FrozenState | undefined): void {
    this.releaseWaiters(waiters)
    this.image.sweep()
    if (frozen !== undefined) this.startCompaction(frozen)
    if (this.waiters.length > 0 || this.syncRequested) this.schedule()
    else if ((this.active.length > 0 || this.pending.length > 0) && !this.timerArmed) this.armTimer()
  }

  private releaseWaiters (waiters: Array<() => void>): void {
    for (let i = 0; i < waiters.length; i++) (waiters[i] as () => void)()
    waiters.length = 0
  }

  private syncDue (bytes: number): boolean {
    if (this.syncMode === 'always') return bytes > 0
    if (this.syncMode === 'never') return false
    const { autosaveIntervalSec = 1800, autosaveOnChanges = false } = this.options
    if (autosaveOnChanges && autosaveIntervalSec > 0 && this.changesSinceSync >= autosaveIntervalSec) this.syncRequested = true
    if (!this.syncRequested) return false
    this.syncRequested = false
    this.changesSinceSync = 0
    return true
  }

  private compactionDue (): boolean {
    if (this.compacting || this.closing || Date.now() < this.notBeforeMs) return false
    if (this.failure !== undefined) return this.discarding
    return this.compactRequested || this.logBytes > Math.max(this.compactAfterBytes, this.snapshotBytes * 2)
  }

  /** Starts the next log and writes the frozen state as the snapshot that precedes it. */
  private startCompaction (frozen: FrozenState): void {
    const seq = this.logSeq + 1
    let fd: number
    try {
      fd = openSync(this.files.logPath(seq), 'a')
      syncDirectory(this.options.directory)
    } catch (error) {
      this.fail(error as Error, true)
      return
    }
    if (this.fd !== undefined) closeSync(this.fd)
    this.fd = fd
    this.logSeq = seq
    this.logBytes = 0
    this.discarding = false
    this.compactRequested = false
    this.compacting = true
    writeSnapshot(frozen, this.files.snapshotTempPath(seq), this.files.snapshotPath(seq), (error, bytes) => {
      this.compacting = false
      if (error !== null) {
        this.fail(error, true)
        return
      }
      this.snapshotBytes = bytes
      this.lastCompactionMs = Date.now()
      this.removeBefore(seq)
      if (this.failure !== undefined) this.logger.notice(`Store ${this.options.directory}: writing again; the state in memory is on disk.`)
      this.failure = undefined
      this.schedule()
    })
  }

  /** Snapshots and logs folded into snapshot `seq` go; the directory entry changes are synced. */
  private removeBefore (seq: number): void {
    try {
      syncDirectory(this.options.directory)
      for (const file of this.files.list()) if (file.seq < seq) unlinkSync(file.path)
    } catch (error) {
      this.logger.warning(`Store ${this.options.directory}: old files could not be removed: ${(error as Error).message}.`)
    }
  }

  /**
   * A write, sync or snapshot failed (disk full, I/O error): said once, acknowledgements go at
   * once, and the broker keeps serving from memory; a fresh snapshot is tried every RETRY_MS.
   */
  private fail (error: Error, inSnapshot: boolean): void {
    if (this.failure === undefined) {
      this.logger.error(`Store ${this.options.directory}: ${inSnapshot ? 'snapshot' : 'log'} write failed (${error.message}); serving from memory, acknowledgements are not durable until a snapshot can be written (retried every ${RETRY_MS / 1000} s).`)
    }
    this.failure = error.message
    this.discarding = true
    this.notBeforeMs = Date.now() + RETRY_MS
    this.releaseWaiters(this.waiters)
    if (this.closing) return
    const retry = setTimeout(() => { this.schedule() }, RETRY_MS)
    retry.unref()
  }
}

/** The retained trie the broker reads, with every change journaled by the store. */
class JournaledRetained implements RetainedStore {
  constructor (private readonly memory: RetainedStore, private readonly store: DiskStore) {}

  get size (): number { return this.memory.size }
  get bytes (): number { return this.memory.bytes }

  set (message: Message): void { this.store.retainedChanged(message) }
  get (topic: string): Message | undefined { return this.memory.get(topic) }
  match (filter: string, visit: (message: Message) => void): void { this.memory.match(filter, visit) }

  clear (): void {
    const topics: string[] = []
    this.memory.match('#', (message) => { topics.push(message.topic) })
    for (const topic of topics) this.store.retainedChanged({ id: 0, topic, payload: Buffer.alloc(0), qos: 0, retain: true })
  }
}

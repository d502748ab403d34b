// Compaction's output: the store's whole state as records, written to `<seq>.snap.tmp` in chunks
// between which the broker keeps serving, synced, then renamed into place (and the directory
// synced) so a snapshot file is complete or absent.
//
// Snapshot <seq> and log <seq> together give the state: every change after the switch to log <seq>
// is in that log. Sessions are frozen at the switch (plain arrays of the objects they held then:
// their records, a queue's appends and removals, do not bear replaying twice). Retained messages are
// not copied, which with a million of them would hold the broker up for a good part of a second:
// the writer walks the live trie chunk by chunk. A topic it reaches after a change made since the
// switch holds a newer message than at the switch, or none; the log holds that change too, and
// replaying a retained record sets or removes its topic whatever the topic held, so snapshot plus
// log still end where the broker was. Message bodies go with what refers to them: a retained
// message's body before its record, a queued or inflight message's before the first entry for it.
// A body referred to from the new log is written there again (StoreImage.needsBody).
import { close, fdatasync, open, rename, write } from 'node:fs'
import type { MemoryRetainedStore } from '../retained/retained'
import type { Message } from '../types'
import { FrameWriter } from './frame'
import type { StoreImage } from './image'
import { RECORD, encodeEntry, encodeMessage, encodeRetainedSet, encodeSessionSaved, encodeSubscriptionSaved, encodeKeyedNumber } from './record-codec'
import type { InflightEntry, QueuedEntry, SessionRecord, StoredSubscription } from './records'

interface FrozenSession {
  record: SessionRecord
  subscriptions: StoredSubscription[]
  queue: QueuedEntry[]
  inflight: Array<[InflightEntry, boolean]>
  inboundQos2: number[]
}

export interface FrozenState {
  /** The live trie, walked while the snapshot is written. */
  retained: MemoryRetainedStore
  sessions: FrozenSession[]
}

/** Copies the references (not the messages) of every session's state; retained messages stay where they are. */
export function freeze (image: StoreImage): FrozenState {
  image.sweep()
  // Every record from here on goes to the new log: one that refers to an older message brings its body.
  image.nextGeneration()
  const sessions: FrozenSession[] = []
  for (const kept of image.sessions.values()) {
    sessions.push({
      record: kept.record,
      subscriptions: [...kept.subscriptions.values()],
      queue: [...kept.queue],
      // An inflight entry's released flag changes in place: keep its value as of now.
      inflight: [...kept.inflight.values()].map((entry) => [entry, entry.released]),
      inboundQos2: [...kept.inboundQos2]
    })
  }
  return { retained: image.retained, sessions }
}

/** About a quarter of a megabyte of records per write (a few ms of encoding), so the broker is never held up long. */
const CHUNK_BYTES = 256 * 1024

/** Writes a queued or inflight message's body once, before the first entry that refers to it. */
function bodyOnce (w: FrameWriter, message: Message, written: Set<number>): void {
  if (written.has(message.id)) return
  written.add(message.id)
  encodeMessage(w, message)
}

function* records (state: FrozenState, w: FrameWriter): Generator<void> {
  for (const message of state.retained.walk()) {
    encodeMessage(w, message)
    encodeRetainedSet(w, message.id)
    yield
  }
  const written = new Set<number>()
  for (const session of state.sessions) {
    const clientId = session.record.clientId
    encodeSessionSaved(w, session.record)
    for (const subscription of session.subscriptions) encodeSubscriptionSaved(w, clientId, subscription)
    for (const entry of session.queue) {
      bodyOnce(w, entry.message, written)
      encodeEntry(w, RECORD.queued, clientId, entry, 0, false)
    }
    for (const [entry, released] of session.inflight) {
      bodyOnce(w, entry.message, written)
      encodeEntry(w, RECORD.inflightSaved, clientId, entry, entry.packetId, released)
    }
    for (const packetId of session.inboundQos2) encodeKeyedNumber(w, RECORD.inboundQos2Added, clientId, packetId)
    yield
  }
}

/** Writes `state` to `tempPath`, syncs it, renames it to `finalPath`; calls `done` with the bytes written or the error. */
export function writeSnapshot (state: FrozenState, tempPath: string, finalPath: string, done: (error: Error | null, bytes: number) => void): void {
  const w = new FrameWriter(CHUNK_BYTES * 2)
  const steps = records(state, w)
  let total = 0
  open(tempPath, 'w', (openError, fd) => {
    if (openError !== null) { done(openError, 0); return }
    const fail = (error: Error): void => { close(fd, () => { done(error, 0) }) }
    const next = (): void => {
      w.reset()
      let finished = false
      while (w.length < CHUNK_BYTES) {
        if (steps.next().done === true) { finished = true; break }
      }
      writeAll(fd, w.bytes(), (writeError) => {
        if (writeError !== null) { fail(writeError); return }
        total += w.length
        if (!finished) { setImmediate(next); return }
        fdatasync(fd, (syncError) => {
          if (syncError !== null) { fail(syncError); return }
          close(fd, (closeError) => {
            if (closeError !== null) { done(closeError, 0); return }
            rename(tempPath, finalPath, (renameError) => { done(renameError, total) })
          })
        })
      })
    }
    next()
  })
}

/** fs.write may write less than asked: goes on until every byte is out. */
function writeAll (fd: number, bytes: Buffer, done: (error: Error | null) => void): void {
  if (bytes.length === 0) { done(null); return }
  write(fd, bytes, 0, bytes.length, null, (error, written) => {
    if (error !== null) done(error)
    else if (written < bytes.length) writeAll(fd, bytes.subarray(written), done)
    else done(null)
  })
}

// Compaction's output: the store's whole state as records, written to `<seq>.snap.tmp` in chunks
// between which the broker keeps serving, synced, then renamed into place (and the directory
// synced) so a snapshot file is complete or absent. The state is frozen first: plain arrays of the
// objects held at the moment the new log began, so later changes go to that log, not here.
import { close, fdatasync, open, rename, write } from 'node:fs'
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
  messages: Message[]
  retained: Message[]
  sessions: FrozenSession[]
}

/** Copies the references (not the messages) of everything the image holds. */
export function freeze (image: StoreImage): FrozenState {
  image.sweep()
  const messages: Message[] = []
  for (const slot of image.messages.values()) messages.push(slot.message)
  const retained: Message[] = []
  image.retained.each((message) => { retained.push(message) })
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
  return { messages, retained, sessions }
}

/** About a megabyte of records per write, so the broker is never held up long. */
const CHUNK_BYTES = 1024 * 1024

function* records (state: FrozenState, w: FrameWriter): Generator<void> {
  for (const message of state.messages) { encodeMessage(w, message); yield }
  for (const message of state.retained) { encodeRetainedSet(w, message.id); yield }
  for (const session of state.sessions) {
    const clientId = session.record.clientId
    encodeSessionSaved(w, session.record)
    for (const subscription of session.subscriptions) encodeSubscriptionSaved(w, clientId, subscription)
    for (const entry of session.queue) encodeEntry(w, RECORD.queued, clientId, entry, 0, false)
    for (const [entry, released] of session.inflight) encodeEntry(w, RECORD.inflightSaved, clientId, entry, entry.packetId, released)
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

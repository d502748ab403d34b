// Records that undo each other within one batch of the disk store (lib/store/pending.ts) are left
// out of the log, and what the log replays to is still exactly what the store was told: a delivery
// queued, sent and acknowledged (PUBACK, [MQTT-4.3.2]) before its batch is written costs no bytes;
// one that spans batches is written in full; a body a retained record refers to stays.
import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { test, type TestContext } from 'node:test'
import { DiskStore } from '../../lib/store/disk'
import type { InflightEntry, QueuedEntry, SessionRecord } from '../../lib/store/records'
import type { Message } from '../../lib/types'
import { RecordingLogger } from '../helpers/broker'
import { comparable, TeeStore } from '../helpers/tee-store'

function tempDir (t: TestContext): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'roost-cancel-'))
  t.after(() => { rmSync(dir, { recursive: true, force: true }) })
  return dir
}

function logBytes (dir: string): number {
  return readdirSync(dir).filter((name) => name.endsWith('.log')).reduce((sum, name) => sum + statSync(path.join(dir, name)).size, 0)
}

const SESSION: SessionRecord = { clientId: 'sub', expiryIntervalSec: 3600, offlineSinceMs: 0, expiresAtMs: undefined, client: undefined, will: undefined }

function message (id: number, topic = 't/1', retain = false): Message {
  return { id, topic, payload: Buffer.from(`payload ${id}`), qos: 1, retain }
}

/** Ends the batch: everything journaled so far is written and synced. */
async function commit (store: TeeStore): Promise<void> {
  await new Promise<void>((resolve) => { (store.commit as (done: () => void) => void)(resolve) })
}

async function opened (t: TestContext, dir: string): Promise<TeeStore> {
  const store = new TeeStore(new DiskStore({ directory: dir, sync: 'always' }))
  await store.open()
  t.after(async () => { await store.close() })
  return store
}

/** Closes, reopens, and checks the store gives back what the mirror was told, with no orphan records. */
async function assertReplays (t: TestContext, dir: string, both: TeeStore): Promise<void> {
  await both.main.close()
  const log = new RecordingLogger()
  const again = new DiskStore({ directory: dir, logger: log })
  const state = await again.open()
  t.after(async () => { await again.close() })
  assert.deepEqual(comparable(state, again.retained), comparable(await both.mirror.open(), both.mirror.retained))
  assert.deepEqual(log.lines.filter((line) => !line.includes('restored from')), [])
}

test('a delivery queued, sent and acknowledged within one batch writes no bytes; the state replays as told', async (t) => {
  const dir = tempDir(t)
  const both = await opened(t, dir)
  both.sessionSaved(SESSION)
  await commit(both)
  const sessionOnly = logBytes(dir)
  for (let id = 1; id <= 50; id++) {
    const queued: QueuedEntry = { message: message(id), qos: 1, retain: false, subscriptionIds: [3] }
    both.queued('sub', queued)
    both.dequeued('sub', queued)
    both.inflightSaved('sub', { ...queued, packetId: id, released: false })
    both.inflightRemoved('sub', id)
  }
  await commit(both)
  assert.equal(logBytes(dir), sessionOnly)
  await assertReplays(t, dir, both)
})

test('a delivery that spans batches is written in full: queued in one, sent in the next, acknowledged in a third', async (t) => {
  const dir = tempDir(t)
  const both = await opened(t, dir)
  both.sessionSaved(SESSION)
  const first: QueuedEntry = { message: message(1), qos: 1, retain: false, subscriptionIds: undefined }
  const second: QueuedEntry = { message: message(2), qos: 1, retain: false, subscriptionIds: undefined }
  both.queued('sub', first)
  both.queued('sub', second)
  await commit(both)
  const queuedBytes = logBytes(dir)
  // The head was written in the batch before: its dequeue is a record; the second stays queued.
  both.dequeued('sub', first)
  const sent: InflightEntry = { ...first, packetId: 9, released: false }
  both.inflightSaved('sub', sent)
  await commit(both)
  assert.ok(logBytes(dir) > queuedBytes)
  const sentBytes = logBytes(dir)
  both.inflightRemoved('sub', 9)
  await commit(both)
  assert.ok(logBytes(dir) > sentBytes)
  await assertReplays(t, dir, both)
})

test('a QoS 2 delivery released (PUBREC) within its batch is written once, with its released state', async (t) => {
  const dir = tempDir(t)
  const both = await opened(t, dir)
  both.sessionSaved(SESSION)
  const entry: InflightEntry = { message: { ...message(1), qos: 2 }, qos: 2, retain: false, subscriptionIds: undefined, packetId: 4, released: false }
  both.inflightSaved('sub', entry)
  // [MQTT-4.3.3-1] PUBREC received: the same entry, released, saved again.
  entry.released = true
  both.inflightSaved('sub', entry)
  await commit(both)
  await assertReplays(t, dir, both)
})

test('a body a retained record of the batch refers to stays, even when its delivery cancels out and the topic is retained again', async (t) => {
  const dir = tempDir(t)
  const both = await opened(t, dir)
  both.sessionSaved(SESSION)
  const first = message(1, 'keep/me', true)
  both.retained.set(first)
  const queued: QueuedEntry = { message: first, qos: 1, retain: false, subscriptionIds: undefined }
  both.queued('sub', queued)
  both.retained.set(message(2, 'keep/me', true))
  both.dequeued('sub', queued)
  await commit(both)
  await assertReplays(t, dir, both)
  // A message retained, delivered and done within the batch: its body is still there for the retained record.
  const dir2 = tempDir(t)
  const other = await opened(t, dir2)
  other.sessionSaved(SESSION)
  const kept = message(3, 'keep/too', true)
  other.retained.set(kept)
  const entry: QueuedEntry = { message: kept, qos: 1, retain: false, subscriptionIds: undefined }
  other.queued('sub', entry)
  other.dequeued('sub', entry)
  await commit(other)
  await assertReplays(t, dir2, other)
})

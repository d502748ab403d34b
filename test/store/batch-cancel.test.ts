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
import { assertReplaysAsTold, commitBatch } from '../helpers/disk-replay'
import { TeeStore } from '../helpers/tee-store'

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

async function opened (t: TestContext, dir: string): Promise<TeeStore> {
  const store = new TeeStore(new DiskStore({ directory: dir, sync: 'always' }))
  await store.open()
  t.after(async () => { await store.close() })
  return store
}

test('a delivery queued, sent and acknowledged within one batch writes no bytes; the state replays as told', async (t) => {
  const dir = tempDir(t)
  const both = await opened(t, dir)
  both.sessionSaved(SESSION)
  await commitBatch(both)
  const sessionOnly = logBytes(dir)
  for (let id = 1; id <= 50; id++) {
    const queued: QueuedEntry = { message: message(id), qos: 1, retain: false, subscriptionIds: [3] }
    both.queued('sub', queued)
    both.dequeued('sub', queued)
    both.inflightSaved('sub', { ...queued, packetId: id, released: false })
    both.inflightRemoved('sub', id)
  }
  await commitBatch(both)
  assert.equal(logBytes(dir), sessionOnly)
  await assertReplaysAsTold(t, dir, both)
})

test('a delivery that spans batches is written in full: queued in one, sent in the next, acknowledged in a third', async (t) => {
  const dir = tempDir(t)
  const both = await opened(t, dir)
  both.sessionSaved(SESSION)
  const first: QueuedEntry = { message: message(1), qos: 1, retain: false, subscriptionIds: undefined }
  const second: QueuedEntry = { message: message(2), qos: 1, retain: false, subscriptionIds: undefined }
  both.queued('sub', first)
  both.queued('sub', second)
  await commitBatch(both)
  const queuedBytes = logBytes(dir)
  // The head was written in the batch before: its dequeue is a record; the second stays queued.
  both.dequeued('sub', first)
  const sent: InflightEntry = { ...first, packetId: 9, released: false }
  both.inflightSaved('sub', sent)
  await commitBatch(both)
  assert.ok(logBytes(dir) > queuedBytes)
  const sentBytes = logBytes(dir)
  both.inflightRemoved('sub', 9)
  await commitBatch(both)
  assert.ok(logBytes(dir) > sentBytes)
  await assertReplaysAsTold(t, dir, both)
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
  await commitBatch(both)
  await assertReplaysAsTold(t, dir, both)
})

test('a body a retained record of the batch refers to stays, when its delivery cancels out, with the topic retained again or not', async (t) => {
  for (const retainedAgain of [true, false]) {
    const dir = tempDir(t)
    const both = await opened(t, dir)
    both.sessionSaved(SESSION)
    const first = message(1, 'keep/me', true)
    both.retained.set(first)
    const queued: QueuedEntry = { message: first, qos: 1, retain: false, subscriptionIds: undefined }
    both.queued('sub', queued)
    if (retainedAgain) both.retained.set(message(2, 'keep/me', true))
    both.dequeued('sub', queued)
    await commitBatch(both)
    await assertReplaysAsTold(t, dir, both)
  }
})

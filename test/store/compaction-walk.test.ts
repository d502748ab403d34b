// Compaction walks the live retained trie while the broker keeps changing it (lib/store/snapshot.ts):
// retained messages replaced, removed and added while the snapshot is written, and queue entries
// referring to messages the snapshot may never see, still give back exactly what the store was told.
import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { test, type TestContext } from 'node:test'
import { DiskStore } from '../../lib/store/disk'
import type { QueuedEntry, SessionRecord } from '../../lib/store/records'
import type { Message } from '../../lib/types'
import { assertReplaysAsTold, commitBatch } from '../helpers/disk-replay'
import { TeeStore } from '../helpers/tee-store'

const SESSION: SessionRecord = { clientId: 'keeper', expiryIntervalSec: 3600, offlineSinceMs: 1, expiresAtMs: undefined, client: undefined, will: undefined }
/** Enough retained bytes that the snapshot takes several chunks, so several turns of the event loop. */
const TOPICS = 6000

function retained (id: number, topic: string): Message {
  return { id, topic, payload: Buffer.alloc(100, id & 255), qos: 1, retain: true }
}

function tempDir (t: TestContext): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'roost-walk-'))
  t.after(() => { rmSync(dir, { recursive: true, force: true }) })
  return dir
}

test('retained messages changed while the snapshot walks them, and queue entries for messages it may miss, replay as told', async (t) => {
  const dir = tempDir(t)
  const disk = new DiskStore({ directory: dir, sync: 'always', compactAfterBytes: 256 * 1024 })
  const store = new TeeStore(disk)
  await store.open()
  t.after(async () => { await store.close() })
  store.sessionSaved(SESSION)
  const first: Message[] = []
  for (let i = 0; i < TOPICS; i++) {
    const message = retained(i + 1, `walk/${i % 50}/${i}`)
    first.push(message)
    store.retained.set(message)
  }
  // The batch is synced, the log is past its limit: the store has frozen its sessions and begins the snapshot.
  await commitBatch(store)
  let id = TOPICS + 1
  let turns = 0
  const queue = (message: Message): void => {
    const entry: QueuedEntry = { message, qos: 1, retain: false, subscriptionIds: undefined }
    store.queued('keeper', entry)
  }
  while (disk.health().lastCompactionMs === 0 && turns < 10_000) {
    const n = turns++
    const old = first[(n * 37) % TOPICS] as Message
    // A message from before the snapshot began, queued now: replaced just before, so the walk may never reach it.
    store.retained.set(retained(id++, old.topic))
    queue(old)
    // Removed, then a topic the walk may or may not reach.
    store.retained.set({ ...(first[(n * 53 + 11) % TOPICS] as Message), id: 0, payload: Buffer.alloc(0) })
    store.retained.set(retained(id++, `walk/new/${n}`))
    await commitBatch(store)
    await nextTurn()
  }
  assert.ok(disk.health().lastCompactionMs > 0, 'compaction finished')
  assert.ok(turns > 1, `the snapshot was written over ${turns} turns`)
  assert.ok(readdirSync(dir).some((name) => name.endsWith('.snap')))
  await assertReplaysAsTold(t, dir, store)
})

// For tests that journal into a disk store through a TeeStore: end a batch, and check that the
// directory reopens to exactly what the mirror was told, with nothing left out as damaged or orphaned.
import assert from 'node:assert/strict'
import type { TestContext } from 'node:test'
import { DiskStore } from '../../lib/store/disk'
import { RecordingLogger } from './broker'
import { comparable, type TeeStore } from './tee-store'

/** Ends the batch: everything journaled so far is written and synced (persistence_sync always). */
export async function commitBatch (store: TeeStore): Promise<void> {
  await new Promise<void>((resolve) => { (store.commit as (done: () => void) => void)(resolve) })
}

/** Closes the disk store under `tee`, reopens `dir`, and compares it with the mirror; no warnings. */
export async function assertReplaysAsTold (t: TestContext, dir: string, tee: TeeStore): Promise<void> {
  await tee.main.close()
  const log = new RecordingLogger()
  const again = new DiskStore({ directory: dir, logger: log })
  const state = await again.open()
  t.after(async () => { await again.close() })
  assert.deepEqual(comparable(state, again.retained), comparable(await tee.mirror.open(), tee.mirror.retained))
  assert.deepEqual(log.lines.filter((line) => !line.includes('restored from')), [])
}

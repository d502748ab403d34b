// The store lock (lib/store/lock.ts): a lock whose owner still runs stops a second broker; a lock
// whose pid is gone, or now belongs to another process (a reused pid, or a pid from an earlier
// boot), is taken over (Linux: /proc tells boot id and start time). Real processes: a `sleep` child stands in for a broker that still runs.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { test, type TestContext } from 'node:test'
import { bootId, formatLock, lockStore, processStartTicks, StoreOpenError } from '../../lib/store/lock'

function lockPathIn (t: TestContext): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'roost-lock-'))
  t.after(() => { rmSync(dir, { recursive: true, force: true }) })
  return path.join(dir, 'mosquitto.db.lock')
}

/** A process that runs until the test ends: the lock's owner. */
async function runningProcess (t: TestContext): Promise<number> {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' })
  await once(child, 'spawn')
  t.after(() => { child.kill('SIGKILL') })
  return child.pid as number
}

test('a lock whose owner runs stops the second broker with its pid; released, it can be taken', async (t) => {
  const lockPath = lockPathIn(t)
  const pid = await runningProcess(t)
  writeFileSync(lockPath, formatLock({ pid, bootId: bootId(), startTicks: processStartTicks(pid) }))
  assert.throws(() => lockStore(lockPath), (error: Error) => error instanceof StoreOpenError && error.message.includes(`pid ${pid}`))
  // Still the owner's.
  assert.equal(Number.parseInt(readFileSync(lockPath, 'utf8'), 10), pid)
})

test('a lock from an older Roost (the pid alone) of a running process is still respected', async (t) => {
  const lockPath = lockPathIn(t)
  const pid = await runningProcess(t)
  writeFileSync(lockPath, `${pid}\n`)
  assert.throws(() => lockStore(lockPath), StoreOpenError)
})

test('a lock whose pid is gone (kill -9) is taken over, and holds this process afterwards', async (t) => {
  const lockPath = lockPathIn(t)
  const child = spawn('sleep', ['60'], { stdio: 'ignore' })
  await once(child, 'spawn')
  const pid = child.pid as number
  const ticks = processStartTicks(pid)
  child.kill('SIGKILL')
  await once(child, 'exit')
  writeFileSync(lockPath, formatLock({ pid, bootId: bootId(), startTicks: ticks }))
  const release = lockStore(lockPath)
  const [owner, boot, start] = readFileSync(lockPath, 'utf8').trim().split(' ')
  assert.equal(Number(owner), process.pid)
  assert.equal(boot, bootId())
  assert.equal(start, processStartTicks(process.pid))
  release()
  assert.equal(existsSync(lockPath), false)
})

test('a lock whose pid now belongs to another process (other start time, or another boot) is taken over', async (t) => {
  const lockPath = lockPathIn(t)
  // The running process's pid with the start time of an earlier process: the pid was reused.
  const pid = await runningProcess(t)
  const ticks = processStartTicks(pid)
  assert.notEqual(ticks, '')
  writeFileSync(lockPath, formatLock({ pid, bootId: bootId(), startTicks: String(Number(ticks) - 1) }))
  lockStore(lockPath)()
  // The same pid and start time, written during another boot: after a reboot the pid means nothing.
  writeFileSync(lockPath, formatLock({ pid, bootId: '00000000-0000-4000-8000-000000000000', startTicks: ticks }))
  lockStore(lockPath)()
  assert.equal(existsSync(lockPath), false)
})

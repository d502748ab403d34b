// One writer per store directory. A second broker, in this process or another, stops with a clear
// error instead of interleaving its records with the first one's. The lock file holds the owner's
// pid and, where /proc tells them (Linux), the boot id and the process's start time: a lock left by a
// process that no longer runs (a crash, `kill -9`) is taken over, and so is one whose pid now belongs
// to another process (pids are reused, after a reboot above all: a Raspberry Pi that lost power
// starts its services with the same few pids), which the pid alone cannot tell.
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs'
import path from 'node:path'

/** Lock files held by this process, so two brokers in one Node-RED cannot share a directory either. */
const heldHere = new Set<string>()

/** Who holds a lock: boot id and start time are empty where /proc does not tell them. */
export interface LockOwner {
  pid: number
  bootId: string
  /** The process's start time in clock ticks since boot (/proc/<pid>/stat, field 22). */
  startTicks: string
}

function readOrEmpty (file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch {
    return ''
  }
}

/** This boot's id (Linux), or '' where there is none. */
export function bootId (): string {
  return readOrEmpty('/proc/sys/kernel/random/boot_id').trim()
}

/** When `pid` started, in ticks since boot (Linux), or '' where /proc does not say. */
export function processStartTicks (pid: number): string {
  const stat = readOrEmpty(`/proc/${pid}/stat`)
  // The command name (field 2) is in parentheses and may hold spaces: count fields after its ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return fields[19] ?? ''
}

function processRuns (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: it runs, under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** The lock file's text: `pid boot-id start-ticks`; a lock from an older Roost holds the pid alone. */
export function formatLock (owner: LockOwner): string {
  return `${owner.pid} ${owner.bootId || '-'} ${owner.startTicks || '-'}\n`
}

function parseLock (text: string): LockOwner | undefined {
  const [pid, boot = '-', start = '-'] = text.trim().split(/\s+/)
  const parsed = Number.parseInt(pid ?? '', 10)
  if (!Number.isInteger(parsed) || parsed <= 0) return undefined
  return { pid: parsed, bootId: boot === '-' ? '' : boot, startTicks: start === '-' ? '' : start }
}

/**
 * Does the process that wrote this lock still run? Its pid must run, in the same boot, and be the
 * same process (same start time); what this system cannot tell is taken as the same.
 */
export function ownerRuns (owner: LockOwner): boolean {
  if (!processRuns(owner.pid)) return false
  const boot = bootId()
  if (owner.bootId !== '' && boot !== '' && owner.bootId !== boot) return false
  const start = owner.startTicks === '' ? '' : processStartTicks(owner.pid)
  return start === '' || start === owner.startTicks
}

/** The store cannot be opened: another broker holds it, or its directory cannot be used. */
export class StoreOpenError extends Error {}

/** Takes the lock or throws StoreOpenError naming the holder; returns what to call to let it go. */
export function lockStore (lockPath: string): () => void {
  const key = path.resolve(lockPath)
  if (heldHere.has(key)) throw new StoreOpenError(`the store ${lockPath} is already in use by another broker in this process`)
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number
    try {
      fd = openSync(lockPath, 'wx')
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      const owner = parseLock(readFileSync(lockPath, 'utf8'))
      if (owner !== undefined && owner.pid !== process.pid && ownerRuns(owner)) {
        throw new StoreOpenError(`the store ${lockPath} is in use by another broker (pid ${owner.pid}); stop it first, or remove the lock file if no broker runs there`)
      }
      // A lock whose owner is gone (a crash), whose pid is another process now, or unreadable (a crash while it was written).
      unlinkSync(lockPath)
      continue
    }
    writeSync(fd, formatLock({ pid: process.pid, bootId: bootId(), startTicks: processStartTicks(process.pid) }))
    closeSync(fd)
    heldHere.add(key)
    return () => {
      heldHere.delete(key)
      try { unlinkSync(lockPath) } catch { /* already gone: nothing to release */ }
    }
  }
  throw new StoreOpenError(`the store ${lockPath} could not be locked: another broker keeps taking it`)
}

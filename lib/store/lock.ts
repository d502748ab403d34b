// One writer per store directory. A second broker, in this process or another, stops with a clear
// error instead of interleaving its records with the first one's. The lock file holds the owner's
// pid: a lock left by a process that no longer runs (a crash, `kill -9`) is taken over.
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs'
import path from 'node:path'

/** Lock files held by this process, so two brokers in one Node-RED cannot share a directory either. */
const heldHere = new Set<string>()

function processRuns (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: it runs, under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
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
      const pid = Number.parseInt(readFileSync(lockPath, 'utf8'), 10)
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && processRuns(pid)) {
        throw new StoreOpenError(`the store ${lockPath} is in use by another broker (pid ${pid}); stop it first, or remove the lock file if no broker runs there`)
      }
      // A lock whose owner is gone (a crash) or unreadable (a crash while it was written).
      unlinkSync(lockPath)
      continue
    }
    writeSync(fd, `${process.pid}\n`)
    closeSync(fd)
    heldHere.add(key)
    return () => {
      heldHere.delete(key)
      try { unlinkSync(lockPath) } catch { /* already gone: nothing to release */ }
    }
  }
  throw new StoreOpenError(`the store ${lockPath} could not be locked: another broker keeps taking it`)
}

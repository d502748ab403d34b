// The disk store's directory: `<base>.<seq>.snap` snapshots, `<base>.<seq>.log` logs and a
// `<base>.lock`, where <base> is persistence_file (mosquitto.db by default). Snapshot <seq> holds
// the state at the start of log <seq>; a restart reads the newest snapshot and every log from its
// sequence on. Mosquitto's own `<base>` file is never read or written, so a directory can be
// shared with, or handed back to, Mosquitto.
import { readdirSync } from 'node:fs'
import path from 'node:path'

export interface StoreFile {
  seq: number
  kind: 'snap' | 'log'
  path: string
}

function escapeRegExp (text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

export class StoreFiles {
  private readonly pattern: RegExp

  constructor (readonly directory: string, readonly base: string) {
    this.pattern = new RegExp(`^${escapeRegExp(base)}\\.(\\d{8,})\\.(snap|log)$`)
  }

  get lockPath (): string { return path.join(this.directory, `${this.base}.lock`) }

  snapshotPath (seq: number): string { return path.join(this.directory, `${this.base}.${pad(seq)}.snap`) }
  snapshotTempPath (seq: number): string { return `${this.snapshotPath(seq)}.tmp` }
  logPath (seq: number): string { return path.join(this.directory, `${this.base}.${pad(seq)}.log`) }

  /** Snapshots and logs, oldest first. */
  list (): StoreFile[] {
    const found: StoreFile[] = []
    for (const name of readdirSync(this.directory)) {
      const match = this.pattern.exec(name)
      if (match === null) continue
      found.push({ seq: Number(match[1]), kind: match[2] as 'snap' | 'log', path: path.join(this.directory, name) })
    }
    return found.sort((a, b) => a.seq - b.seq || (a.kind === 'snap' ? -1 : 1))
  }

  /** Leftover snapshot writes a crash interrupted. */
  temporaries (): string[] {
    const prefix = `${this.base}.`
    return readdirSync(this.directory)
      .filter((name) => name.startsWith(prefix) && name.endsWith('.snap.tmp'))
      .map((name) => path.join(this.directory, name))
  }
}

function pad (seq: number): string {
  return String(seq).padStart(8, '0')
}

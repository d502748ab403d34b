// The broker under soak: the built `roost` command (bin/roost.js) in a process of its own, with a
// mosquitto.conf the soak writes. Its log (stderr and stdout) goes to a file and is counted as it
// comes; its exit is noticed at once and never answered with a restart: a crash ends the run.
import { type ChildProcess, spawn } from 'node:child_process'
import { createWriteStream, existsSync, mkdtempSync, readdirSync, type WriteStream, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { freePort } from '../../test/cli/helpers'
import { cpuMicros, memoryBytes } from '../generator/proc'
import type { SoakOptions } from './options'

const ROOT = path.resolve(__dirname, '..', '..')
const ROOST = path.join(ROOT, 'bin', 'roost.js')
const BUILT_CLI = path.join(ROOT, 'dist', 'cli.js')
/** Longest wait for the broker to say it runs, or to end after SIGTERM. A guard, not a timing. */
const START_STOP_MS = 15_000
/** Log lines kept for the summary of a crash (a run of lines alike counts as one). */
const TAIL_LINES = 30

export interface BrokerExit {
  /** Exit code, null when a signal ended it. */
  code: number | null
  /** The signal that ended it, if one did. */
  signal: NodeJS.Signals | null
  /** When the process ended, ms since the epoch. */
  atMs: number
}

export interface BrokerSample {
  /** Resident memory (VmRSS). */
  rssBytes: number
  /** Entries of /proc/<pid>/fd. */
  fds: number
  /** User and system CPU time so far. */
  cpuMicros: number
}

/** The settings a soak needs: they keep its bookkeeping exact (see the comments in the file). */
function configText (options: SoakOptions, port: number): string {
  return [
    '# Written by npm run soak.',
    `listener ${port} 127.0.0.1`,
    'allow_anonymous true',
    '# Large messages go up to this limit; the soak also sends packets over it, which must be refused.',
    `max_packet_size ${options.maxPacketBytes}`,
    '# Room for what persistent subscribers miss while offline, so a drop is a loss, not a limit;',
    '# bounded, so a subscriber that never reads again holds a bounded amount.',
    'max_queued_messages 20000',
    'max_queued_bytes 67108864',
    'max_inflight_messages 20',
    'sys_interval 10',
    ''
  ].join('\n')
}

export class BrokerProcess {
  readonly dir: string
  readonly configFile: string
  readonly logFile: string
  exit: BrokerExit | undefined
  logLines = 0
  logBytes = 0
  /** The last lines, each with how many lines alike but for their numbers followed it (a recursion logs thousands). */
  private readonly tail: Array<{ line: string, shape: string, repeats: number }> = []
  private readonly log: WriteStream
  private partialLine = ''
  private readonly exitListeners: Array<(exit: BrokerExit) => void> = []
  private readonly exited: Promise<BrokerExit>

  private constructor (readonly child: ChildProcess, readonly port: number, dir: string, configFile: string) {
    this.dir = dir
    this.configFile = configFile
    this.logFile = path.join(dir, 'roost.log')
    this.log = createWriteStream(this.logFile)
    child.stdout?.on('data', (chunk: Buffer) => this.onLog(chunk))
    child.stderr?.on('data', (chunk: Buffer) => this.onLog(chunk))
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => {
      this.exit = { code, signal, atMs: Date.now() }
      for (const listener of this.exitListeners) listener(this.exit)
      resolve(this.exit)
    }))
  }

  /** Writes the config, starts `roost -c`, and resolves once it logs that it runs. */
  static async start (options: SoakOptions): Promise<BrokerProcess> {
    if (!existsSync(BUILT_CLI)) throw new Error(`${BUILT_CLI} is missing: run npm run build first`)
    const dir = mkdtempSync(path.join(os.tmpdir(), 'roost-soak-'))
    const port = await freePort()
    const configFile = path.join(dir, 'roost.conf')
    writeFileSync(configFile, configText(options, port))
    const child = spawn(process.execPath, [ROOST, '-c', configFile], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
    const broker = new BrokerProcess(child, port, dir, configFile)
    await broker.running()
    return broker
  }

  get pid (): number {
    return this.child.pid as number
  }

  get alive (): boolean {
    return this.exit === undefined
  }

  onExit (listener: (exit: BrokerExit) => void): void {
    this.exitListeners.push(listener)
  }

  /** The last lines of the log (the stack of a crash ends up here). */
  logTail (): string[] {
    const lines: string[] = []
    for (const { line, repeats } of this.tail) {
      lines.push(line)
      if (repeats > 0) lines.push(`  ... and ${repeats} more lines like it`)
    }
    if (this.partialLine !== '') lines.push(this.partialLine)
    return lines
  }

  /** RSS, open fds and CPU time of the broker now; undefined once it has ended. */
  sample (): BrokerSample | undefined {
    if (!this.alive) return undefined
    try {
      return { rssBytes: memoryBytes(this.pid).rss, fds: readdirSync(`/proc/${this.pid}/fd`).length, cpuMicros: cpuMicros(this.pid) }
    } catch {
      // The process ended between the check and the read.
      return undefined
    }
  }

  /** SIGTERM, then SIGKILL if it does not end in time; resolves with how it ended. */
  async stop (): Promise<BrokerExit> {
    if (this.alive) this.child.kill('SIGTERM')
    const guard = setTimeout(() => { if (this.alive) this.child.kill('SIGKILL') }, START_STOP_MS)
    const exit = await this.exited
    clearTimeout(guard)
    await new Promise<void>((resolve) => this.log.end(resolve))
    return exit
  }

  private onLog (chunk: Buffer): void {
    this.log.write(chunk)
    this.logBytes += chunk.length
    const text = this.partialLine + chunk.toString('utf8')
    const lines = text.split('\n')
    this.partialLine = lines.pop() as string
    this.logLines += lines.length
    for (const line of lines) {
      const shape = line.replace(/\d+/g, '#')
      const last = this.tail[this.tail.length - 1]
      if (last?.shape === shape) last.repeats++
      else this.tail.push({ line, shape, repeats: 0 })
    }
    if (this.tail.length > TAIL_LINES) this.tail.splice(0, this.tail.length - TAIL_LINES)
  }

  private running (): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = setInterval(() => {
        if (this.logTail().some((line) => / running$/.test(line))) finish()
        else if (!this.alive) finish(new Error(`roost ended before it ran:\n${this.logTail().join('\n')}`))
      }, 50)
      const guard = setTimeout(() => finish(new Error(`roost did not start within ${START_STOP_MS} ms:\n${this.logTail().join('\n')}`)), START_STOP_MS)
      const finish = (error?: Error): void => {
        clearInterval(check)
        clearTimeout(guard)
        if (error === undefined) resolve()
        else {
          if (this.alive) this.child.kill('SIGKILL')
          reject(error)
        }
      }
    })
  }
}

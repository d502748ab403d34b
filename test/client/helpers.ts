// Shared pieces of the client specs: free ports, a Debian mosquitto the test starts and stops
// itself, and bounded waits for events (a wait that runs out fails the test; nothing asserts time).
import { type ChildProcess, spawn } from 'node:child_process'
import { once, type EventEmitter } from 'node:events'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'

/** Upper bound for any single wait in these specs; a broken feature fails instead of hanging. */
export const WAIT_MS = 10_000

export function tempDir (prefix: string): { dir: string, remove: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), `roost-${prefix}-`))
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

export async function freePort (): Promise<number> {
  const server = net.createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as net.AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

async function delay (ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms))
}

/** Resolves when 127.0.0.1:port accepts a connection; at most 200 tries, 25 ms apart. */
export async function waitForPort (port: number): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port })
      socket.once('connect', () => { socket.destroy(); resolve(true) })
      socket.once('error', () => { socket.destroy(); resolve(false) })
    })
    if (open) return
    await delay(25)
  }
  throw new Error(`nothing listens on port ${port}`)
}

/** The next `event` from `emitter` (its arguments), or a failure after WAIT_MS. Unlike events.once(),
 * an 'error' event does not reject a wait for another event. */
export async function next<T extends unknown[] = unknown[]> (emitter: EventEmitter, event: string): Promise<T> {
  return await new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, listener)
      reject(new Error(`no '${event}' event within ${WAIT_MS} ms`))
    }, WAIT_MS)
    function listener (...args: unknown[]): void {
      clearTimeout(timer)
      emitter.off(event, listener)
      resolve(args as T)
    }
    emitter.on(event, listener)
  })
}

/** Resolves with the first `event` whose first argument passes `test`. */
export async function until<T> (emitter: EventEmitter, event: string, test: (value: T) => boolean): Promise<T> {
  return await new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, listener)
      reject(new Error(`no matching '${event}' event within ${WAIT_MS} ms`))
    }, WAIT_MS)
    function listener (value: T): void {
      if (!test(value)) return
      clearTimeout(timer)
      emitter.off(event, listener)
      resolve(value)
    }
    emitter.on(event, listener)
  })
}

/** Collects `count` emissions of `event`, in order. */
export async function collect<T> (emitter: EventEmitter, event: string, count: number): Promise<T[]> {
  const seen: T[] = []
  return await new Promise<T[]>((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, listener)
      reject(new Error(`only ${seen.length} of ${count} '${event}' events within ${WAIT_MS} ms`))
    }, WAIT_MS)
    function listener (value: T): void {
      seen.push(value)
      if (seen.length === count) {
        clearTimeout(timer)
        emitter.off(event, listener)
        resolve(seen)
      }
    }
    emitter.on(event, listener)
  })
}

export interface Mosquitto {
  port: number
  /** Kills the broker (SIGKILL unless told; SIGTERM lets it save its persistence file) and waits until it is gone. */
  stop: (signal?: NodeJS.Signals) => Promise<void>
  /** Starts it again on the same port with the same configuration. */
  start: () => Promise<void>
}

/**
 * Starts Debian's mosquitto on a free loopback port with `allow_anonymous true` and any extra
 * configuration lines; `dir` holds the configuration file.
 */
export async function startMosquitto (dir: string, extraLines: string[] = [], port?: number): Promise<Mosquitto> {
  const chosen = port ?? await freePort()
  const conf = path.join(dir, `mosquitto-${chosen}.conf`)
  // Run as the current user: as root, mosquitto would switch to a user who cannot read `dir`.
  const lines = [`listener ${chosen} 127.0.0.1`, 'allow_anonymous true', 'persistence false', ...extraLines]
  if (process.getuid?.() === 0) lines.push('user root')
  writeFileSync(conf, lines.join('\n') + '\n')
  let child: ChildProcess | undefined
  const broker: Mosquitto = {
    port: chosen,
    async start () {
      const started = spawn('/usr/sbin/mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] })
      let errors = ''
      started.stderr?.on('data', (chunk: Buffer) => { errors += chunk.toString() })
      child = started
      const exited = once(started, 'exit').then(() => { throw new Error(`mosquitto exited: ${errors}`) })
      await Promise.race([waitForPort(chosen), exited])
      exited.catch(() => {})
    },
    async stop (signal: NodeJS.Signals = 'SIGKILL') {
      const running = child
      child = undefined
      if (running === undefined || running.exitCode !== null) return
      const exited = once(running, 'exit')
      running.kill(signal)
      await exited
    }
  }
  await broker.start()
  return broker
}
